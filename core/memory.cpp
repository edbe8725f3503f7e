#include "minidl/core/memory.h"

#include <cstdlib>
#include <cstring>

#include "minidl/core/cuda_runtime.h"
#include "minidl/core/error.h"

namespace minidl {

namespace {
constexpr std::size_t kCpuAlignment = 64;
}

void* allocate(Device device, std::size_t bytes) {
  if (device.is_cuda()) return cuda::device_malloc(bytes);
  if (bytes == 0) return nullptr;
  // aligned_alloc wants a size that is a multiple of the alignment.
  std::size_t rounded = (bytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
  void* ptr = std::aligned_alloc(kCpuAlignment, rounded);
  if (ptr == nullptr) fail("allocate: out of host memory allocating {} bytes", bytes);
  return ptr;
}

void deallocate(Device device, void* ptr, std::size_t bytes) {
  if (ptr == nullptr) return;
  if (device.is_cuda()) {
    cuda::device_free(ptr, bytes);
  } else {
    std::free(ptr);
  }
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
  } else if (dst_device.is_cuda() && src_device.is_cpu()) {
    cuda::copy_host_to_device(dst, src, bytes);
  } else if (dst_device.is_cpu() && src_device.is_cuda()) {
    cuda::copy_device_to_host(dst, src, bytes);
  } else {
    // Both ends on the device: queued on minidl's stream, like every op, so the host
    // waits for nothing and a CUDA graph can capture it; what reads dst later is queued after it.
    cuda::copy_device_to_device_async(dst, src, bytes);
  }
}

}  // namespace minidl
