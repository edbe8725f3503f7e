/// \file
/// linear: fully connected layer, as torch.nn.Linear.
///
///   input (N, in)   weight (out, in)   bias (out) or undefined   output (N, out)
///   output = input @ weight^T + bias
/// Backward:
///   grad_input   = grad_output @ weight          (overwritten; skipped when undefined)
///   grad_weight += grad_output^T @ input
///   grad_bias   += sum over n of grad_output     (skipped when undefined)
#pragma once

#include "minidl/core/tensor.h"

namespace minidl::ops {

/// output = input @ weight^T + bias (bias may be undefined); output is overwritten.
void linear_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, Tensor& output);

/// The backward above: grad_input overwritten, grad_weight and grad_bias accumulated.
void linear_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight, Tensor& grad_input,
                     Tensor& grad_weight, Tensor& grad_bias);

}  // namespace minidl::ops
