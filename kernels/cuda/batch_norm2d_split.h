// batch_norm2d's `split` implementation on the GPU: each channel's values are split
// across blocks (channel_chunks.cuh), where the rung below (kernels/cuda/batch_norm2d.h)
// gives each channel one block: 32 blocks on a GPU of 132 multiprocessors. Formulas as
// the CPU reference's (kernels/cpu/batch_norm2d.h), the ReLU that follows optionally
// fused into the normalisation's store (kernels/epilogue.h). Float arrays in device
// memory, 32-bit indices; every sum in a fixed order, no atomics.
//
// input, output, grad_output and grad_input are (N, C, H, W), passed as N, C and HW.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/epilogue.h"

namespace minidl::cuda {

// Floats of scratch device memory a call at these sizes needs (every function below).
std::int64_t batch_norm2d_split_scratch(std::int64_t N, std::int64_t C, std::int64_t HW);

// Training forward, in two launches: each block's chunk statistics (count, mean and the
// sum of squared deviations from that mean), then each block combines its channel's
// chunks (in order), normalises its chunk, and block 0 of the channel updates the
// running statistics and writes save_mean and save_invstd.
void batch_norm2d_split_forward_train(const float* input, const float* weight, const float* bias,
                                      float* running_mean, float* running_var, float* output, float* save_mean,
                                      float* save_invstd, std::int64_t N, std::int64_t C, std::int64_t HW, float eps,
                                      float momentum, ops::Activation activation, float* scratch,
                                      cudaStream_t stream);

// Evaluation forward: one launch, no sums.
void batch_norm2d_split_forward_eval(const float* input, const float* weight, const float* bias,
                                     const float* running_mean, const float* running_var, float* output,
                                     std::int64_t N, std::int64_t C, std::int64_t HW, float eps,
                                     ops::Activation activation, cudaStream_t stream);

// Backward of the training forward, in two launches: each block's chunk sums of dy and
// dy * x_hat, then each block combines its channel's and writes its chunk of grad_input;
// block 0 of the channel adds to grad_weight and grad_bias.
void batch_norm2d_split_backward_train(const float* grad_output, const float* input, const float* weight,
                                       const float* save_mean, const float* save_invstd, float* grad_input,
                                       float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C,
                                       std::int64_t HW, float* scratch, cudaStream_t stream);

// Backward of the evaluation forward, in two launches: grad_input and each block's chunk
// sums, then a thread per channel adds its chunks' sums to grad_weight and grad_bias.
void batch_norm2d_split_backward_eval(const float* grad_output, const float* input, const float* weight,
                                      const float* running_mean, const float* running_var, float* grad_input,
                                      float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C,
                                      std::int64_t HW, float eps, float* scratch, cudaStream_t stream);

}  // namespace minidl::cuda
