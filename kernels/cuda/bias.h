// Bias of conv2d and linear on the GPU, for data laid out (N, C, inner): inner = OH*OW
// for conv2d's (N, C_out, OH, OW), 1 for linear's (N, out_features). Used by the
// cuBLAS implementation (kernels/cuda/cublas_ops.h), whose GEMMs leave the bias out.
// Each call queues one kernel on stream; shapes with no element launch nothing.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"

namespace minidl::cuda {

// data[n, c, i] += bias[c]
void add_bias(float* data, const float* bias, std::int64_t N, std::int64_t C, std::int64_t inner,
              cudaStream_t stream = current_stream());

// grad_bias[c] += sum over n and i of grad_output[n, c, i]  (deterministic, no atomics)
void accumulate_bias_grad(const float* grad_output, float* grad_bias, std::int64_t N, std::int64_t C,
                          std::int64_t inner, cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
