// AvgPool2d on the GPU (avg_pool2d_kernels.cu), on float arrays in device memory, with
// the CPU reference's formulas (avg_pool2d.h). Each call queues one kernel on stream.
// Only sources of the CUDA flavours include it; nvcc compiles it, so it includes no
// header that brings fmt (as core/tensor.h does).
#pragma once

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/cpu/max_pool2d.h"

namespace minidl::exercises::cuda {

// input (N, C, H, W) -> output (N, C, OH, OW), overwritten.
void avg_pool2d_forward(const float* input, float* output, const minidl::cpu::MaxPool2dShape& shape,
                        cudaStream_t stream = minidl::cuda::current_stream());

// grad_output (N, C, OH, OW) -> grad_input (N, C, H, W), overwritten.
void avg_pool2d_backward(const float* grad_output, float* grad_input, const minidl::cpu::MaxPool2dShape& shape,
                         cudaStream_t stream = minidl::cuda::current_stream());

}  // namespace minidl::exercises::cuda
