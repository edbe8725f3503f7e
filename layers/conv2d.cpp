#include "minidl/layers/conv2d.h"

#include "minidl/kernels/implementation.h"
#include "minidl/layers/init.h"

namespace minidl::nn {

Conv2d::Conv2d(Conv2dOptions options, Generator& generator) : options_(options) {
  if (options.in_channels < 1 || options.out_channels < 1 || options.kernel_size < 1)
    fail("Conv2d: channels and kernel_size must be positive, got {}", repr());
  std::int64_t fan_in = static_cast<std::int64_t>(options.in_channels) * options.kernel_size * options.kernel_size;
  weight.value = uniform_fan_in({options.out_channels, options.in_channels, options.kernel_size, options.kernel_size},
                                fan_in, generator);
  weight.grad = Tensor::zeros(weight.value.shape());
  if (options.bias) {
    bias.value = uniform_fan_in({options.out_channels}, fan_in, generator);
    bias.grad = Tensor::zeros(bias.value.shape());
  }
}

Tensor Conv2d::forward(const Tensor& input) { return forward_with(input, ops::Activation::none); }

bool Conv2d::fuses_following_relu(const Tensor& input) const {
  return ops::implementation(ops::Op::conv2d, input.device().type, input.dtype()).fuses_relu;
}

Tensor Conv2d::forward_fused_relu(const Tensor& input) { return forward_with(input, ops::Activation::relu); }

Tensor Conv2d::forward_with(const Tensor& input, ops::Activation activation) {
  ops::Conv2dParams params{options_.stride, options_.padding};
  Shape output_shape = ops::conv2d_output_shape(input.shape(), weight.value.shape(), params);
  reuse_or_allocate(output_, output_shape, input.dtype(), input.device());
  ops::conv2d_forward(input, weight.value, bias.value, output_, params, activation, &forward_workspace_);
  input_ = grad_enabled() ? input : Tensor();
  return output_;
}

Tensor Conv2d::backward(const Tensor& grad_output) {
  if (!input_.defined()) fail("Conv2d::backward: no saved input: call forward (outside a NoGradGuard) first");
  if (options_.input_grad) reuse_or_allocate(grad_input_, input_.shape(), input_.dtype(), input_.device());
  ops::conv2d_backward(grad_output, input_, weight.value, grad_input_, weight.grad, bias.grad,
                       {options_.stride, options_.padding}, &backward_workspace_);
  return grad_input_;
}

std::vector<Parameter*> Conv2d::parameters() {
  if (options_.bias) return {&weight, &bias};
  return {&weight};
}

std::string Conv2d::repr() const {
  const Conv2dOptions& o = options_;
  std::string padding = o.padding == 0 ? "" : fmt::format(", padding=({}, {})", o.padding, o.padding);
  return fmt::format("Conv2d({}, {}, kernel_size=({}, {}), stride=({}, {}){}{})", o.in_channels, o.out_channels,
                     o.kernel_size, o.kernel_size, o.stride, o.stride, padding, o.bias ? "" : ", bias=False");
}

}  // namespace minidl::nn
