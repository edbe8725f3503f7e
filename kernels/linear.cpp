// linear at the Tensor level: validation, then the registered implementation that
// serves the tensors (kernels/registry.h).
#include "minidl/kernels/linear.h"

#include "minidl/kernels/dispatch.h"
#include "minidl/kernels/registry.h"

namespace minidl::ops {

void linear_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, Tensor& output,
                    Activation activation, Workspace* workspace) {
  const char* op = "linear";
  Device device = common_float_device(op, {{"input", &input}, {"weight", &weight}, {"bias", &bias},
                                           {"output", &output}});
  check_rank(input, 2, op, "input");
  check_rank(weight, 2, op, "weight");
  const std::int64_t N = input.size(0), in_features = input.size(1), out_features = weight.size(0);
  if (weight.size(1) != in_features)
    fail("{}: input has {} features, weight expects {}", op, in_features, weight.size(1));
  if (bias.defined()) check_shape(bias, Shape{out_features}, op, "bias");
  check_shape(output, Shape{N, out_features}, op, "output");

  const auto& registry = registries().linear;
  auto chosen = registry.select(device.type, input.dtype(), {&input, &weight, &output});
  registry.check_activation(chosen.info, activation);
  Workspace scratch;
  chosen.functions.forward({input, weight, bias, output, {N, in_features, out_features}, activation,
                            workspace ? *workspace : scratch});
}

void linear_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight, Tensor& grad_input,
                     Tensor& grad_weight, Tensor& grad_bias, Workspace* workspace) {
  const char* op = "linear backward";
  Device device = common_float_device(op, {{"grad_output", &grad_output}, {"input", &input}, {"weight", &weight},
                                           {"grad_input", &grad_input}, {"grad_weight", &grad_weight},
                                           {"grad_bias", &grad_bias}});
  check_rank(input, 2, op, "input");
  check_rank(weight, 2, op, "weight");
  const std::int64_t N = input.size(0), in_features = input.size(1), out_features = weight.size(0);
  if (weight.size(1) != in_features)
    fail("{}: input has {} features, weight expects {}", op, in_features, weight.size(1));
  check_shape(grad_output, Shape{N, out_features}, op, "grad_output");
  if (grad_input.defined()) check_shape(grad_input, input.shape(), op, "grad_input");
  check_shape(grad_weight, weight.shape(), op, "grad_weight");
  if (grad_bias.defined()) check_shape(grad_bias, Shape{out_features}, op, "grad_bias");

  auto chosen = registries().linear.select(device.type, input.dtype(), {&grad_output, &input, &weight});
  Workspace scratch;
  chosen.functions.backward({grad_output, input, weight, grad_input, grad_weight, grad_bias,
                             {N, in_features, out_features}, workspace ? *workspace : scratch});
}

}  // namespace minidl::ops
