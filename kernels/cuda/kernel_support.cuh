// What every CUDA kernel source (kernels/cuda/*.cu) includes: the launch function,
// dynamic shared memory and index helpers, written once for nvcc and the emulator.
//
// A kernel source compiles twice: with nvcc for GPUs, and in the emulated flavour
// as C++ against core/emulator/ (see docs/emulator.md). The two places where the
// CUDA syntax cannot be shared are here:
//   - a launch is launch(kernel, {grid, block, dynamic_shared_bytes, stream, work}, args...)
//     instead of kernel<<<grid, block, dynamic_shared_bytes, stream>>>(args...), where work
//     (below) says how much the kernel does;
//   - dynamic shared memory is dynamic_shared_memory<T>() instead of
//     `extern __shared__ T name[];`.
// Include only from .cu files: under a plain host compiler of the real flavour the
// <<<>>> launch does not compile.
#pragma once

#include <cstddef>
#include <cstdint>

#include "minidl/core/cuda_api.h"
#include "minidl/core/cuda_runtime.h"
#if defined(MINIDL_CUDA_EMULATOR)
#include "minidl/core/emulator/emulator.h"
#endif

namespace minidl::cuda {

// The work a launch does, as its call site declares it: the multiply-adds of a matrix
// product, or the elements a kernel reads or writes. The emulator records it with the
// grid (core/emulator/emulator.h), and a test checks that every launch with much work
// has enough blocks to fill a GPU (tests/test_gpu_fill.cpp).
struct Work {
  std::int64_t amount;
  const char* kind;  // "multiply-adds" or "elements"
};
inline Work multiply_adds(std::int64_t count) { return {count, "multiply-adds"}; }
inline Work elements(std::int64_t count) { return {count, "elements"}; }

// Where and how a kernel runs, and what work it does. The last argument records the
// caller's file:line for the error message of a failed launch.
struct LaunchConfig {
  LaunchConfig(dim3 grid, dim3 block, std::size_t dynamic_shared_bytes, cudaStream_t stream, Work work,
               SourceLocation where = SourceLocation::current())
      : grid(grid), block(block), dynamic_shared_bytes(dynamic_shared_bytes), stream(stream), work(work),
        where(where) {}

  dim3 grid;
  dim3 block;
  std::size_t dynamic_shared_bytes;
  cudaStream_t stream;
  Work work;
  SourceLocation where;
};

// Queues kernel(args...) on config.stream and checks the launch: a bad configuration
// throws Error with the grid, the block and the caller's file:line.
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), const LaunchConfig& config, Args... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "launch: the kernel takes a different number of arguments");
#if defined(MINIDL_CUDA_EMULATOR)
  // The arguments travel by value, as in a real launch: a stream that captures keeps them.
  emulator::launch(config.grid, config.block, config.dynamic_shared_bytes, config.stream,
                   {config.work.amount, config.work.kind}, [kernel, args...] { kernel(args...); }, config.where);
#else
  kernel<<<config.grid, config.block, config.dynamic_shared_bytes, config.stream>>>(args...);
#endif
  check_launch(config.grid, config.block, config.dynamic_shared_bytes, config.where);
  count_kernel_launch();
}

// The block's dynamic shared memory (the launch's dynamic_shared_bytes), as T*.
template <typename T>
__device__ T* dynamic_shared_memory() {
#if defined(MINIDL_CUDA_EMULATOR)
  return static_cast<T*>(emulator::detail::dynamic_shared_memory());
#else
  extern __shared__ __align__(16) unsigned char dynamic_shared_bytes[];
  return reinterpret_cast<T*>(dynamic_shared_bytes);
#endif
}

// The number of blocks of `threads` threads that gives each of count elements a thread.
inline unsigned blocks_for(std::int64_t count, unsigned threads) {
  return static_cast<unsigned>((count + threads - 1) / threads);
}

// The index of the calling thread in a one-dimensional grid, in 64 bits
// (blockIdx.x * blockDim.x alone is computed in 32 and can wrap).
__device__ inline std::int64_t global_thread_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

}  // namespace minidl::cuda
