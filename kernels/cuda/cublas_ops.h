// linear and conv2d through cuBLAS's single-precision GEMM: the `cublas`
// implementation of ops::linear_* and ops::conv2d_* on CUDA (kernels/implementation.h),
// an alternative to minidl's hand-written kernels and an oracle for them in GPU tests.
//
// Same contracts, shapes and argument order as the CPU reference (kernels/cpu/linear.h,
// kernels/cpu/conv2d.h), on f32 arrays in device memory: outputs and grad_input are
// overwritten, grad_weight and grad_bias are accumulated (+=); bias, grad_input and
// grad_bias may be nullptr (skipped).
//
// The math (row-major tensors; cuBLAS is column-major, so each product is written as
// its transpose, which is the same memory):
//   linear   output      = input (N, in) @ weight^T (in, out) + bias
//            grad_input  = grad_output (N, out) @ weight (out, in)
//            grad_weight += grad_output^T (out, N) @ input (N, in)
//   conv2d   per image n, with columns[n] = im2col(input[n]) (K = C_in*KH*KW, P = OH*OW),
//            kernels/cuda/im2col.h:
//            output[n]   = weight (C_out, K) @ columns[n] (K, P) + bias      (one batched GEMM)
//            grad_weight += sum_n grad_output[n] (C_out, P) @ columns[n]^T   (a batched GEMM of
//                           per-image products, then their sum as a GEMM with a vector of ones)
//            grad_input  = col2im(weight^T (K, C_out) @ grad_output[n])     (one batched GEMM)
//   bias     output[n, c, p] += bias[c]; grad_bias[c] += sum over n, p of grad_output[n, c, p]
//            (two small kernels, kernels/cuda/bias.h).
//
// The cuBLAS handle is the process's (cuda::cublas_handle(), core/cuda_api.h): created on
// first use, in CUBLAS_DEFAULT_MATH, which for float never uses TF32 tensor cores:
// results are true fp32 products, comparable with the hand-written kernels. Each call
// sets the handle's stream and queues its work there; temporary buffers (columns,
// partial sums) come from the caching allocator and are stream-ordered.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/cpu/conv2d.h"

namespace minidl::cublas {

// input (N, in_features), weight (out_features, in_features), bias (out_features)
// -> output (N, out_features).
void linear_forward(const float* input, const float* weight, const float* bias, float* output, std::int64_t N,
                    std::int64_t in_features, std::int64_t out_features, cudaStream_t stream = cuda::current_stream());

void linear_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                     float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t in_features,
                     std::int64_t out_features, cudaStream_t stream = cuda::current_stream());

// input (N, C_in, H, W), weight (C_out, C_in, KH, KW), bias (C_out) -> output (N, C_out, OH, OW).
void conv2d_forward(const float* input, const float* weight, const float* bias, float* output,
                    const cpu::Conv2dShape& shape, cudaStream_t stream = cuda::current_stream());

void conv2d_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                     float* grad_weight, float* grad_bias, const cpu::Conv2dShape& shape,
                     cudaStream_t stream = cuda::current_stream());

}  // namespace minidl::cublas
