/// \file
/// relu: output = max(input, 0), elementwise, any shape.
/// Backward: grad_input = 0 where output <= 0, else grad_output (so the gradient at 0 is
/// 0 and a NaN output passes the gradient, as PyTorch's threshold_backward).
#pragma once

#include "minidl/core/tensor.h"

namespace minidl::ops {

/// output may be input itself (in place).
void relu_forward(const Tensor& input, Tensor& output);
/// grad_input may be grad_output itself (in place).
void relu_backward(const Tensor& grad_output, const Tensor& output, Tensor& grad_input);

/// What an implementation's forward receives: validated tensors of one shape.
struct ReluForwardArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& input;
  Tensor& output;
  ///@}
};

/// What an implementation's backward receives.
struct ReluBackwardArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& grad_output;
  const Tensor& output;
  Tensor& grad_input;
  ///@}
};

/// The entry points of one relu implementation (kernels/registry.h).
struct ReluFunctions {
  ///@{
  /// The entry points, each called with the validated arguments of one call.
  void (*forward)(const ReluForwardArgs& args);
  void (*backward)(const ReluBackwardArgs& args);
  ///@}
};

}  // namespace minidl::ops
