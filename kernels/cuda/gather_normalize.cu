// gather_normalize: one thread per output element. Thread i = blockIdx.x * blockDim.x
// + threadIdx.x computes output element i = (b, c, pixel) of the (batch, C, H * W)
// output; threads past the end return at once. No shared memory, no barriers.
#include "minidl/kernels/cuda/gather_normalize.h"

#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;

__global__ void gather_normalize_kernel(const std::uint8_t* images, const std::int64_t* indices, std::int64_t count,
                                        int channels, std::int64_t pixels_per_channel, const float* mean,
                                        const float* stddev, float* output) {
  std::int64_t i = global_thread_index();
  if (i >= count) return;
  std::int64_t image_size = channels * pixels_per_channel;
  std::int64_t b = i / image_size, within_image = i % image_size;
  int c = static_cast<int>(within_image / pixels_per_channel);
  float pixel = images[indices[b] * image_size + within_image];
  // doc:data-normalize
  output[i] = (pixel / 255.0f - mean[c]) / stddev[c];
}

}  // namespace

void gather_normalize(const std::uint8_t* images, const std::int64_t* indices, std::int64_t batch, int channels,
                      std::int64_t pixels_per_channel, const float* mean, const float* stddev, float* output,
                      cudaStream_t stream) {
  std::int64_t count = batch * channels * pixels_per_channel;
  if (count == 0) return;
  launch(gather_normalize_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, images, indices, count, channels,
         pixels_per_channel, mean, stddev, output);
}

}  // namespace minidl::cuda
