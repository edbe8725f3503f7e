// CPU reference of batch_norm2d: plain loops over raw pointers, T = float or double.
// The op's contract is kernels/batch_norm2d.h; the Tensor-level functions there
// validate every argument before calling these.
//
// input, output, grad_output and grad_input are (N, C, H, W), passed as N, C and
// HW = H*W; every per-channel array (weight, bias, running and saved statistics,
// their gradients) is (C).
#pragma once

#include <cstdint>

#include "minidl/kernels/batch_norm2d.h"

namespace minidl::cpu {

template <typename T>
void batch_norm2d_forward_train(const T* input, const T* weight, const T* bias, T* running_mean, T* running_var,
                                T* output, T* save_mean, T* save_invstd, std::int64_t N, std::int64_t C,
                                std::int64_t HW, ops::BatchNormParams params);

template <typename T>
void batch_norm2d_forward_eval(const T* input, const T* weight, const T* bias, const T* running_mean,
                               const T* running_var, T* output, std::int64_t N, std::int64_t C, std::int64_t HW,
                               ops::BatchNormParams params);

template <typename T>
void batch_norm2d_backward_train(const T* grad_output, const T* input, const T* weight, const T* save_mean,
                                 const T* save_invstd, T* grad_input, T* grad_weight, T* grad_bias, std::int64_t N,
                                 std::int64_t C, std::int64_t HW);

template <typename T>
void batch_norm2d_backward_eval(const T* grad_output, const T* input, const T* weight, const T* running_mean,
                                const T* running_var, T* grad_input, T* grad_weight, T* grad_bias, std::int64_t N,
                                std::int64_t C, std::int64_t HW, ops::BatchNormParams params);

}  // namespace minidl::cpu
