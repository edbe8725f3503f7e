// The CUDA runtime layer of a CPU-only build: detection says no, and every
// attempt to touch device memory throws one clear error.
#include "minidl/core/cuda_runtime.h"
#include "minidl/core/error.h"

namespace minidl::cuda {

namespace {
[[noreturn]] void unavailable(const char* call) {
  fail("{}: {}", call, unavailable_reason());
}
}  // namespace

void* device_malloc(std::size_t) { unavailable("allocate on cuda"); }
void device_free(void*, std::size_t) { unavailable("free on cuda"); }
AllocatorStats allocator_stats() { return {}; }
void empty_cache() {}
void reset_peak_stats() {}
void copy_host_to_device(void*, const void*, std::size_t) { unavailable("copy to cuda"); }
void copy_device_to_host(void*, const void*, std::size_t) { unavailable("copy from cuda"); }
void copy_host_to_device_queued(void*, const void*, std::size_t) { unavailable("copy to cuda"); }
void copy_device_to_host_queued(void*, const void*, std::size_t) { unavailable("copy from cuda"); }
void copy_device_to_device_async(void*, const void*, std::size_t) { unavailable("copy on cuda"); }
void memset_device(void*, int, std::size_t) { unavailable("memset on cuda"); }
void synchronize() { unavailable("cuda synchronize"); }
std::int64_t kernels_launched() { return 0; }
void count_kernel_launch() {}

Graph::Graph(const std::function<void()>&) { unavailable("capture a cuda graph"); }
Graph::~Graph() = default;
void Graph::replay() const { unavailable("replay a cuda graph"); }

Stream::Stream() { unavailable("create a cuda stream"); }
Stream::~Stream() = default;
void Stream::synchronize() const { unavailable("cuda stream synchronize"); }

Event::Event() { unavailable("create a cuda event"); }
Event::~Event() = default;
void Event::record() { unavailable("record a cuda event"); }
void Event::record(const Stream&) { unavailable("record a cuda event"); }
void Event::synchronize() const { unavailable("cuda event synchronize"); }
bool Event::done() const { unavailable("query a cuda event"); }
float Event::elapsed_ms_since(const Event&) const { unavailable("cuda event elapsed time"); }

PinnedBuffer::PinnedBuffer(std::size_t) { unavailable("allocate pinned host memory"); }
PinnedBuffer::~PinnedBuffer() = default;

void copy_host_to_device_async(void*, const void*, std::size_t, const Stream&) { unavailable("copy to cuda"); }
void copy_device_to_host_async(void*, const void*, std::size_t, const Stream&) { unavailable("copy from cuda"); }

bool is_built() { return false; }
bool is_emulated() { return false; }
bool is_available() { return false; }
std::string unavailable_reason() {
  return "CUDA is not available: minidl was built without CUDA (configure with -DMINIDL_CUDA=ON on a machine with nvcc)";
}
std::string describe() { return unavailable_reason(); }

}  // namespace minidl::cuda
