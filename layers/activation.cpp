#include "minidl/layers/activation.h"

#include "minidl/kernels/implementation.h"
#include "minidl/kernels/relu.h"

namespace minidl::nn {

namespace {
[[noreturn]] void no_saved_forward(const char* layer) {
  fail("{}::backward: nothing saved: call forward (outside a NoGradGuard) first", layer);
}
}  // namespace

Tensor ReLU::forward(const Tensor& input) {
  reuse_or_allocate(output_, input.shape(), input.dtype(), input.device());
  ops::relu_forward(input, output_);
  saved_ = grad_enabled();
  return output_;
}

void ReLU::forward_fused_into_previous(const Tensor& output) {
  output_ = output;
  saved_ = grad_enabled();
}

// The mask output > 0 is read from the saved output, so the input need not be kept.
Tensor ReLU::backward(const Tensor& grad_output) {
  if (!saved_) no_saved_forward("ReLU");
  reuse_or_allocate(grad_input_, output_.shape(), output_.dtype(), output_.device());
  ops::relu_backward(grad_output, output_, grad_input_);
  return grad_input_;
}

MaxPool2d::MaxPool2d(int kernel_size, int stride) : params_{kernel_size, stride == 0 ? kernel_size : stride} {
  if (params_.kernel_size < 1 || params_.stride < 1)
    fail("MaxPool2d: kernel_size and stride must be positive, got {} and {}", kernel_size, stride);
}

Tensor MaxPool2d::forward(const Tensor& input) {
  Shape output_shape = ops::max_pool2d_output_shape(input.shape(), params_);
  reuse_or_allocate(output_, output_shape, input.dtype(), input.device());
  reuse_or_allocate(indices_, output_shape, DType::i32, input.device());
  ops::max_pool2d_forward(input, output_, indices_, params_);
  input_shape_ = input.shape();
  saved_ = grad_enabled();
  return output_;
}

Tensor MaxPool2d::backward(const Tensor& grad_output) { return backward_with(grad_output, false); }

bool MaxPool2d::fuses_preceding_relu_backward(const Tensor& grad_output) const {
  return ops::implementation(ops::Op::max_pool2d, grad_output.device().type, grad_output.dtype()).fuses_relu;
}

Tensor MaxPool2d::backward_after_relu(const Tensor& grad_output) { return backward_with(grad_output, true); }

Tensor MaxPool2d::backward_with(const Tensor& grad_output, bool after_relu) {
  if (!saved_) no_saved_forward("MaxPool2d");
  reuse_or_allocate(grad_input_, input_shape_, grad_output.dtype(), grad_output.device());
  ops::max_pool2d_backward(grad_output, indices_, grad_input_, params_, after_relu, output_);
  return grad_input_;
}

std::string MaxPool2d::repr() const {
  return fmt::format("MaxPool2d(kernel_size={}, stride={}, padding=0, dilation=1, ceil_mode=False)",
                     params_.kernel_size, params_.stride);
}

Tensor Flatten::forward(const Tensor& input) {
  input_shape_ = input.shape();
  return input.flatten(1);
}

Tensor Flatten::backward(const Tensor& grad_output) { return grad_output.reshape(input_shape_); }

}  // namespace minidl::nn
