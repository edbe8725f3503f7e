// conv2d at the Tensor level: validation, then the registered implementation that
// serves the tensors (kernels/registry.h).
#include "minidl/kernels/conv2d.h"

#include "minidl/kernels/dispatch.h"
#include "minidl/kernels/registry.h"

namespace minidl::ops {

namespace {

// The sizes of a convolution of these input and weight shapes, after checking
// that they fit together.
cpu::Conv2dShape conv2d_shape(const Shape& input, const Shape& weight, Conv2dParams params) {
  if (input.rank() != 4) fail("conv2d: input must have 4 dimensions, got shape {}", input.str());
  if (weight.rank() != 4) fail("conv2d: weight must have 4 dimensions, got shape {}", weight.str());
  if (input[1] != weight[1]) fail("conv2d: input has {} channels, weight expects {}", input[1], weight[1]);
  if (params.stride < 1) fail("conv2d: stride must be at least 1, got {}", params.stride);
  if (params.padding < 0) fail("conv2d: padding must be non-negative, got {}", params.padding);
  if (weight[2] < 1 || weight[3] < 1)
    fail("conv2d: the kernel must be at least 1x1, got weight shape {}", weight.str());
  std::int64_t padded_height = input[2] + 2 * params.padding, padded_width = input[3] + 2 * params.padding;
  if (weight[2] > padded_height || weight[3] > padded_width)
    fail("conv2d: kernel {}x{} does not fit the input {}x{} with padding {}", weight[2], weight[3], input[2], input[3],
         params.padding);
  cpu::Conv2dShape shape;
  shape.batch = input[0];
  shape.in_channels = input[1];
  shape.height = input[2];
  shape.width = input[3];
  shape.out_channels = weight[0];
  shape.kernel_height = weight[2];
  shape.kernel_width = weight[3];
  shape.stride = params.stride;
  shape.padding = params.padding;
  shape.out_height = (padded_height - shape.kernel_height) / shape.stride + 1;
  shape.out_width = (padded_width - shape.kernel_width) / shape.stride + 1;
  return shape;
}

}  // namespace

Shape conv2d_output_shape(const Shape& input, const Shape& weight, Conv2dParams params) {
  cpu::Conv2dShape shape = conv2d_shape(input, weight, params);
  return Shape{shape.batch, shape.out_channels, shape.out_height, shape.out_width};
}

void conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, Tensor& output,
                    Conv2dParams params, Activation activation, Workspace* workspace) {
  Device device =
      common_float_device("conv2d", {{"input", &input}, {"weight", &weight}, {"bias", &bias}, {"output", &output}});
  check_rank(weight, 4, "conv2d", "weight");
  cpu::Conv2dShape shape = conv2d_shape(input.shape(), weight.shape(), params);
  if (bias.defined()) check_shape(bias, Shape{shape.out_channels}, "conv2d", "bias");
  check_shape(output, conv2d_output_shape(input.shape(), weight.shape(), params), "conv2d", "output");

  const auto& registry = registries().conv2d;
  auto chosen = registry.select(device.type, input.dtype(), {&input, &weight, &output});
  registry.check_activation(chosen.info, activation);
  Workspace scratch;
  chosen.functions.forward({input, weight, bias, output, shape, activation, workspace ? *workspace : scratch});
}

void conv2d_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight, Tensor& grad_input,
                     Tensor& grad_weight, Tensor& grad_bias, Conv2dParams params, Workspace* workspace) {
  Device device = common_float_device("conv2d", {{"grad_output", &grad_output},
                                                 {"input", &input},
                                                 {"weight", &weight},
                                                 {"grad_input", &grad_input},
                                                 {"grad_weight", &grad_weight},
                                                 {"grad_bias", &grad_bias}});
  check_rank(input, 4, "conv2d", "input");
  check_rank(weight, 4, "conv2d", "weight");
  cpu::Conv2dShape shape = conv2d_shape(input.shape(), weight.shape(), params);
  check_shape(grad_output, conv2d_output_shape(input.shape(), weight.shape(), params), "conv2d", "grad_output");
  if (grad_input.defined()) check_shape(grad_input, input.shape(), "conv2d", "grad_input");
  check_shape(grad_weight, weight.shape(), "conv2d", "grad_weight");
  if (grad_bias.defined()) check_shape(grad_bias, Shape{shape.out_channels}, "conv2d", "grad_bias");

  auto chosen = registries().conv2d.select(device.type, input.dtype(), {&grad_output, &input, &weight});
  Workspace scratch;
  chosen.functions.backward({grad_output, input, weight, grad_input, grad_weight, grad_bias, shape,
                             workspace ? *workspace : scratch});
}

}  // namespace minidl::ops
