// gather_normalize: a batch of uint8 images picked by index from a dataset in device
// memory, as normalized float NCHW, the CUDA side of the data loader:
//   output[b, c, h, w] = (images[indices[b], c, h, w] / 255 - mean[c]) / stddev[c]
// images (N, C, H, W) uint8, indices (batch) int64 in [0, N), mean and stddev (C) float,
// output (batch, C, H, W) float; all in device memory. The indices are not checked.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"

namespace minidl::cuda {

void gather_normalize(const std::uint8_t* images, const std::int64_t* indices, std::int64_t batch, int channels,
                      std::int64_t pixels_per_channel, const float* mean, const float* stddev, float* output,
                      cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
