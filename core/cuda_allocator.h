/// \file
/// CachingAllocator: device memory that is kept for reuse instead of being freed.
///
/// cudaMalloc and cudaFree are slow (cudaFree also waits for the whole device), so
/// after the first training step, which allocates every tensor a step needs, the
/// next steps must not call them. The allocator rounds each request up to a size
/// class and keeps freed blocks in a free list per class; a request is served from
/// its class's list when that holds a block, and from the device otherwise.
/// When the device is out of memory, the cached blocks are returned to it and the
/// request is tried once more.
///
/// Blocks are reused in the order work is queued on one stream: a block freed by one
/// kernel and handed to the next is safe because the two run in stream order. Code
/// that uses several streams must synchronise them before memory changes hands.
///
/// The device is reached through two functions given to the constructor, so the
/// logic is the same for a real GPU, the emulator, and the tests, which count calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace minidl::cuda {

/// What a CachingAllocator holds and has done, in bytes and counts of calls.
struct AllocatorStats {
  std::size_t allocated_bytes = 0;       ///< in blocks handed out now (rounded to size classes)
  std::size_t peak_allocated_bytes = 0;  ///< the most allocated_bytes has been
  std::size_t reserved_bytes = 0;        ///< obtained from the device: handed out plus cached
  std::size_t peak_reserved_bytes = 0;   ///< the most reserved_bytes has been
  std::int64_t device_allocations = 0;   ///< calls of the device's malloc (cudaMalloc)
  std::int64_t device_frees = 0;         ///< calls of the device's free (cudaFree)
  std::int64_t cache_hits = 0;           ///< requests served from a free list
};

/// Device memory kept for reuse in free lists per size class (see the top of this file).
class CachingAllocator {
 public:
  /// device_malloc(bytes) returns nullptr when the device is out of memory (and
  /// throws on any other failure); device_free(ptr) returns a block to the device.
  CachingAllocator(std::function<void*(std::size_t)> device_malloc, std::function<void(void*)> device_free);
  /// Returns the cached blocks to the device. Blocks still in use are left alone.
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  /// A block of at least bytes (> 0) bytes, or nullptr when the device is out of
  /// memory even after the cache was emptied.
  void* allocate(std::size_t bytes);
  /// Puts a block from allocate() back on its free list; throws Error for any other pointer.
  void deallocate(void* ptr);
  /// Returns every cached block to the device.
  void empty_cache();
  /// The counts so far.
  AllocatorStats stats() const;
  /// Starts the peaks again from the bytes allocated and reserved now (as
  /// torch.cuda.reset_peak_memory_stats), to measure the peak of one piece of work.
  void reset_peak_stats();

  /// The size of the block that serves a request of bytes: at least 512 bytes, and
  /// above that a multiple of a quarter of the power of two at or below bytes
  /// (1024, 1280, 1536, 1792, 2048, 2560, ...), so at most 25% is wasted.
  static std::size_t size_class(std::size_t bytes);

 private:
  // Caller holds mutex_.
  void release_cached_blocks();

  std::function<void*(std::size_t)> device_malloc_;
  std::function<void(void*)> device_free_;
  mutable std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks_;  // size class -> cached blocks
  std::unordered_map<void*, std::size_t> blocks_in_use_;             // block -> its size class
  AllocatorStats stats_;
};

}  // namespace minidl::cuda
