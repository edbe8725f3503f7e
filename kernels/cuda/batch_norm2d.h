// batch_norm2d on the GPU: the CUDA kernels behind ops::batch_norm2d_* (kernels/batch_norm2d.h),
// on float arrays in device memory, with the CPU reference's formulas
// (kernels/cpu/batch_norm2d.h). Sums run in float, in a fixed order: the same
// inputs give the same bits on every run. Each call queues one kernel on stream.
//
// input, output, grad_output and grad_input are (N, C, H, W), passed as N, C and
// HW = H*W; every per-channel array (weight, bias, running and saved statistics,
// their gradients) is (C).
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"

namespace minidl::cuda {

// Training forward: batch statistics normalise; running_mean and running_var are
// updated with momentum (running_var with the unbiased variance); save_mean and
// save_invstd are written for backward. N * HW > 1 is the caller's check.
void batch_norm2d_forward_train(const float* input, const float* weight, const float* bias, float* running_mean,
                                float* running_var, float* output, float* save_mean, float* save_invstd,
                                std::int64_t N, std::int64_t C, std::int64_t HW, float eps, float momentum,
                                cudaStream_t stream = current_stream());

// Evaluation forward: the running statistics normalise.
void batch_norm2d_forward_eval(const float* input, const float* weight, const float* bias, const float* running_mean,
                               const float* running_var, float* output, std::int64_t N, std::int64_t C,
                               std::int64_t HW, float eps, cudaStream_t stream = current_stream());

// Backward of the training forward: grad_input overwritten, grad_weight and grad_bias accumulated (+=).
void batch_norm2d_backward_train(const float* grad_output, const float* input, const float* weight,
                                 const float* save_mean, const float* save_invstd, float* grad_input,
                                 float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C,
                                 std::int64_t HW, cudaStream_t stream = current_stream());

// Backward of the evaluation forward: grad_input overwritten, grad_weight and grad_bias accumulated (+=).
void batch_norm2d_backward_eval(const float* grad_output, const float* input, const float* weight,
                                const float* running_mean, const float* running_var, float* grad_input,
                                float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C, std::int64_t HW,
                                float eps, cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
