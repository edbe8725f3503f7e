// Specification of the CUDA caching allocator: its logic against a counting stand-in
// for cudaMalloc/cudaFree (in every flavour), and on cuda tensors (on a GPU or the emulator).
#include <cstdlib>
#include <map>

#include "minidl/core/cuda_allocator.h"
#include "minidl/core/cuda_runtime.h"
#include "minidl/core/tensor.h"
#include "test_support.h"
#if defined(MINIDL_CUDA_EMULATOR)
#include "minidl/core/emulator/emulator.h"
#endif

using namespace minidl;
using cuda::CachingAllocator;

namespace {

// A device of `capacity` bytes in host memory that counts what it is asked.
struct CountingDevice {
  std::size_t capacity = std::size_t{1} << 30;
  std::size_t used = 0;
  int mallocs = 0;
  int frees = 0;
  std::map<void*, std::size_t> blocks;

  void* malloc(std::size_t bytes) {
    if (used + bytes > capacity) return nullptr;
    void* block = std::malloc(bytes);
    blocks[block] = bytes;
    used += bytes;
    ++mallocs;
    return block;
  }
  void free(void* block) {
    used -= blocks.at(block);
    blocks.erase(block);
    std::free(block);
    ++frees;
  }
};

CachingAllocator allocator_on(CountingDevice& device) {
  return CachingAllocator([&device](std::size_t bytes) { return device.malloc(bytes); },
                          [&device](void* block) { device.free(block); });
}

}  // namespace

TEST_CASE("the caching allocator rounds a request up to its size class") {
  REQUIRE(CachingAllocator::size_class(1) == 512);
  REQUIRE(CachingAllocator::size_class(512) == 512);
  REQUIRE(CachingAllocator::size_class(513) == 640);
  REQUIRE(CachingAllocator::size_class(1000) == 1024);
  REQUIRE(CachingAllocator::size_class(1025) == 1280);
  REQUIRE(CachingAllocator::size_class(3000) == 3072);
  REQUIRE(CachingAllocator::size_class((1 << 20) + 1) == (1 << 20) + (1 << 18));
}

TEST_CASE("after warm-up a repeated sequence of allocations calls the device malloc no more") {
  CountingDevice device;
  CachingAllocator allocator = allocator_on(device);
  auto step = [&] {
    void* input = allocator.allocate(4000);
    void* weight = allocator.allocate(123);
    void* activation = allocator.allocate(4000);
    allocator.deallocate(weight);
    void* gradient = allocator.allocate(70000);
    allocator.deallocate(activation);
    allocator.deallocate(input);
    allocator.deallocate(gradient);
  };
  step();
  int warm_up_mallocs = device.mallocs;
  REQUIRE(warm_up_mallocs == 4);
  for (int i = 0; i < 10; ++i) step();
  REQUIRE(device.mallocs == warm_up_mallocs);
  REQUIRE(device.frees == 0);
  REQUIRE(allocator.stats().cache_hits == 40);
  REQUIRE(allocator.stats().device_allocations == warm_up_mallocs);
}

TEST_CASE("the caching allocator reports its peak reserved bytes") {
  CountingDevice device;
  CachingAllocator allocator = allocator_on(device);
  void* a = allocator.allocate(1000);  // 1024
  void* b = allocator.allocate(3000);  // 3072
  allocator.deallocate(a);
  void* c = allocator.allocate(1024);  // served by a's block
  allocator.deallocate(b);
  allocator.deallocate(c);
  cuda::AllocatorStats stats = allocator.stats();
  REQUIRE(stats.peak_reserved_bytes == 1024 + 3072);
  REQUIRE(stats.reserved_bytes == 1024 + 3072);
  REQUIRE(stats.peak_allocated_bytes == 1024 + 3072);
  REQUIRE(stats.allocated_bytes == 0);
  allocator.empty_cache();
  REQUIRE(allocator.stats().reserved_bytes == 0);
  REQUIRE(allocator.stats().peak_reserved_bytes == 1024 + 3072);
  REQUIRE(device.used == 0);
}

TEST_CASE("when the device is out of memory the caching allocator frees its cache and tries again") {
  CountingDevice device;
  device.capacity = 4096;
  CachingAllocator allocator = allocator_on(device);
  allocator.deallocate(allocator.allocate(2048));  // cached, still taken from the device
  void* block = allocator.allocate(3072);          // fits only once the cached block is returned
  REQUIRE(block != nullptr);
  REQUIRE(device.frees == 1);
  REQUIRE(allocator.allocate(8192) == nullptr);
  allocator.deallocate(block);
}

TEST_CASE("the caching allocator refuses a pointer it did not hand out") {
  CountingDevice device;
  CachingAllocator allocator = allocator_on(device);
  int not_a_block = 0;
  REQUIRE_THROWS_MINIDL(allocator.deallocate(&not_a_block), "is not a block that minidl's CUDA allocator handed out");
}

TEST_CASE("after warm-up a repeated step of cuda tensors calls cudaMalloc no more") {
  if (testing::skip_unless_cuda()) return;
  auto step = [] {
    Tensor input = Tensor::empty({10, 3, 32, 32}, DType::f32, Device::cuda());
    Tensor weight_grad = Tensor::empty({16, 3, 3, 3}, DType::f32, Device::cuda());
    { Tensor scratch = Tensor::empty({1000}, DType::f32, Device::cuda()); }
    Tensor output = Tensor::empty({10, 16, 32, 32}, DType::f32, Device::cuda());
  };
  step();
  cuda::AllocatorStats warm = cuda::allocator_stats();
#if defined(MINIDL_CUDA_EMULATOR)
  emulator::Counters before = emulator::counters();
#endif
  for (int i = 0; i < 3; ++i) step();
  cuda::AllocatorStats after = cuda::allocator_stats();
  REQUIRE(after.device_allocations == warm.device_allocations);
  REQUIRE(after.cache_hits == warm.cache_hits + 3 * 4);
  REQUIRE(after.peak_reserved_bytes == warm.peak_reserved_bytes);
#if defined(MINIDL_CUDA_EMULATOR)
  emulator::Counters used = emulator::counters() - before;
  REQUIRE(used.device_allocations == 0);
  REQUIRE(used.device_frees == 0);
  REQUIRE(used.host_synchronizations == 0);
#endif
  cuda::empty_cache();
  REQUIRE(cuda::allocator_stats().reserved_bytes == cuda::allocator_stats().allocated_bytes);
}

TEST_CASE("resetting the peak counts starts them again from the bytes in use now") {
  CountingDevice device;
  CachingAllocator allocator = allocator_on(device);
  void* big = allocator.allocate(8192);
  allocator.deallocate(big);  // cached: still reserved
  void* small = allocator.allocate(1024);
  allocator.reset_peak_stats();
  REQUIRE(allocator.stats().peak_allocated_bytes == 1024);
  REQUIRE(allocator.stats().peak_reserved_bytes == 8192 + 1024);
  allocator.deallocate(small);
}
