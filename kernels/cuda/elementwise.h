// Elementwise CUDA kernels on float arrays in device memory: fill, scale, add.
//
// count is the number of elements; count == 0 launches nothing. Each call queues
// one kernel on stream (the default stream when nullptr) and returns.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"

namespace minidl::cuda {

// data[i] = value
void fill(float* data, float value, std::int64_t count, cudaStream_t stream = current_stream());
// data[i] *= factor
void scale(float* data, float factor, std::int64_t count, cudaStream_t stream = current_stream());
// output[i] = a[i] + alpha * b[i], as torch.add(a, b, alpha=alpha); output may be a or b.
void add(const float* a, const float* b, float alpha, float* output, std::int64_t count,
         cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
