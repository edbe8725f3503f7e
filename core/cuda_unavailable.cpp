// The CUDA runtime layer of a CPU-only build: detection says no, and every
// attempt to touch device memory throws one clear error.
#include "core/cuda_runtime.h"
#include "core/error.h"

namespace minidl::cuda {

namespace {
[[noreturn]] void unavailable(const char* call) {
  fail("{}: {}", call, unavailable_reason());
}
}  // namespace

void* device_malloc(std::size_t) { unavailable("allocate on cuda"); }
void device_free(void*, std::size_t) { unavailable("free on cuda"); }
void copy_host_to_device(void*, const void*, std::size_t) { unavailable("copy to cuda"); }
void copy_device_to_host(void*, const void*, std::size_t) { unavailable("copy from cuda"); }
void copy_device_to_device(void*, const void*, std::size_t) { unavailable("copy on cuda"); }
void memset_device(void*, int, std::size_t) { unavailable("memset on cuda"); }
void synchronize() { unavailable("cuda synchronize"); }

bool is_built() { return false; }
bool is_emulated() { return false; }
bool is_available() { return false; }
std::string unavailable_reason() {
  return "CUDA is not available: minidl was built without CUDA (configure with -DMINIDL_CUDA=ON on a machine with nvcc)";
}

}  // namespace minidl::cuda
