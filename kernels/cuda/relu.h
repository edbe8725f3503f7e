// relu on the GPU: the CUDA kernels behind ops::relu_forward/relu_backward (kernels/relu.h),
// on float arrays of count elements in device memory, with the CPU reference's
// formulas (kernels/cpu/relu.h). Each call queues one kernel on stream.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"

namespace minidl::cuda {

// output[i] = max(input[i], 0), NaN passing through; output may be input.
void relu_forward(const float* input, float* output, std::int64_t count, cudaStream_t stream = current_stream());
// grad_input[i] = output[i] > 0 ? grad_output[i] : 0; grad_input may be grad_output.
void relu_backward(const float* grad_output, const float* output, float* grad_input, std::int64_t count,
                   cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
