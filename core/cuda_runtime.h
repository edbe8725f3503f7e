/// \file
/// The CUDA runtime as minidl uses it: device memory, copies, streams, events,
/// pinned host memory, detection.
///
/// Three implementations, one per build flavour:
///   core/cuda_unavailable.cpp  CPU-only build: every call throws "built without CUDA";
///   core/cuda_runtime.cpp      real CUDA, and the emulated flavour, where the same
///                              source compiles against the host emulator of the
///                              CUDA runtime API (core/emulator/).
/// Every call checks its CUDA status and throws Error with the call, file:line
/// and CUDA's message. Without a usable GPU every call throws one sentence saying
/// why (see unavailable_reason()).
///
/// This header does not include CUDA's headers, so code of every flavour can use it;
/// CUDA sources reach the native handles through core/cuda_api.h.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "minidl/core/cuda_allocator.h"

namespace minidl::cuda {

/// Device memory from the caching allocator (core/cuda_allocator.h): after warm-up
/// it does not call cudaMalloc. Out of memory throws Error saying how much was asked
/// and how much is free. device_malloc(0) returns nullptr.
void* device_malloc(std::size_t bytes);
/// Gives memory from device_malloc(bytes) back to the allocator; nullptr is ignored.
void device_free(void* ptr, std::size_t bytes);
/// The caching allocator's counts so far.
AllocatorStats allocator_stats();
/// Returns the allocator's cached blocks to the device.
void empty_cache();
/// Starts the allocator's peak counts again from now (CachingAllocator::reset_peak_stats).
void reset_peak_stats();

///@{
/// Synchronous copies between host and device memory, queued on minidl's stream (after
/// everything queued before) and waited for: they return when the copy is done.
void copy_host_to_device(void* dst, const void* src, std::size_t bytes);
void copy_device_to_host(void* dst, const void* src, std::size_t bytes);
///@}
/// A copy of a few host bytes queued on minidl's stream: it returns once it has read
/// them (CUDA stages pageable memory), and the host does not wait for the device.
void copy_host_to_device_queued(void* dst, const void* src, std::size_t bytes);
/// A copy to pinned host memory (a PinnedBuffer) queued on minidl's stream: the host
/// does not wait; an Event recorded after it tells when the bytes are there.
void copy_device_to_host_queued(void* pinned_dst, const void* src, std::size_t bytes);
/// A copy between device buffers queued on minidl's stream: the host does not wait.
void copy_device_to_device_async(void* dst, const void* src, std::size_t bytes);
/// Sets bytes of device memory to a byte value, queued on minidl's stream (the host does
/// not wait: what is queued later sees the bytes set).
void memset_device(void* dst, int value, std::size_t bytes);

/// Waits until all work on the device has finished.
void synchronize();

/// Kernels minidl has launched from the host so far (its own: not cuBLAS's or cuDNN's,
/// not those a CUDA graph replays): what a training step costs in launches, eagerly.
std::int64_t kernels_launched();
/// For kernels/cuda/kernel_support.cuh's launch(): counts one.
void count_kernel_launch();

/// A CUDA graph: the work a function queues on minidl's stream, captured once (nothing
/// runs while it is captured) and replayed as one launch. Every op of minidl queues its
/// work on that stream, a non-blocking stream of its own (core/cuda_api.h's
/// current_stream()), so a training step can be captured whole.
class Graph {
 public:
  /// Captures what body queues on minidl's stream, then instantiates it. Capture refuses
  /// a call that would wait for the device or allocate (cudaMalloc, a synchronous copy,
  /// a synchronize, a copy from pageable host memory): that call throws Error naming it,
  /// the capture is abandoned, and no graph is made.
  explicit Graph(const std::function<void()>& body);
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  /// Queues the captured work on minidl's stream.
  void replay() const;

 private:
  void* graph_ = nullptr;  // cudaGraph_t
  void* exec_ = nullptr;   // cudaGraphExec_t
};

/// A CUDA stream: work queued on one stream runs in order, work on different streams may overlap.
class Stream {
 public:
  Stream();  ///< a new stream that does not wait for the default stream
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  /// Waits on the host until everything queued on the stream has finished.
  void synchronize() const;
  /// The cudaStream_t, for CUDA sources (cast with static_cast<cudaStream_t>).
  void* native_handle() const { return handle_; }

 private:
  void* handle_ = nullptr;
};

/// A CUDA event: a mark in a stream's queue, to wait for or to time work between two marks.
class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  ///@{
  /// Marks the current end of the queue of minidl's stream (where every op queues its
  /// work), or of stream's.
  void record();
  void record(const Stream& stream);
  ///@}
  /// Waits on the host until the work before the mark has finished.
  void synchronize() const;
  /// Whether the work before the mark has finished; never waits.
  bool done() const;
  /// Milliseconds from start's mark to this one (both recorded and reached).
  float elapsed_ms_since(const Event& start) const;
  /// The cudaEvent_t, for CUDA sources (cast with static_cast<cudaEvent_t>).
  void* native_handle() const { return handle_; }

 private:
  void* handle_ = nullptr;
};

/// Page-locked ("pinned") host memory: copies between it and the device can run
/// asynchronously, overlapping host work.
class PinnedBuffer {
 public:
  /// bytes of pinned host memory.
  explicit PinnedBuffer(std::size_t bytes);
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  /// The memory.
  void* data() const { return data_; }
  /// Its size in bytes.
  std::size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

///@{
/// Copies queued on stream: they return at once. The host buffer should be a
/// PinnedBuffer and must stay untouched until the stream has reached the copy.
void copy_host_to_device_async(void* dst, const void* src, std::size_t bytes, const Stream& stream);
void copy_device_to_host_async(void* dst, const void* src, std::size_t bytes, const Stream& stream);
///@}

///@{
/// See cuda_is_built(), cuda_is_emulated(), cuda_is_available() and
/// cuda_unavailable_reason() in core/device.h.
bool is_built();
bool is_emulated();
bool is_available();
std::string unavailable_reason();
///@}

/// One line naming the device CUDA code runs on, for a program to print once at start:
/// "cuda:0 is NVIDIA H100 80GB HBM3 (compute capability 9.0, 79.1 GiB), cuDNN 9.10.2", or
/// the reason CUDA cannot be used.
std::string describe();

}  // namespace minidl::cuda
