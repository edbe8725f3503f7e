/// \file
/// conv2d: 2-D convolution (cross-correlation, as torch.nn.Conv2d), forward and backward.
///
///   input  (N, C_in, H, W)        weight (C_out, C_in, KH, KW)      bias (C_out) or undefined
///   output (N, C_out, OH, OW)     OH = (H + 2*padding - KH) / stride + 1, likewise OW
///
///   output[n, co, oh, ow] = bias[co]
///       + sum_{ci, kh, kw} input[n, ci, oh*stride - padding + kh, ow*stride - padding + kw] * weight[co, ci, kh, kw]
/// (input outside the image reads as 0: zero padding).
///
/// Tensors are f32 (or f64 on the CPU), all on one device. Outputs are
/// preallocated by the caller; gradients of the input are overwritten, gradients
/// of parameters are accumulated (+=), as PyTorch's .grad is.
#pragma once

#include "minidl/core/tensor.h"
#include "minidl/kernels/cpu/conv2d.h"
#include "minidl/kernels/epilogue.h"
#include "minidl/kernels/workspace.h"

namespace minidl::ops {

/// The convolution's stride and zero padding, the same along H and W.
struct Conv2dParams {
  int stride = 1;   ///< step between windows
  int padding = 0;  ///< zeros added on every side of the image
};

/// Shape of the output for these input and weight shapes; throws Error on a mismatch.
Shape conv2d_output_shape(const Shape& input, const Shape& weight, Conv2dParams params);

/// output = the convolution above, then activation (kernels/epilogue.h); output has
/// conv2d_output_shape() and is overwritten. workspace: see kernels/workspace.h.
void conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, Tensor& output,
                    Conv2dParams params, Activation activation = Activation::none, Workspace* workspace = nullptr);

/// grad_input = d loss / d input (skipped when grad_input is undefined);
/// grad_weight += d loss / d weight; grad_bias += d loss / d bias (skipped when undefined).
void conv2d_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight, Tensor& grad_input,
                     Tensor& grad_weight, Tensor& grad_bias, Conv2dParams params, Workspace* workspace = nullptr);

/// What an implementation's forward receives: tensors that conv2d_forward validated
/// (bias may be undefined), their sizes, the fused activation (Activation::relu only
/// for an implementation that fuses_relu) and the call site's workspace.
struct Conv2dForwardArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& input;
  const Tensor& weight;
  const Tensor& bias;
  Tensor& output;
  const cpu::Conv2dShape& shape;
  Activation activation;
  Workspace& workspace;
  ///@}
};

/// What an implementation's backward receives (grad_input and grad_bias may be undefined).
struct Conv2dBackwardArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& grad_output;
  const Tensor& input;
  const Tensor& weight;
  Tensor& grad_input;
  Tensor& grad_weight;
  Tensor& grad_bias;
  const cpu::Conv2dShape& shape;
  Workspace& workspace;
  ///@}
};

/// The entry points of one conv2d implementation (kernels/registry.h).
struct Conv2dFunctions {
  ///@{
  /// The entry points, each called with the validated arguments of one call.
  void (*forward)(const Conv2dForwardArgs& args);
  void (*backward)(const Conv2dBackwardArgs& args);
  ///@}
};

}  // namespace minidl::ops
