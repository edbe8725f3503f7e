// linear on the CPU fast path: the blocked GEMM of kernels/cpu/gemm.h over all
// threads, f32. Same contract as the reference (kernels/cpu/linear.h):
//   output       = input · weightᵀ + bias
//   grad_input   = grad_output · weight                (overwritten; skipped when nullptr)
//   grad_weight += grad_outputᵀ · input
//   grad_bias   += column sums of grad_output          (skipped when nullptr)
#pragma once

#include <cstdint>

namespace minidl::cpu {

void linear_forward_gemm(const float* input, const float* weight, const float* bias, float* output, std::int64_t N,
                         std::int64_t in_features, std::int64_t out_features);

void linear_backward_gemm(const float* grad_output, const float* input, const float* weight, float* grad_input,
                          float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t in_features,
                          std::int64_t out_features);

}  // namespace minidl::cpu
