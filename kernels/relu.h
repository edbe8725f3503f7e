/// \file
/// relu: output = max(input, 0), elementwise, any shape.
/// Backward: grad_input = grad_output where output > 0, else 0 (so the gradient at 0 is 0, as PyTorch).
#pragma once

#include "minidl/core/tensor.h"

namespace minidl::ops {

/// output may be input itself (in place).
void relu_forward(const Tensor& input, Tensor& output);
/// grad_input may be grad_output itself (in place).
void relu_backward(const Tensor& grad_output, const Tensor& output, Tensor& grad_input);

}  // namespace minidl::ops
