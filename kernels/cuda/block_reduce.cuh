// Sums over a warp and over a block, for kernels whose block (or warp) works on one
// group of values: a channel, a row. Include only from .cu files (it uses
// kernels/cuda/kernel_support.cuh).
//
// warp_sum: the 32 lanes add their values in 5 butterfly steps (__shfl_xor_sync,
// offsets 16, 8, 4, 2, 1); every lane ends with the total, in the same bits, since
// each step adds the same two partial sums in every lane.
// block_sum: each warp adds its values (warp_sum); lane 0 of warp w writes the
// warp's total to shared warp_totals[w]; barrier; every warp adds warp_totals[0 ..
// warps) the same way, so every thread gets the block's total; a second barrier
// keeps the next block_sum from writing warp_totals before every warp has read them.
// The order of the additions depends only on the block size: the same values give
// the same bits on every run. blockDim.x must be a multiple of 32 (full warps), all
// threads of the block must call block_sum, and blockDim.y = blockDim.z = 1.
#pragma once

#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

constexpr unsigned kFullWarpMask = 0xffffffffu;

// The sum of value over the 32 lanes of the warp, in every lane.
template <typename T>
__device__ T warp_sum(T value) {
  for (int offset = warpSize / 2; offset > 0; offset /= 2) value += __shfl_xor_sync(kFullWarpMask, value, offset);
  return value;
}

// The sum of value over the threads of the block, in every thread.
template <typename T>
__device__ T block_sum(T value) {
  __shared__ T warp_totals[1024 / 32];
  const unsigned lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize, warps = blockDim.x / warpSize;
  value = warp_sum(value);
  if (lane == 0) warp_totals[warp] = value;
  __syncthreads();  // every warp's total is in warp_totals
  T total = warp_sum(lane < warps ? warp_totals[lane] : T(0));
  __syncthreads();  // every warp has read warp_totals: a next block_sum may write them
  return total;
}

}  // namespace minidl::cuda
