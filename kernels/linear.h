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
#include "minidl/kernels/epilogue.h"
#include "minidl/kernels/workspace.h"

namespace minidl::ops {

/// output = input @ weight^T + bias (bias may be undefined), then activation
/// (kernels/epilogue.h); output is overwritten. workspace: see kernels/workspace.h.
void linear_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, Tensor& output,
                    Activation activation = Activation::none, Workspace* workspace = nullptr);

/// The backward above: grad_input overwritten (skipped when undefined), grad_weight and
/// grad_bias accumulated (grad_bias skipped when undefined).
void linear_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight, Tensor& grad_input,
                     Tensor& grad_weight, Tensor& grad_bias, Workspace* workspace = nullptr);

/// The sizes of one linear call.
struct LinearShape {
  std::int64_t batch;         ///< N
  std::int64_t in_features;   ///< of each input row
  std::int64_t out_features;  ///< of each output row
};

/// What an implementation's forward receives: validated tensors (bias may be undefined),
/// their sizes, the fused activation and the call site's workspace.
struct LinearForwardArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& input;
  const Tensor& weight;
  const Tensor& bias;
  Tensor& output;
  LinearShape shape;
  Activation activation;
  Workspace& workspace;
  ///@}
};

/// What an implementation's backward receives (grad_input and grad_bias may be undefined).
struct LinearBackwardArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& grad_output;
  const Tensor& input;
  const Tensor& weight;
  Tensor& grad_input;
  Tensor& grad_weight;
  Tensor& grad_bias;
  LinearShape shape;
  Workspace& workspace;
  ///@}
};

/// The entry points of one linear implementation (kernels/registry.h).
struct LinearFunctions {
  ///@{
  /// The entry points, each called with the validated arguments of one call.
  void (*forward)(const LinearForwardArgs& args);
  void (*backward)(const LinearBackwardArgs& args);
  ///@}
};

}  // namespace minidl::ops
