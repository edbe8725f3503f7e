#include "minidl/layers/batch_norm2d.h"

#include "minidl/kernels/implementation.h"

namespace minidl::nn {

BatchNorm2d::BatchNorm2d(int num_features, double eps, double momentum)
    : num_features_(num_features), params_{eps, momentum} {
  if (num_features < 1) fail("BatchNorm2d: num_features must be positive, got {}", num_features);
  weight.value = Tensor::full({num_features}, 1.0);
  weight.grad = Tensor::zeros({num_features});
  bias.value = Tensor::zeros({num_features});
  bias.grad = Tensor::zeros({num_features});
  running_mean.value = Tensor::zeros({num_features});
  running_var.value = Tensor::full({num_features}, 1.0);
  num_batches_tracked.value = Tensor::zeros({}, DType::i64);
}

Tensor BatchNorm2d::forward(const Tensor& input) { return forward_with(input, ops::Activation::none); }

bool BatchNorm2d::fuses_following_relu(const Tensor& input) const {
  return ops::implementation(ops::Op::batch_norm2d, input.device().type, input.dtype()).fuses_relu;
}

Tensor BatchNorm2d::forward_fused_relu(const Tensor& input) { return forward_with(input, ops::Activation::relu); }

Tensor BatchNorm2d::forward_with(const Tensor& input, ops::Activation activation) {
  check_rank(input, 4, "BatchNorm2d", "input");
  reuse_or_allocate(output_, input.shape(), input.dtype(), input.device());
  forward_was_training_ = training_;
  if (training_) {
    reuse_or_allocate(save_mean_, {num_features_}, input.dtype(), input.device());
    reuse_or_allocate(save_invstd_, {num_features_}, input.dtype(), input.device());
    ops::batch_norm2d_forward_train(input, weight.value, bias.value, running_mean.value, running_var.value, output_,
                                    save_mean_, save_invstd_, params_, activation, &forward_workspace_);
    num_batches_tracked.value.data<std::int64_t>()[0] += 1;
  } else {
    ops::batch_norm2d_forward_eval(input, weight.value, bias.value, running_mean.value, running_var.value, output_,
                                   params_, activation);
  }
  input_ = grad_enabled() ? input : Tensor();
  return output_;
}

Tensor BatchNorm2d::backward(const Tensor& grad_output) {
  if (!input_.defined()) fail("BatchNorm2d::backward: no saved input: call forward (outside a NoGradGuard) first");
  reuse_or_allocate(grad_input_, input_.shape(), input_.dtype(), input_.device());
  if (forward_was_training_) {
    ops::batch_norm2d_backward_train(grad_output, input_, weight.value, save_mean_, save_invstd_, grad_input_,
                                     weight.grad, bias.grad, &backward_workspace_);
  } else {
    ops::batch_norm2d_backward_eval(grad_output, input_, weight.value, running_mean.value, running_var.value,
                                    grad_input_, weight.grad, bias.grad, params_);
  }
  return grad_input_;
}

void BatchNorm2d::count_replayed_forward() {
  if (training_) num_batches_tracked.value.data<std::int64_t>()[0] += 1;
}

void BatchNorm2d::to(Device device) {
  Tensor counter = num_batches_tracked.value;
  Module::to(device);
  num_batches_tracked.value = counter;
}

std::string BatchNorm2d::repr() const {
  return fmt::format("BatchNorm2d({}, eps={}, momentum={}, affine=True, track_running_stats=True)", num_features_,
                     params_.eps, params_.momentum);
}

}  // namespace minidl::nn
