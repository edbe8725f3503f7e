// relu, CPU reference: max(x, 0) elementwise, in plain loops over raw pointers.
//
// The oracle for every other relu implementation (see kernels/relu.h). The arrays
// hold count elements of any shape; T is float or double.
#pragma once

#include <cstdint>

namespace minidl::cpu {

// input -> output, overwritten; output may be input (in place).
template <typename T>
void relu_forward(const T* input, T* output, std::int64_t count);

// grad_output, output of the forward -> grad_input, overwritten; grad_input may be grad_output (in place).
template <typename T>
void relu_backward(const T* grad_output, const T* output, T* grad_input, std::int64_t count);

}  // namespace minidl::cpu
