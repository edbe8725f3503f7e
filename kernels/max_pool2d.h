/// \file
/// max_pool2d: maximum over kernel_size x kernel_size windows (no padding), as torch.nn.MaxPool2d.
///
///   input (N, C, H, W) -> output (N, C, OH, OW), OH = (H - kernel_size) / stride + 1, likewise OW
///   output[n, c, oh, ow] = max_{kh, kw} input[n, c, oh*stride + kh, ow*stride + kw]
///   indices[n, c, oh, ow] = h * W + w of that maximum within its (H, W) plane (i32),
///                           the first one in row-major window order on ties; NaN wins.
/// Backward routes each output gradient to the input element it came from:
///   grad_input[n, c, indices[n, c, oh, ow]] += grad_output[n, c, oh, ow], grad_input zero elsewhere.
#pragma once

#include "minidl/core/tensor.h"
#include "minidl/kernels/cpu/max_pool2d.h"

namespace minidl::ops {

/// The pooling window's size and step, the same along H and W.
struct MaxPool2dParams {
  int kernel_size = 2;  ///< the window is kernel_size x kernel_size
  int stride = 2;       ///< step between windows
};

/// Shape of the output for this input shape; throws Error unless the input has 4
/// dimensions, kernel_size and stride are at least 1 and the window fits.
Shape max_pool2d_output_shape(const Shape& input, MaxPool2dParams params);

/// output and indices (i32) have the output shape.
void max_pool2d_forward(const Tensor& input, Tensor& output, Tensor& indices, MaxPool2dParams params);

/// grad_input (the input's shape) is overwritten. With after_relu, the pooled input was a
/// ReLU's output and the ReLU's backward is fused (kernels/epilogue.h): a gradient is routed
/// only from windows whose output (the forward's, given) is not <= 0, which is what the
/// ReLU's backward would keep; output may be undefined otherwise.
void max_pool2d_backward(const Tensor& grad_output, const Tensor& indices, Tensor& grad_input,
                         MaxPool2dParams params, bool after_relu = false, const Tensor& output = Tensor());

/// What an implementation's forward receives: validated tensors and their sizes.
struct MaxPool2dForwardArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& input;
  Tensor& output;
  Tensor& indices;
  const cpu::MaxPool2dShape& shape;
  ///@}
};

/// What an implementation's backward receives (output is defined when after_relu).
struct MaxPool2dBackwardArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& grad_output;
  const Tensor& indices;
  const Tensor& output;
  Tensor& grad_input;
  const cpu::MaxPool2dShape& shape;
  bool after_relu;
  ///@}
};

/// The entry points of one max_pool2d implementation (kernels/registry.h).
struct MaxPool2dFunctions {
  ///@{
  /// The entry points, each called with the validated arguments of one call.
  void (*forward)(const MaxPool2dForwardArgs& args);
  void (*backward)(const MaxPool2dBackwardArgs& args);
  ///@}
};

}  // namespace minidl::ops
