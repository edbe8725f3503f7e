// linear on the GPU: the CUDA kernels behind ops::linear_forward/backward (kernels/linear.h),
// on float arrays in device memory, with the CPU reference's formulas (kernels/cpu/linear.h).
// The products run on the tiled GEMM of kernels/cuda/tiled_gemm.cuh, one launch each.
//
// input (N, in_features), weight (out_features, in_features), bias (out_features)
// or nullptr, output and grad_output (N, out_features); row-major.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"

namespace minidl::cuda {

// output = input @ weight^T + bias (overwritten; no bias when bias is nullptr). One launch.
void linear_forward(const float* input, const float* weight, const float* bias, float* output, std::int64_t N,
                    std::int64_t in_features, std::int64_t out_features, cudaStream_t stream = current_stream());

// grad_input = grad_output @ weight (overwritten; skipped when nullptr),
// grad_weight += grad_output^T @ input, grad_bias += the column sums of grad_output
// (skipped when nullptr). Up to three launches.
void linear_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                     float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t in_features,
                     std::int64_t out_features, cudaStream_t stream = current_stream());

// The sizes in 32 bits, for both rungs' kernels, after checking that every matrix's elements
// fit; throws Error naming implementation ("linear (tiled)") and the size that does not.
struct LinearSizes {
  int N, in, out;
};
LinearSizes linear_sizes(std::int64_t N, std::int64_t in_features, std::int64_t out_features,
                         const char* implementation);

// grad_bias[o] += sum_n grad_output[n, o], a thread per column (the bias gradient of both rungs).
void linear_grad_bias(const float* grad_output, float* grad_bias, std::int64_t N, std::int64_t out_features,
                      cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
