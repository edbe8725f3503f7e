// relu at the Tensor level: validation, then the registered implementation that
// serves the tensors (kernels/registry.h).
#include "minidl/kernels/relu.h"

#include "minidl/kernels/dispatch.h"
#include "minidl/kernels/registry.h"

namespace minidl::ops {

void relu_forward(const Tensor& input, Tensor& output) {
  Device device = common_float_device("relu", {{"input", &input}, {"output", &output}});
  check_shape(output, input.shape(), "relu", "output");
  registries().relu.select(device.type, input.dtype(), {&input}).functions.forward({input, output});
}

void relu_backward(const Tensor& grad_output, const Tensor& output, Tensor& grad_input) {
  Device device =
      common_float_device("relu", {{"grad_output", &grad_output}, {"output", &output}, {"grad_input", &grad_input}});
  check_shape(output, grad_output.shape(), "relu", "output");
  check_shape(grad_input, grad_output.shape(), "relu", "grad_input");
  registries().relu.select(device.type, grad_output.dtype(), {&grad_output}).functions.backward(
      {grad_output, output, grad_input});
}

}  // namespace minidl::ops
