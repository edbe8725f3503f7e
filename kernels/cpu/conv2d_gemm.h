// conv2d on the CPU fast path: im2col + the blocked GEMM of kernels/cpu/gemm.h,
// over all threads, f32. Same contract as the reference (kernels/cpu/conv2d.h),
// which it is tested against.
//
// im2col lays the receptive fields of one image out as a matrix col with
// K = C_in*KH*KW rows and P = OH*OW columns:
//   col[(ci*KH + kh)*KW + kw, oh*OW + ow] = input[n, ci, oh*stride - padding + kh, ow*stride - padding + kw]
// (0 in the padding). The weight, read as a (C_out x K) matrix, then turns a
// convolution into matrix products:
//   output[n]     (C_out x P) = act(weight · col[n] + bias)   (bias and act in the GEMM's epilogue)
//   grad_col[n]   (K x P)     = weightᵀ · grad_output[n]      then col2im adds it into grad_input[n]
//   grad_weight (C_out x K)  += sum_n grad_output[n] · col[n]ᵀ
// Images are spread over the threads (forward, grad_input); for grad_weight each
// thread owns a range of K's rows and sums over all images itself, so results do
// not depend on the thread count.
#pragma once

#include "minidl/kernels/cpu/conv2d.h"
#include "minidl/kernels/epilogue.h"

namespace minidl::cpu {

// activation relu: the following ReLU applied as each output is stored (kernels/epilogue.h).
void conv2d_forward_gemm(const float* input, const float* weight, const float* bias, float* output,
                         const Conv2dShape& shape, ops::Activation activation = ops::Activation::none);

void conv2d_backward_gemm(const float* grad_output, const float* input, const float* weight, float* grad_input,
                          float* grad_weight, float* grad_bias, const Conv2dShape& shape);

}  // namespace minidl::cpu
