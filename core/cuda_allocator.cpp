#include "minidl/core/cuda_allocator.h"

#include <algorithm>
#include <bit>

#include "minidl/core/error.h"

namespace minidl::cuda {

CachingAllocator::CachingAllocator(std::function<void*(std::size_t)> device_malloc,
                                   std::function<void(void*)> device_free)
    : device_malloc_(std::move(device_malloc)), device_free_(std::move(device_free)) {}

CachingAllocator::~CachingAllocator() {
  std::lock_guard lock(mutex_);
  release_cached_blocks();
}

std::size_t CachingAllocator::size_class(std::size_t bytes) {
  constexpr std::size_t kSmallest = 512;
  if (bytes <= kSmallest) return kSmallest;
  std::size_t step = std::bit_floor(bytes) / 4;
  return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(std::size_t bytes) {
  std::size_t block_bytes = size_class(bytes);
  std::lock_guard lock(mutex_);
  void* block = nullptr;
  std::vector<void*>& cached = free_blocks_[block_bytes];
  if (!cached.empty()) {
    block = cached.back();
    cached.pop_back();
    ++stats_.cache_hits;
  } else {
    block = device_malloc_(block_bytes);
    if (block == nullptr) {
      release_cached_blocks();
      block = device_malloc_(block_bytes);
      if (block == nullptr) return nullptr;
    }
    ++stats_.device_allocations;
    stats_.reserved_bytes += block_bytes;
    stats_.peak_reserved_bytes = std::max(stats_.peak_reserved_bytes, stats_.reserved_bytes);
  }
  blocks_in_use_[block] = block_bytes;
  stats_.allocated_bytes += block_bytes;
  stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
  return block;
}

void CachingAllocator::deallocate(void* ptr) {
  std::lock_guard lock(mutex_);
  auto in_use = blocks_in_use_.find(ptr);
  if (in_use == blocks_in_use_.end())
    fail("free on cuda: {} is not a block that minidl's CUDA allocator handed out", ptr);
  std::size_t block_bytes = in_use->second;
  blocks_in_use_.erase(in_use);
  stats_.allocated_bytes -= block_bytes;
  free_blocks_[block_bytes].push_back(ptr);
}

void CachingAllocator::empty_cache() {
  std::lock_guard lock(mutex_);
  release_cached_blocks();
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak_stats() {
  std::lock_guard lock(mutex_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
  stats_.peak_reserved_bytes = stats_.reserved_bytes;
}

void CachingAllocator::release_cached_blocks() {
  for (auto& [block_bytes, blocks] : free_blocks_) {
    for (void* block : blocks) {
      device_free_(block);
      ++stats_.device_frees;
      stats_.reserved_bytes -= block_bytes;
    }
    blocks.clear();
  }
}

}  // namespace minidl::cuda
