// The CUDA runtime as minidl uses it: device memory, copies, detection.
//
// Three implementations, one per build flavour:
//   core/cuda_unavailable.cpp  CPU-only build: every call throws "built without CUDA";
//   core/cuda_runtime.cpp      real CUDA, and the emulated flavour, where the same
//                              source compiles against the host emulator of the
//                              CUDA runtime API.
// Every call checks its CUDA status and throws Error with the call, file:line
// and CUDA's message.
#pragma once

#include <cstddef>
#include <string>

namespace minidl::cuda {

// Device memory. Out of memory throws Error saying how much was asked and how much is free.
void* device_malloc(std::size_t bytes);
void device_free(void* ptr, std::size_t bytes);

void copy_host_to_device(void* dst, const void* src, std::size_t bytes);
void copy_device_to_host(void* dst, const void* src, std::size_t bytes);
void copy_device_to_device(void* dst, const void* src, std::size_t bytes);
// Sets bytes of device memory to a byte value.
void memset_device(void* dst, int value, std::size_t bytes);

// Waits until all work on the device has finished.
void synchronize();

// See core/device.h.
bool is_built();
bool is_emulated();
bool is_available();
std::string unavailable_reason();

}  // namespace minidl::cuda
