// minidl's CUDA emulator: the subset of CUDA that minidl uses, for the host compiler.
//
// In the emulated flavour (MINIDL_CUDA_EMULATOR) this header stands in for nvcc's
// <cuda_runtime.h>: kernels/cuda/*.cu compile as ordinary C++ and run on the CPU,
// so every kernel is tested without a GPU. How a launch runs (launch.cpp):
//   - the blocks of the grid run one at a time, in order or shuffled (emulator.h);
//   - each CUDA thread of the block is a host thread, with its own threadIdx and blockIdx;
//   - a __shared__ variable is a function-local static: one copy, used by the running block;
//   - __syncthreads() is a barrier over the block's threads that have not returned;
//   - warp shuffles and votes exchange values between the live lanes of a warp, and
//     fail unless their mask names exactly those lanes;
//   - atomics are std::atomic_ref operations.
// An exception in any thread, a deadlocked barrier or a bad shuffle makes the launch
// throw minidl::Error instead of hanging. The runtime API (cudaMalloc, cudaMemcpy,
// streams, events) works on host memory, and every call completes before it returns.
// See docs/emulator.md.
#pragma once

#include <array>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

// ---- Function and variable qualifiers -------------------------------------------
// Macros because CUDA's syntax needs them. Host and device code are the same C++ here.
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
// Hints to nvcc about registers and aliasing: nothing to do on the host.
#define __launch_bounds__(...)
#define __restrict__
// One __shared__ variable per block: blocks run one at a time, so one static copy
// serves them all. Dynamic shared memory: minidl::cuda::dynamic_shared_memory<T>()
// (kernels/cuda/kernel_support.cuh) instead of `extern __shared__ T name[];`.
#define __shared__ static

// ---- Thread and block coordinates -------------------------------------------------
struct uint3 {
  unsigned int x, y, z;
};

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int x = 1, unsigned int y = 1, unsigned int z = 1) : x(x), y(y), z(z) {}
};

// Set by the emulator in each thread before it runs the kernel.
inline thread_local uint3 threadIdx{};
inline thread_local uint3 blockIdx{};
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;
constexpr int warpSize = 32;

// ---- The emulator's side of barriers, warps and shared memory (launch.cpp) ----------
namespace minidl::emulator::detail {

// __syncthreads of the calling thread's block.
void sync_block();

// What a warp operation sees once every live lane of the warp has arrived.
struct WarpExchange {
  std::array<std::uint64_t, 32> values;  // the value each lane deposited
  unsigned mask;                         // the lanes that took part
  int lane;                              // the calling thread's lane
};
// Deposits value for the calling lane and waits until every live lane of its warp
// has deposited one in the same operation. Throws Error when mask is not exactly
// the warp's live lanes or the lanes are in different operations.
WarpExchange exchange_in_warp(unsigned mask, std::uint64_t value, const char* operation);

// The running block's dynamic shared memory (the launch's dynamic_shared_bytes).
void* dynamic_shared_memory();

// Throws Error: width must be a power of two from 1 to 32.
void check_shuffle_width(int width, const char* operation);
// Throws Error: a shuffle read a lane that is not in its mask.
[[noreturn]] void fail_lane_not_in_mask(const char* operation, int lane, int source, unsigned mask);

template <typename T>
std::uint64_t to_bits(T value) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(std::uint64_t),
                "warp shuffles move values of at most 8 bytes");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  return bits;
}

// The value lane `source` deposited, which must be a lane of the operation.
template <typename T>
T value_of_lane(const WarpExchange& warp, int source, const char* operation) {
  if ((warp.mask >> source & 1u) == 0) fail_lane_not_in_mask(operation, warp.lane, source, warp.mask);
  T value;
  std::memcpy(&value, &warp.values[source], sizeof(T));
  return value;
}

// The lanes of mask whose predicate was non-zero.
inline unsigned vote(unsigned mask, int predicate, const char* operation) {
  WarpExchange warp = exchange_in_warp(mask, predicate != 0, operation);
  unsigned ballot = 0;
  for (int lane = 0; lane < 32; ++lane)
    if ((warp.mask >> lane & 1u) != 0 && warp.values[lane] != 0) ballot |= 1u << lane;
  return ballot;
}

}  // namespace minidl::emulator::detail

// ---- Barriers, shuffles and votes ---------------------------------------------------
inline void __syncthreads() { minidl::emulator::detail::sync_block(); }

inline void __syncwarp(unsigned mask = 0xffffffffu) {
  minidl::emulator::detail::exchange_in_warp(mask, 0, "__syncwarp");
}

// value of lane src_lane (within the caller's segment of width lanes).
template <typename T>
T __shfl_sync(unsigned mask, T value, int src_lane, int width = warpSize) {
  using namespace minidl::emulator::detail;
  check_shuffle_width(width, "__shfl_sync");
  WarpExchange warp = exchange_in_warp(mask, to_bits(value), "__shfl_sync");
  int segment_start = warp.lane & ~(width - 1);
  return value_of_lane<T>(warp, segment_start + (src_lane & (width - 1)), "__shfl_sync");
}

// value of lane (lane + delta); lanes whose source is past their segment keep their own value.
template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = warpSize) {
  using namespace minidl::emulator::detail;
  check_shuffle_width(width, "__shfl_down_sync");
  WarpExchange warp = exchange_in_warp(mask, to_bits(value), "__shfl_down_sync");
  if ((warp.lane & (width - 1)) + delta >= static_cast<unsigned>(width)) return value;
  return value_of_lane<T>(warp, warp.lane + static_cast<int>(delta), "__shfl_down_sync");
}

// value of lane (lane - delta); lanes whose source is before their segment keep their own value.
template <typename T>
T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = warpSize) {
  using namespace minidl::emulator::detail;
  check_shuffle_width(width, "__shfl_up_sync");
  WarpExchange warp = exchange_in_warp(mask, to_bits(value), "__shfl_up_sync");
  if (static_cast<unsigned>(warp.lane & (width - 1)) < delta) return value;
  return value_of_lane<T>(warp, warp.lane - static_cast<int>(delta), "__shfl_up_sync");
}

// value of lane (lane ^ lane_mask); lanes whose source is past their segment keep their own value.
template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = warpSize) {
  using namespace minidl::emulator::detail;
  check_shuffle_width(width, "__shfl_xor_sync");
  WarpExchange warp = exchange_in_warp(mask, to_bits(value), "__shfl_xor_sync");
  int source = warp.lane ^ lane_mask;
  if (source >= (warp.lane & ~(width - 1)) + width) return value;
  return value_of_lane<T>(warp, source, "__shfl_xor_sync");
}

inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return minidl::emulator::detail::vote(mask, predicate, "__ballot_sync");
}
inline int __any_sync(unsigned mask, int predicate) {
  return minidl::emulator::detail::vote(mask, predicate, "__any_sync") != 0;
}
inline int __all_sync(unsigned mask, int predicate) {
  return minidl::emulator::detail::vote(mask, predicate, "__all_sync") == mask;
}

// ---- Arithmetic intrinsics --------------------------------------------------------------
// a * b, a + b and a - b rounded to nearest, never contracted into a fused multiply-add: on a GPU
// they keep nvcc from fusing, so a kernel can give the bits of the CPU reference.
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }

// ---- Atomics: the types CUDA offers them for --------------------------------------
template <typename T>
concept CudaAtomicInteger = std::same_as<T, int> || std::same_as<T, unsigned int> || std::same_as<T, unsigned long long>;
template <typename T>
concept CudaAtomicNumber = CudaAtomicInteger<T> || std::same_as<T, float> || std::same_as<T, double>;

// Each returns the value *address held before.
template <CudaAtomicNumber T>
T atomicAdd(T* address, std::type_identity_t<T> value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}

template <CudaAtomicNumber T>
T atomicExch(T* address, std::type_identity_t<T> value) {
  return std::atomic_ref<T>(*address).exchange(value);
}

template <CudaAtomicInteger T>
T atomicMax(T* address, std::type_identity_t<T> value) {
  std::atomic_ref<T> target(*address);
  T old = target.load();
  while (old < value && !target.compare_exchange_weak(old, value)) {
  }
  return old;
}

template <CudaAtomicInteger T>
T atomicMin(T* address, std::type_identity_t<T> value) {
  std::atomic_ref<T> target(*address);
  T old = target.load();
  while (value < old && !target.compare_exchange_weak(old, value)) {
  }
  return old;
}

// Stores value if *address == compare.
template <CudaAtomicInteger T>
T atomicCAS(T* address, std::type_identity_t<T> compare, std::type_identity_t<T> value) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value);
  return compare;
}

// ---- The runtime API ------------------------------------------------------------------
// Names, values and messages as in CUDA's runtime, for the calls minidl makes.
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
};

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

struct CUstream_st;
using cudaStream_t = CUstream_st*;
struct CUevent_st;
using cudaEvent_t = CUevent_st*;
constexpr unsigned int cudaStreamNonBlocking = 1;

// Stream capture and graphs. Capture is in CUDA's global mode: while any stream captures,
// a call that could synchronise with the device (cudaMalloc, cudaFree, a synchronous copy
// or memset, a stream, event or device synchronize) and an asynchronous copy from pageable
// host memory are refused with cudaErrorStreamCaptureUnsupported, and the capture is
// invalidated: cudaStreamEndCapture then returns cudaErrorStreamCaptureInvalidated and no
// graph. Kernels, cuBLAS calls, asynchronous copies between pinned or device memory and
// asynchronous memsets queued on a capturing stream are recorded, not run, with their
// arguments as they were at capture time; a graph launch runs them in order.
struct CUgraph_st;
using cudaGraph_t = CUgraph_st*;
struct CUgraphExec_st;
using cudaGraphExec_t = CUgraphExec_st*;
enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};
enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2,
};

struct cudaDeviceProp {
  char name[256];
  std::size_t totalGlobalMem;
  std::size_t sharedMemPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int major;
  int minor;
  int multiProcessorCount;
};

const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);
// Returns the last error of a runtime call or launch on this host thread, and resets it.
cudaError_t cudaGetLastError();

cudaError_t cudaGetDeviceCount(int* count);
// Device 0, the one emulated device, is the current device; any other is cudaErrorInvalidDevice.
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* properties, int device);
cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes);
cudaError_t cudaDeviceSynchronize();

cudaError_t cudaMalloc(void** ptr, std::size_t bytes);
template <typename T>
cudaError_t cudaMalloc(T** ptr, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMallocHost(void** ptr, std::size_t bytes);
cudaError_t cudaFreeHost(void* ptr);

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* dst, int value, std::size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t stream = nullptr);

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph);
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);

cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
// cudaSuccess once the work before the event's mark is done: always, here, once it was recorded.
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);
