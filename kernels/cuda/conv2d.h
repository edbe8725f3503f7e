// conv2d on the GPU: the CUDA kernels behind ops::conv2d_forward/backward (kernels/conv2d.h),
// on float arrays in device memory, with the CPU reference's formulas (kernels/cpu/conv2d.h).
// The convolution and its input and weight gradients are implicit GEMMs on the tiled
// GEMM of kernels/cuda/tiled_gemm.cuh: the im2col matrix is read on the fly, never stored.
#pragma once

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/cpu/conv2d.h"

namespace minidl::cuda {

// input (N, C_in, H, W), weight (C_out, C_in, KH, KW), bias (C_out) or nullptr
// -> output (N, C_out, OH, OW), overwritten. One launch.
void conv2d_forward(const float* input, const float* weight, const float* bias, float* output,
                    const cpu::Conv2dShape& shape, cudaStream_t stream = current_stream());

// grad_output (N, C_out, OH, OW), input and weight as in the forward ->
// grad_input (N, C_in, H, W) overwritten, skipped when nullptr;
// grad_weight (C_out, C_in, KH, KW) accumulated (+=);
// grad_bias (C_out) accumulated (+=), skipped when nullptr. Up to three launches.
void conv2d_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                     float* grad_weight, float* grad_bias, const cpu::Conv2dShape& shape,
                     cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
