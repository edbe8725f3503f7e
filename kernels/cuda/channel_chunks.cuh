// Per-channel work split across blocks, for sums over a channel of an (N, C, inner) array:
// a convolution's bias gradient, batch norm's statistics and gradient sums. Include only
// from .cu files.
//
// One block per channel is 32 blocks for the study's 32 channels, on a GPU of 132
// multiprocessors; at batch 100, conv1's channel holds 102,400 values. So the N images of
// each channel are split into chunks of whole images: block (s, c) of the grid (chunks, C)
// works on channel c in chunk s, and writes what it found (a partial sum) for a second
// step to combine in the order s = 0, 1, ...: deterministic, no atomics.
#pragma once

#include <algorithm>
#include <cstdint>

#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

// How the images of every channel are split: chunks of chunk_images images (the last
// chunk may have fewer).
struct ChannelChunks {
  int chunks = 1;
  int chunk_images = 1;
};

// Enough chunks for two blocks per multiprocessor when the array has at least 2^16
// values (an array smaller than that is over in a few microseconds either way), never
// more chunks than images.
inline ChannelChunks plan_channel_chunks(int N, int C, int inner) {
  ChannelChunks plan;
  const std::int64_t target = 2 * static_cast<std::int64_t>(multiprocessor_count());
  int wanted = 1;
  if (std::int64_t{N} * C * inner >= (std::int64_t{1} << 16) && C > 0)
    wanted = static_cast<int>(std::min<std::int64_t>(N, (target + C - 1) / C));
  plan.chunk_images = std::max(1, (N + wanted - 1) / wanted);
  plan.chunks = std::max(1, (N + plan.chunk_images - 1) / plan.chunk_images);
  return plan;
}

// Calls visit(e) for the elements e of channel c in images [image_begin, image_end) of an
// (N, C, inner) array that thread threadIdx.x of the block visits: the chunk's values are
// numbered m = (n - image_begin) * inner + i, and thread t takes m = t, t + blockDim.x, ...
// So a warp reads neighbouring values of a plane. The image and the position in the plane
// advance by additions: one division per thread, none per value.
template <typename Visit>
__device__ void for_each_in_channel_chunk(int C, int inner, int c, int image_begin, int image_end, Visit visit) {
  const int threads = static_cast<int>(blockDim.x), thread = static_cast<int>(threadIdx.x);
  const int count = (image_end - image_begin) * inner;
  int n = image_begin + thread / inner, i = thread % inner;
  const int images_per_step = threads / inner, values_per_step = threads % inner;
  for (int m = thread; m < count; m += threads) {
    visit((n * C + c) * inner + i);
    n += images_per_step;
    i += values_per_step;
    if (i >= inner) {
      i -= inner;
      ++n;
    }
  }
}

// The images of chunk s: [first, end).
struct ImageRange {
  int first, end;
};
__device__ inline ImageRange chunk_images(const ChannelChunks& plan, int N, int s) {
  const int first = s * plan.chunk_images;
  return {first, first + plan.chunk_images < N ? first + plan.chunk_images : N};
}

}  // namespace minidl::cuda
