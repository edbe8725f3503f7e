// The CUDA runtime API of the emulator: one device whose memory is host memory.
//
// Every call completes before it returns (a launch too), so streams and events only
// keep CUDA's bookkeeping: events record the host time. A stream that captures records
// its work instead (cuda_emulator.h says what capture refuses); a graph launch runs it. Device allocations are
// tracked, so copies and memsets outside them fail with cudaErrorInvalidValue as an
// out-of-range access would fail on a GPU, and new allocations are filled with 0xff
// bytes (NaN as float) so that reading memory nobody wrote shows in results.
#include <chrono>
#include <functional>
#include <vector>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <set>

#include "minidl/core/emulator/emulator.h"

// Stream, event and graph objects behind the opaque handles.
struct CUstream_st {
  bool capturing = false;
  bool invalidated = false;                   // a refused call happened during the capture
  std::vector<std::function<void()>> captured;  // the work queued since the capture began
};
struct CUevent_st {
  std::chrono::steady_clock::time_point time;
  bool recorded = false;
};
struct CUgraph_st {
  std::vector<std::function<void()>> nodes;
};
struct CUgraphExec_st {
  std::vector<std::function<void()>> nodes;
};

namespace minidl::emulator {

namespace {

constexpr std::size_t kDefaultMemoryLimit = std::size_t{4} << 30;
constexpr std::align_val_t kDeviceAlignment{256};  // as cudaMalloc

struct Memory {
  std::mutex mutex;
  std::map<const std::byte*, std::size_t> device_allocations;  // start -> bytes
  std::map<const std::byte*, std::size_t> pinned_allocations;  // start -> bytes
  std::size_t used_bytes = 0;
  std::size_t limit_bytes = kDefaultMemoryLimit;
};

Memory& memory() {
  static Memory instance;
  return instance;
}

struct AtomicCounters {
  std::atomic<std::int64_t> device_allocations{0};
  std::atomic<std::int64_t> device_frees{0};
  std::atomic<std::int64_t> host_synchronizations{0};
  std::atomic<std::int64_t> launches{0};
  std::atomic<std::int64_t> graph_launches{0};
};

AtomicCounters& atomic_counters() {
  static AtomicCounters instance;
  return instance;
}

thread_local cudaError_t last_error = cudaSuccess;

// Returns error after recording it as the last error, as the CUDA runtime does.
cudaError_t report(cudaError_t error) {
  if (error != cudaSuccess) last_error = error;
  return error;
}

void count_host_synchronization() { atomic_counters().host_synchronizations.fetch_add(1); }

// True when [ptr, ptr + bytes) lies within one allocation of allocations. Caller holds memory().mutex.
bool is_within(const std::map<const std::byte*, std::size_t>& allocations, const void* ptr, std::size_t bytes) {
  const auto* start = static_cast<const std::byte*>(ptr);
  auto after = allocations.upper_bound(start);
  if (after == allocations.begin()) return false;
  auto [allocation, allocation_bytes] = *std::prev(after);
  return start + bytes <= allocation + allocation_bytes;
}

// True when [ptr, ptr + bytes) lies within one device allocation.
bool is_device_range(const void* ptr, std::size_t bytes) {
  std::lock_guard lock(memory().mutex);
  return is_within(memory().device_allocations, ptr, bytes);
}

// True when [ptr, ptr + bytes) lies within one pinned host allocation (cudaMallocHost).
bool is_pinned_range(const void* ptr, std::size_t bytes) {
  std::lock_guard lock(memory().mutex);
  return is_within(memory().pinned_allocations, ptr, bytes);
}

// ---- Capture (global mode) ---------------------------------------------------------------

struct Captures {
  std::mutex mutex;
  std::set<cudaStream_t> capturing;  // the streams capturing now
};

Captures& captures() {
  static Captures instance;
  return instance;
}

// A call that capture refuses: while any stream captures, every capture is invalidated
// and the call returns cudaErrorStreamCaptureUnsupported (true). False when none captures.
bool refused_by_capture() {
  std::lock_guard lock(captures().mutex);
  if (captures().capturing.empty()) return false;
  for (cudaStream_t stream : captures().capturing) stream->invalidated = true;
  return true;
}

// Checks the device side(s) of a copy of kind.
bool is_valid_copy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  switch (kind) {
    case cudaMemcpyHostToHost: return true;
    case cudaMemcpyHostToDevice: return is_device_range(dst, bytes);
    case cudaMemcpyDeviceToHost: return is_device_range(src, bytes);
    case cudaMemcpyDeviceToDevice: return is_device_range(dst, bytes) && is_device_range(src, bytes);
    case cudaMemcpyDefault: return true;
  }
  return false;
}

}  // namespace

Counters Counters::operator-(const Counters& earlier) const {
  return {device_allocations - earlier.device_allocations, device_frees - earlier.device_frees,
          host_synchronizations - earlier.host_synchronizations, launches - earlier.launches,
          graph_launches - earlier.graph_launches};
}

Counters counters() {
  AtomicCounters& c = atomic_counters();
  return {c.device_allocations.load(), c.device_frees.load(), c.host_synchronizations.load(), c.launches.load(),
          c.graph_launches.load()};
}

void set_memory_limit(std::size_t bytes) {
  std::lock_guard lock(memory().mutex);
  memory().limit_bytes = bytes;
}

std::size_t memory_limit() {
  std::lock_guard lock(memory().mutex);
  return memory().limit_bytes;
}

namespace detail {
void set_last_error(cudaError_t error) { report(error); }
void count_launch() { atomic_counters().launches.fetch_add(1); }

bool capture(cudaStream_t stream, std::function<void()> work) {
  if (stream == nullptr) return false;
  std::lock_guard lock(captures().mutex);
  if (!stream->capturing) return false;
  stream->captured.push_back(std::move(work));
  return true;
}
}  // namespace detail

}  // namespace minidl::emulator

using minidl::emulator::captures;
using minidl::emulator::is_device_range;
using minidl::emulator::is_pinned_range;
using minidl::emulator::is_valid_copy;
using minidl::emulator::memory;
using minidl::emulator::refused_by_capture;
using minidl::emulator::report;

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
  }
  return "unrecognized error code";
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
  }
  return "cudaErrorUnknown";
}

cudaError_t cudaGetLastError() {
  cudaError_t error = minidl::emulator::last_error;
  minidl::emulator::last_error = cudaSuccess;
  return error;
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : report(cudaErrorInvalidDevice); }

cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* properties, int device) {
  if (device != 0) return report(cudaErrorInvalidDevice);
  *properties = {};
  std::strncpy(properties->name, "minidl CUDA emulator (host threads)", sizeof(properties->name) - 1);
  properties->totalGlobalMem = minidl::emulator::memory_limit();
  properties->sharedMemPerBlock = 48 * 1024;
  properties->warpSize = 32;
  properties->maxThreadsPerBlock = 1024;
  properties->major = 9;
  properties->minor = 0;
  // An H200's, so that launches are shaped here as they are on the GPU the project
  // targets (kernels size their grids by it, and tests check those grids).
  properties->multiProcessorCount = 132;
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  std::lock_guard lock(memory().mutex);
  *total_bytes = memory().limit_bytes;
  *free_bytes = memory().used_bytes < memory().limit_bytes ? memory().limit_bytes - memory().used_bytes : 0;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  if (refused_by_capture()) return report(cudaErrorStreamCaptureUnsupported);
  minidl::emulator::count_host_synchronization();
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  *ptr = nullptr;
  if (refused_by_capture()) return report(cudaErrorStreamCaptureUnsupported);
  if (bytes == 0) return cudaSuccess;
  {
    std::lock_guard lock(memory().mutex);
    if (bytes > memory().limit_bytes - std::min(memory().used_bytes, memory().limit_bytes))
      return report(cudaErrorMemoryAllocation);
    auto* allocation = static_cast<std::byte*>(::operator new(bytes, minidl::emulator::kDeviceAlignment));
    std::memset(allocation, 0xff, bytes);
    memory().device_allocations[allocation] = bytes;
    memory().used_bytes += bytes;
    *ptr = allocation;
  }
  minidl::emulator::atomic_counters().device_allocations.fetch_add(1);
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (refused_by_capture()) return report(cudaErrorStreamCaptureUnsupported);
  if (ptr == nullptr) return cudaSuccess;
  {
    std::lock_guard lock(memory().mutex);
    auto allocation = memory().device_allocations.find(static_cast<std::byte*>(ptr));
    if (allocation == memory().device_allocations.end()) return report(cudaErrorInvalidValue);
    memory().used_bytes -= allocation->second;
    memory().device_allocations.erase(allocation);
  }
  ::operator delete(ptr, minidl::emulator::kDeviceAlignment);
  minidl::emulator::atomic_counters().device_frees.fetch_add(1);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, std::size_t bytes) {
  if (refused_by_capture()) return report(cudaErrorStreamCaptureUnsupported);
  *ptr = ::operator new(bytes, minidl::emulator::kDeviceAlignment);
  std::lock_guard lock(memory().mutex);
  memory().pinned_allocations[static_cast<const std::byte*>(*ptr)] = bytes;
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  {
    std::lock_guard lock(memory().mutex);
    if (memory().pinned_allocations.erase(static_cast<const std::byte*>(ptr)) == 0)
      return report(cudaErrorInvalidValue);
  }
  ::operator delete(ptr, minidl::emulator::kDeviceAlignment);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  if (!is_valid_copy(dst, src, bytes, kind)) return report(cudaErrorInvalidValue);
  // A capture records a copy between device or pinned memory; one from or to pageable
  // host memory would have to complete now, which capture refuses.
  bool capturing = false;
  if (stream != nullptr) {
    std::lock_guard lock(captures().mutex);
    capturing = stream->capturing;
  }
  if (capturing) {
    const bool pageable = (kind == cudaMemcpyHostToDevice && !is_pinned_range(src, bytes)) ||
                          (kind == cudaMemcpyDeviceToHost && !is_pinned_range(dst, bytes));
    if (pageable || kind == cudaMemcpyHostToHost || kind == cudaMemcpyDefault) {
      refused_by_capture();
      return report(cudaErrorStreamCaptureUnsupported);
    }
  }
  if (minidl::emulator::detail::capture(stream, [=] { std::memmove(dst, src, bytes); })) return cudaSuccess;
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  if (refused_by_capture()) return report(cudaErrorStreamCaptureUnsupported);
  minidl::emulator::count_host_synchronization();
  return cudaMemcpyAsync(dst, src, bytes, kind);
}

cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  if (!is_device_range(dst, bytes)) return report(cudaErrorInvalidValue);
  if (minidl::emulator::detail::capture(stream, [=] { std::memset(dst, value, bytes); })) return cudaSuccess;
  std::memset(dst, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemset(void* dst, int value, std::size_t bytes) {
  if (refused_by_capture()) return report(cudaErrorStreamCaptureUnsupported);
  return cudaMemsetAsync(dst, value, bytes);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int) {
  *stream = new CUstream_st;
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (stream == nullptr) return report(cudaErrorInvalidResourceHandle);
  {
    std::lock_guard lock(captures().mutex);
    captures().capturing.erase(stream);
  }
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) {
  if (refused_by_capture()) return report(cudaErrorStreamCaptureUnsupported);
  minidl::emulator::count_host_synchronization();
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  if (stream == nullptr) return report(cudaErrorStreamCaptureUnsupported);  // not the legacy default stream
  std::lock_guard lock(captures().mutex);
  if (stream->capturing) return report(cudaErrorInvalidValue);
  stream->capturing = true;
  stream->invalidated = false;
  stream->captured.clear();
  captures().capturing.insert(stream);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  *graph = nullptr;
  if (stream == nullptr) return report(cudaErrorInvalidValue);
  std::lock_guard lock(captures().mutex);
  if (!stream->capturing) return report(cudaErrorInvalidValue);
  stream->capturing = false;
  captures().capturing.erase(stream);
  std::vector<std::function<void()>> nodes = std::move(stream->captured);
  stream->captured.clear();
  if (stream->invalidated) return report(cudaErrorStreamCaptureInvalidated);
  *graph = new CUgraph_st{std::move(nodes)};
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  *status = cudaStreamCaptureStatusNone;
  if (stream == nullptr) return cudaSuccess;
  std::lock_guard lock(captures().mutex);
  if (stream->capturing)
    *status = stream->invalidated ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  *exec = nullptr;
  if (graph == nullptr) return report(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st{graph->nodes};
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (exec == nullptr) return report(cudaErrorInvalidValue);
  minidl::emulator::atomic_counters().graph_launches.fetch_add(1);
  if (minidl::emulator::detail::capture(stream, [nodes = exec->nodes] {
        for (const std::function<void()>& node : nodes) node();
      }))
    return cudaSuccess;
  for (const std::function<void()>& node : exec->nodes) node();
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  if (exec == nullptr) return report(cudaErrorInvalidValue);
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  if (graph == nullptr) return report(cudaErrorInvalidValue);
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  *event = new CUevent_st;
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  if (event == nullptr) return report(cudaErrorInvalidResourceHandle);
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t) {
  if (event == nullptr) return report(cudaErrorInvalidResourceHandle);
  event->time = std::chrono::steady_clock::now();
  event->recorded = true;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (event == nullptr) return report(cudaErrorInvalidResourceHandle);
  if (refused_by_capture()) return report(cudaErrorStreamCaptureUnsupported);
  minidl::emulator::count_host_synchronization();
  return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  if (event == nullptr) return report(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (start == nullptr || end == nullptr || !start->recorded || !end->recorded)
    return report(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}
