#include "minidl/layers/linear.h"

#include "minidl/kernels/implementation.h"
#include "minidl/kernels/linear.h"
#include "minidl/layers/init.h"

namespace minidl::nn {

Linear::Linear(int in_features, int out_features, Generator& generator)
    : in_features_(in_features), out_features_(out_features) {
  if (in_features < 1 || out_features < 1)
    fail("Linear: features must be positive, got in_features={}, out_features={}", in_features, out_features);
  weight.value = uniform_fan_in({out_features, in_features}, in_features, generator);
  weight.grad = Tensor::zeros(weight.value.shape());
  bias.value = uniform_fan_in({out_features}, in_features, generator);
  bias.grad = Tensor::zeros(bias.value.shape());
}

Tensor Linear::forward(const Tensor& input) { return forward_with(input, ops::Activation::none); }

bool Linear::fuses_following_relu(const Tensor& input) const {
  return ops::implementation(ops::Op::linear, input.device().type, input.dtype()).fuses_relu;
}

Tensor Linear::forward_fused_relu(const Tensor& input) { return forward_with(input, ops::Activation::relu); }

Tensor Linear::forward_with(const Tensor& input, ops::Activation activation) {
  check_rank(input, 2, "Linear", "input");
  reuse_or_allocate(output_, {input.size(0), out_features_}, input.dtype(), input.device());
  ops::linear_forward(input, weight.value, bias.value, output_, activation, &forward_workspace_);
  input_ = grad_enabled() ? input : Tensor();
  return output_;
}

Tensor Linear::backward(const Tensor& grad_output) {
  if (!input_.defined()) fail("Linear::backward: no saved input: call forward (outside a NoGradGuard) first");
  reuse_or_allocate(grad_input_, input_.shape(), input_.dtype(), input_.device());
  ops::linear_backward(grad_output, input_, weight.value, grad_input_, weight.grad, bias.grad, &backward_workspace_);
  return grad_input_;
}

std::string Linear::repr() const {
  return fmt::format("Linear(in_features={}, out_features={}, bias=True)", in_features_, out_features_);
}

}  // namespace minidl::nn
