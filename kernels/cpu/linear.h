// CPU reference of linear: plain loops over raw pointers, T = float or double.
// The op's contract is kernels/linear.h; the Tensor-level functions there
// validate every argument before calling these.
//
// input (N, in_features), weight (out_features, in_features), bias (out_features)
// or nullptr, output and grad_output (N, out_features).
#pragma once

#include <cstdint>

namespace minidl::cpu {

template <typename T>
void linear_forward(const T* input, const T* weight, const T* bias, T* output, std::int64_t N,
                    std::int64_t in_features, std::int64_t out_features);

// grad_input and grad_bias may be nullptr (skipped).
template <typename T>
void linear_backward(const T* grad_output, const T* input, const T* weight, T* grad_input, T* grad_weight,
                     T* grad_bias, std::int64_t N, std::int64_t in_features, std::int64_t out_features);

}  // namespace minidl::cpu
