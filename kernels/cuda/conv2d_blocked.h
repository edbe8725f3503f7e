// conv2d's `blocked` implementation on the GPU: the convolution and both its gradients
// as implicit GEMMs on the register-blocked, split-depth GEMM of gemm_blocked.cuh, the
// bias and ReLU applied as the GEMM stores (kernels/epilogue.h). The rung below it is the
// 16x16 tiled implicit GEMM of kernels/cuda/conv2d.h. Formulas as the CPU reference's
// (kernels/cpu/conv2d.h); float arrays in device memory; 32-bit indices (the caller
// checks that every tensor has fewer than 2^31 elements).
//
// The im2col matrix is read on the fly, through two index tables: element (k, pixel) of
// the matrix, for k = (ci, kh, kw) and the output pixel (oh, ow) of image n, is
//   input[n*C*H*W + k_offset[k] + pixel_offset[pixel]],   0 outside the image,
// with k_offset = ci*H*W + kh*W + kw and pixel_offset = (oh*stride - padding)*W +
// (ow*stride - padding): im2col is an outer sum of two offset vectors. The tables depend
// on the shape only; the caller builds them once (conv2d_blocked_tables) and keeps them
// in device memory.
#pragma once

#include <cstdint>
#include <vector>

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/cpu/conv2d.h"
#include "minidl/kernels/epilogue.h"

namespace minidl::cuda {

// The index tables of a shape (the batch size does not matter), to copy to device memory.
std::vector<std::int32_t> conv2d_blocked_tables(const cpu::Conv2dShape& shape);

// Floats of scratch device memory the forward and the backward need at this shape.
std::int64_t conv2d_blocked_forward_scratch(const cpu::Conv2dShape& shape);
std::int64_t conv2d_blocked_backward_scratch(const cpu::Conv2dShape& shape, bool grad_input);

// output = activation(conv2d(input, weight) + bias); bias may be nullptr. One launch, or
// two when the depth is split.
void conv2d_blocked_forward(const float* input, const float* weight, const float* bias, float* output,
                            const cpu::Conv2dShape& shape, ops::Activation activation, const std::int32_t* tables,
                            float* scratch, cudaStream_t stream);

// grad_input overwritten (skipped when nullptr), grad_weight and grad_bias (may be nullptr)
// accumulated (+=). Up to six launches: each of the two GEMMs and the bias sum in two steps.
void conv2d_blocked_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                             float* grad_weight, float* grad_bias, const cpu::Conv2dShape& shape,
                             const std::int32_t* tables, float* scratch, cudaStream_t stream);

}  // namespace minidl::cuda
