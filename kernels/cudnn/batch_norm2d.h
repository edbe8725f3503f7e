// batch_norm2d through cuDNN: the `cudnn` implementation of ops::batch_norm2d_* on CUDA
// (kernels/implementation.h), an alternative to minidl's hand-written kernels and an
// oracle for them in GPU tests. Only in real CUDA builds with cuDNN (MINIDL_WITH_CUDNN).
//
// Same contract and argument order as the CPU reference (kernels/cpu/batch_norm2d.h),
// with PyTorch's semantics (formulas in kernels/batch_norm2d.h), on f32 arrays in
// device memory; (N, C, H, W) is passed as N, C and HW = H*W:
//   forward_train   cudnnBatchNormalizationForwardTraining, spatial mode (statistics
//                   per channel over N*H*W), exponentialAverageFactor = momentum: cuDNN
//                   updates running_var with the unbiased variance, as PyTorch does.
//                   save_mean and save_invstd get cuDNN's saved mean and 1/sqrt(var + eps).
//   forward_eval    cudnnBatchNormalizationForwardInference.
//   backward_train  cudnnBatchNormalizationBackward from the saved statistics:
//                   grad_input overwritten, grad_weight and grad_bias accumulated (+=).
// cuDNN has no backward of the evaluation forward; that one stays with minidl's kernels.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/batch_norm2d.h"

namespace minidl::cudnn {

void batch_norm2d_forward_train(const float* input, const float* weight, const float* bias, float* running_mean,
                                float* running_var, float* output, float* save_mean, float* save_invstd,
                                std::int64_t N, std::int64_t C, std::int64_t HW, ops::BatchNormParams params,
                                cudaStream_t stream = cuda::current_stream());

void batch_norm2d_forward_eval(const float* input, const float* weight, const float* bias, const float* running_mean,
                               const float* running_var, float* output, std::int64_t N, std::int64_t C,
                               std::int64_t HW, ops::BatchNormParams params,
                               cudaStream_t stream = cuda::current_stream());

void batch_norm2d_backward_train(const float* grad_output, const float* input, const float* weight,
                                 const float* save_mean, const float* save_invstd, float* grad_input,
                                 float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C,
                                 std::int64_t HW, cudaStream_t stream = cuda::current_stream());

}  // namespace minidl::cudnn
