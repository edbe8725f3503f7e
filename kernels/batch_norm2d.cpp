// batch_norm2d at the Tensor level: validation, then the registered implementation that
// serves the tensors (kernels/registry.h).
#include "minidl/kernels/batch_norm2d.h"

#include "minidl/kernels/dispatch.h"
#include "minidl/kernels/registry.h"

namespace minidl::ops {

namespace {

// Requires every tensor in `tensors` to have shape (channels).
void check_per_channel(const char* op, std::int64_t channels, std::initializer_list<NamedTensor> tensors) {
  for (const NamedTensor& named : tensors) check_shape(*named.tensor, Shape{channels}, op, named.name);
}

// The sizes of input, which must have 4 dimensions.
BatchNorm2dShape batch_norm2d_shape(const Tensor& input, const char* op) {
  check_rank(input, 4, op, "input");
  return {input.size(0), input.size(1), input.size(2) * input.size(3)};
}

}  // namespace

void batch_norm2d_forward_train(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                Tensor& running_mean, Tensor& running_var, Tensor& output, Tensor& save_mean,
                                Tensor& save_invstd, BatchNormParams params, Activation activation,
                                Workspace* workspace) {
  const char* op = "batch_norm2d";
  Device device = common_float_device(op, {{"input", &input}, {"weight", &weight}, {"bias", &bias},
                                           {"running_mean", &running_mean}, {"running_var", &running_var},
                                           {"output", &output}, {"save_mean", &save_mean},
                                           {"save_invstd", &save_invstd}});
  BatchNorm2dShape shape = batch_norm2d_shape(input, op);
  check_per_channel(op, shape.C, {{"weight", &weight}, {"bias", &bias}, {"running_mean", &running_mean},
                                  {"running_var", &running_var}, {"save_mean", &save_mean},
                                  {"save_invstd", &save_invstd}});
  check_shape(output, input.shape(), op, "output");
  // The unbiased variance for running_var divides by M - 1 (PyTorch raises the same).
  if (shape.N * shape.HW < 2)
    fail("{}: expected more than 1 value per channel when training, got input shape {}", op, input.shape().str());

  const auto& registry = registries().batch_norm2d;
  auto chosen = registry.select(device.type, input.dtype(), {&input});
  registry.check_activation(chosen.info, activation);
  Workspace scratch;
  chosen.functions.forward_train({input, weight, bias, running_mean, running_var, output, save_mean, save_invstd,
                                  shape, params, activation, workspace ? *workspace : scratch});
}

void batch_norm2d_forward_eval(const Tensor& input, const Tensor& weight, const Tensor& bias,
                               const Tensor& running_mean, const Tensor& running_var, Tensor& output,
                               BatchNormParams params, Activation activation) {
  const char* op = "batch_norm2d";
  Device device = common_float_device(op, {{"input", &input}, {"weight", &weight}, {"bias", &bias},
                                           {"running_mean", &running_mean}, {"running_var", &running_var},
                                           {"output", &output}});
  BatchNorm2dShape shape = batch_norm2d_shape(input, op);
  check_per_channel(op, shape.C, {{"weight", &weight}, {"bias", &bias}, {"running_mean", &running_mean},
                                  {"running_var", &running_var}});
  check_shape(output, input.shape(), op, "output");

  const auto& registry = registries().batch_norm2d;
  auto chosen = registry.select(device.type, input.dtype(), {&input});
  registry.check_activation(chosen.info, activation);
  chosen.functions.forward_eval({input, weight, bias, running_mean, running_var, output, shape, params, activation});
}

void batch_norm2d_backward_train(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                 const Tensor& save_mean, const Tensor& save_invstd, Tensor& grad_input,
                                 Tensor& grad_weight, Tensor& grad_bias, Workspace* workspace) {
  const char* op = "batch_norm2d backward";
  Device device = common_float_device(op, {{"grad_output", &grad_output}, {"input", &input}, {"weight", &weight},
                                           {"save_mean", &save_mean}, {"save_invstd", &save_invstd},
                                           {"grad_input", &grad_input}, {"grad_weight", &grad_weight},
                                           {"grad_bias", &grad_bias}});
  BatchNorm2dShape shape = batch_norm2d_shape(input, op);
  check_shape(grad_output, input.shape(), op, "grad_output");
  check_shape(grad_input, input.shape(), op, "grad_input");
  check_per_channel(op, shape.C, {{"weight", &weight}, {"save_mean", &save_mean}, {"save_invstd", &save_invstd},
                                  {"grad_weight", &grad_weight}, {"grad_bias", &grad_bias}});

  auto chosen = registries().batch_norm2d.select(device.type, input.dtype(), {&input});
  Workspace scratch;
  chosen.functions.backward_train({grad_output, input, weight, save_mean, save_invstd, grad_input, grad_weight,
                                   grad_bias, shape, workspace ? *workspace : scratch});
}

void batch_norm2d_backward_eval(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                const Tensor& running_mean, const Tensor& running_var, Tensor& grad_input,
                                Tensor& grad_weight, Tensor& grad_bias, BatchNormParams params) {
  const char* op = "batch_norm2d backward";
  Device device = common_float_device(op, {{"grad_output", &grad_output}, {"input", &input}, {"weight", &weight},
                                           {"running_mean", &running_mean}, {"running_var", &running_var},
                                           {"grad_input", &grad_input}, {"grad_weight", &grad_weight},
                                           {"grad_bias", &grad_bias}});
  BatchNorm2dShape shape = batch_norm2d_shape(input, op);
  check_shape(grad_output, input.shape(), op, "grad_output");
  check_shape(grad_input, input.shape(), op, "grad_input");
  check_per_channel(op, shape.C, {{"weight", &weight}, {"running_mean", &running_mean}, {"running_var", &running_var},
                                  {"grad_weight", &grad_weight}, {"grad_bias", &grad_bias}});

  auto chosen = registries().batch_norm2d.select(device.type, input.dtype(), {&input});
  chosen.functions.backward_eval({grad_output, input, weight, running_mean, running_var, grad_input, grad_weight,
                                  grad_bias, shape, params});
}

}  // namespace minidl::ops
