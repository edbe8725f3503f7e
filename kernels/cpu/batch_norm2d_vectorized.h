// batch_norm2d on the CPU fast path: f32, the channels spread over all threads.
// Same contract as the reference (kernels/cpu/batch_norm2d.h), which it is tested
// against.
//
// The reference accumulates every sum in double, one value after another: a chain of
// dependent additions that the compiler cannot vectorize. Here the values of one
// (H, W) plane are summed in float into kLanes independent partial sums, which the
// compiler keeps in vector registers, and the N plane sums of a channel are added in
// double. The elementwise passes fold the per-channel constants into one
// multiply-add per value. A channel is computed by one thread, in a fixed order, so
// the results do not depend on the thread count.
#pragma once

#include <cstdint>

#include "minidl/kernels/batch_norm2d.h"

namespace minidl::cpu {

void batch_norm2d_forward_train_vectorized(const float* input, const float* weight, const float* bias,
                                           float* running_mean, float* running_var, float* output, float* save_mean,
                                           float* save_invstd, std::int64_t N, std::int64_t C, std::int64_t HW,
                                           ops::BatchNormParams params);

void batch_norm2d_forward_eval_vectorized(const float* input, const float* weight, const float* bias,
                                          const float* running_mean, const float* running_var, float* output,
                                          std::int64_t N, std::int64_t C, std::int64_t HW,
                                          ops::BatchNormParams params);

void batch_norm2d_backward_train_vectorized(const float* grad_output, const float* input, const float* weight,
                                            const float* save_mean, const float* save_invstd, float* grad_input,
                                            float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C,
                                            std::int64_t HW);

void batch_norm2d_backward_eval_vectorized(const float* grad_output, const float* input, const float* weight,
                                           const float* running_mean, const float* running_var, float* grad_input,
                                           float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C,
                                           std::int64_t HW, ops::BatchNormParams params);

}  // namespace minidl::cpu
