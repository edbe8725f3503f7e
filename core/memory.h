/// \file
/// Raw memory on a device: the layer under Storage.
///
/// CPU memory is 64-byte aligned (one cache line, room for AVX-512 loads).
/// CUDA memory comes from the CUDA runtime layer (core/cuda_runtime.h), which
/// caches blocks so that a training step after warm-up never calls cudaMalloc.
#pragma once

#include <cstddef>

#include "minidl/core/device.h"

namespace minidl {

/// Allocates bytes on device; throws Error naming the size on failure.
void* allocate(Device device, std::size_t bytes);
/// Returns memory from allocate(); ptr may be nullptr.
void deallocate(Device device, void* ptr, std::size_t bytes);
/// Copies bytes between any two devices (host-host, host-device, device-host, device-device).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes);

}  // namespace minidl
