// LeakyReLU on the GPU: the kernels of leaky_relu.cu behind tutorial::leaky_relu_forward
// and leaky_relu_backward (leaky_relu.h), on float arrays of count elements in device
// memory, with the CPU reference's formulas. Each call queues one kernel on stream.
// Only sources of the CUDA flavours include it (core/cuda_api.h needs the CUDA headers
// or the emulator).
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"

namespace minidl::tutorial::cuda {

// output[i] = input[i] < 0 ? negative_slope * input[i] : input[i]; output may be input.
void leaky_relu_forward(const float* input, float* output, std::int64_t count, float negative_slope,
                        cudaStream_t stream = minidl::cuda::current_stream());
// grad_input[i] = input[i] > 0 ? grad_output[i] : negative_slope * grad_output[i]; grad_input may be grad_output.
void leaky_relu_backward(const float* grad_output, const float* input, float* grad_input, std::int64_t count,
                         float negative_slope, cudaStream_t stream = minidl::cuda::current_stream());

}  // namespace minidl::tutorial::cuda
