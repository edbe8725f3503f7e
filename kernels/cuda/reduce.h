// Sum and mean of a float array on the GPU, leaving the result in device memory
// (so a metric can stay on the device until the end of an epoch).
//
// Deterministic: the same input gives the same bits on every run (no atomics).
// Partial sums are in float, in a tree, so the error grows like log(count)
// rather than count. The caller provides the partial sums' memory, so a call
// allocates nothing.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"

namespace minidl::cuda {

// The number of floats of device memory that partials must hold for a sum of count values.
std::int64_t sum_partials_size(std::int64_t count);

// result[0] = input[0] + ... + input[count - 1]  (0 when count == 0).
void sum(const float* input, std::int64_t count, float* result, float* partials,
         cudaStream_t stream = current_stream());
// result[0] = sum / count  (NaN when count == 0, as torch.mean of an empty tensor).
void mean(const float* input, std::int64_t count, float* result, float* partials,
          cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
