// Sum reduction in two launches, without atomics:
//   pass 1: block b adds the elements b * 256 + t, stepping by the grid's thread
//           count (a grid-stride loop), and writes its total to partials[b];
//   pass 2: one block adds partials[0 .. blocks) the same way and writes
//           scale * total to result[0] (scale is 1 for sum, 1 / count for mean).
// Inside a block, block_sum (kernels/cuda/block_reduce.cuh): each warp adds its 32 values
// with butterfly shuffles, lane 0 of each warp writes the warp's total to shared
// memory, a barrier, and every warp adds the warp totals.
#include "minidl/kernels/cuda/reduce.h"

#include <algorithm>

#include "minidl/kernels/cuda/block_reduce.cuh"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;  // a multiple of the warp size: every warp is full
constexpr unsigned kMinElementsPerThread = 4;
constexpr unsigned kMaxBlocks = 1024;

// output[blockIdx.x] = scale * the sum of the input elements this block visits.
__global__ void sum_kernel(const float* input, std::int64_t count, float scale, float* output) {
  float value = 0.0f;
  std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = global_thread_index(); i < count; i += stride) value += input[i];
  value = block_sum(value);
  if (threadIdx.x == 0) output[blockIdx.x] = scale * value;
}

unsigned sum_blocks(std::int64_t count) {
  return std::max(1u, std::min(blocks_for(count, kThreads * kMinElementsPerThread), kMaxBlocks));
}

void sum_scaled(const float* input, std::int64_t count, float scale, float* result, float* partials,
                cudaStream_t stream) {
  const unsigned blocks = sum_blocks(count);
  launch(sum_kernel, {blocks, kThreads, 0, stream, elements(count)}, input, count, 1.0f, partials);
  launch(sum_kernel, {1, kThreads, 0, stream, elements(blocks)}, static_cast<const float*>(partials),
         std::int64_t{blocks}, scale, result);
}

}  // namespace

std::int64_t sum_partials_size(std::int64_t count) { return sum_blocks(count); }

void sum(const float* input, std::int64_t count, float* result, float* partials, cudaStream_t stream) {
  sum_scaled(input, count, 1.0f, result, partials, stream);
}

void mean(const float* input, std::int64_t count, float* result, float* partials, cudaStream_t stream) {
  sum_scaled(input, count, 1.0f / static_cast<float>(count), result, partials, stream);
}

}  // namespace minidl::cuda
