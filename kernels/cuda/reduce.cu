// Sum reduction in two launches, without atomics:
//   pass 1: block b adds the elements b * 256 + t, stepping by the grid's thread
//           count (a grid-stride loop), and writes its total to partial[b];
//   pass 2: one block adds partial[0 .. blocks) the same way and writes
//           scale * total to result[0] (scale is 1 for sum, 1 / count for mean).
// Inside a block (block_sum): each warp adds its 32 values with __shfl_down_sync in
// 5 steps (no shared memory, no barrier); lane 0 of each warp writes the warp's
// total to shared warp_totals[warp]; __syncthreads(); warp 0 adds the warp totals.
#include "minidl/kernels/cuda/reduce.h"

#include <algorithm>

#include "minidl/core/cuda_runtime.h"
#include "minidl/kernels/cuda/kernel_support.h"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;  // a multiple of the warp size: every warp is full
constexpr unsigned kMinElementsPerThread = 4;
constexpr unsigned kMaxBlocks = 1024;
constexpr unsigned kFullMask = 0xffffffffu;

// The sum of value over the 32 lanes of the warp, in lane 0.
__device__ float warp_sum(float value) {
  for (int offset = warpSize / 2; offset > 0; offset /= 2) value += __shfl_down_sync(kFullMask, value, offset);
  return value;
}

// The sum of value over the block's threads, in thread 0.
__device__ float block_sum(float value) {
  __shared__ float warp_totals[kThreads / 32];
  unsigned lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
  value = warp_sum(value);
  if (lane == 0) warp_totals[warp] = value;
  __syncthreads();  // warp 0 reads what lane 0 of every warp wrote
  if (warp != 0) return 0.0f;
  value = lane < blockDim.x / warpSize ? warp_totals[lane] : 0.0f;
  return warp_sum(value);
}

// output[blockIdx.x] = scale * the sum of the input elements this block visits.
__global__ void sum_kernel(const float* input, std::int64_t count, float scale, float* output) {
  float value = 0.0f;
  std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = global_thread_index(); i < count; i += stride) value += input[i];
  value = block_sum(value);
  if (threadIdx.x == 0) output[blockIdx.x] = scale * value;
}

void sum_scaled(const float* input, std::int64_t count, float scale, float* result, cudaStream_t stream) {
  unsigned blocks = std::max(1u, std::min(blocks_for(count, kThreads * kMinElementsPerThread), kMaxBlocks));
  // Freed right after queueing: the caching allocator hands the block out again only
  // to work queued later on the stream.
  auto* partial = static_cast<float*>(device_malloc(blocks * sizeof(float)));
  launch(sum_kernel, {blocks, kThreads, 0, stream}, input, count, 1.0f, partial);
  launch(sum_kernel, {1, kThreads, 0, stream}, static_cast<const float*>(partial), std::int64_t{blocks}, scale, result);
  device_free(partial, blocks * sizeof(float));
}

}  // namespace

void sum(const float* input, std::int64_t count, float* result, cudaStream_t stream) {
  sum_scaled(input, count, 1.0f, result, stream);
}

void mean(const float* input, std::int64_t count, float* result, cudaStream_t stream) {
  sum_scaled(input, count, 1.0f / static_cast<float>(count), result, stream);
}

}  // namespace minidl::cuda
