// linear's `blocked` implementation on the GPU: the product and both gradients on the
// register-blocked, split-depth GEMM of gemm_blocked.cuh, bias and ReLU applied as the
// GEMM stores (kernels/epilogue.h). The rung below it is the 16x16 tiled GEMM of
// kernels/cuda/linear.h. Float arrays in device memory, 32-bit indices.
//
//   input (N, in_features), weight (out_features, in_features), bias (out_features) or nullptr
//   output = activation(input @ weight^T + bias)                       (N, out_features)
//   grad_input = grad_output @ weight                                   (N, in_features)
//   grad_weight += grad_output^T @ input,  grad_bias += sum over rows of grad_output
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/epilogue.h"

namespace minidl::cuda {

// Floats of scratch device memory the forward and the backward need for these sizes.
std::int64_t linear_blocked_forward_scratch(std::int64_t N, std::int64_t in_features, std::int64_t out_features);
std::int64_t linear_blocked_backward_scratch(std::int64_t N, std::int64_t in_features, std::int64_t out_features,
                                             bool grad_input);

void linear_blocked_forward(const float* input, const float* weight, const float* bias, float* output, std::int64_t N,
                            std::int64_t in_features, std::int64_t out_features, ops::Activation activation,
                            float* scratch, cudaStream_t stream);

// grad_input overwritten (skipped when nullptr), grad_weight and grad_bias (may be nullptr) accumulated.
void linear_blocked_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                             float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t in_features,
                             std::int64_t out_features, float* scratch, cudaStream_t stream);

}  // namespace minidl::cuda
