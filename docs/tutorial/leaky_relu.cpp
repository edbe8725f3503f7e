#include "leaky_relu.h"

#include "minidl/kernels/dispatch.h"
#if defined(MINIDL_WITH_CUDA)
#include "leaky_relu_cuda.h"
#endif

namespace minidl::tutorial {

namespace cpu {

// Forward: output[i] = input[i] for input[i] >= 0, negative_slope * input[i] below.
// Written as "input < 0 ? ..." so that a NaN passes through (NaN < 0 is false).
template <typename T>
void leaky_relu_forward(const T* input, T* output, std::int64_t count, T negative_slope) {
  for (std::int64_t i = 0; i < count; ++i) {
    output[i] = input[i] < T(0) ? negative_slope * input[i] : input[i];  // doc:leaky-relu-forward
  }
}

// Backward: each output depends on its own input only, so the chain rule has one term,
//   grad_input[i] = grad_output[i] * d output[i] / d input[i],
// and the derivative is 1 where input > 0 and negative_slope where input < 0. At 0
// there is none; PyTorch takes negative_slope there, and so does this.
template <typename T>
void leaky_relu_backward(const T* grad_output, const T* input, T* grad_input, std::int64_t count, T negative_slope) {
  for (std::int64_t i = 0; i < count; ++i) {
    grad_input[i] = input[i] > T(0) ? grad_output[i] : negative_slope * grad_output[i];  // doc:leaky-relu-grad-input
  }
}

template void leaky_relu_forward<float>(const float*, float*, std::int64_t, float);
template void leaky_relu_forward<double>(const double*, double*, std::int64_t, double);
template void leaky_relu_backward<float>(const float*, const float*, float*, std::int64_t, float);
template void leaky_relu_backward<double>(const double*, const double*, double*, std::int64_t, double);

}  // namespace cpu

// doc:leaky-relu-op
void leaky_relu_forward(const Tensor& input, Tensor& output, double negative_slope) {
  Device device = ops::common_float_device("leaky_relu", {{"input", &input}, {"output", &output}});
  check_shape(output, input.shape(), "leaky_relu", "output");

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(input, DType::f32, "leaky_relu on cuda", "input");
    cuda::leaky_relu_forward(input.data<float>(), output.data<float>(), input.numel(),
                             static_cast<float>(negative_slope));
    return;
#else
    ops::no_cuda_implementation("leaky_relu");
#endif
  }
  ops::visit_float_dtype(input.dtype(), [&]<typename T>(T) {
    cpu::leaky_relu_forward(input.data<T>(), output.data<T>(), input.numel(), static_cast<T>(negative_slope));
  });
}

void leaky_relu_backward(const Tensor& grad_output, const Tensor& input, Tensor& grad_input, double negative_slope) {
  Device device = ops::common_float_device(
      "leaky_relu", {{"grad_output", &grad_output}, {"input", &input}, {"grad_input", &grad_input}});
  check_shape(input, grad_output.shape(), "leaky_relu", "input");
  check_shape(grad_input, grad_output.shape(), "leaky_relu", "grad_input");

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(grad_output, DType::f32, "leaky_relu on cuda", "grad_output");
    cuda::leaky_relu_backward(grad_output.data<float>(), input.data<float>(), grad_input.data<float>(),
                              grad_output.numel(), static_cast<float>(negative_slope));
    return;
#else
    ops::no_cuda_implementation("leaky_relu");
#endif
  }
  ops::visit_float_dtype(grad_output.dtype(), [&]<typename T>(T) {
    cpu::leaky_relu_backward(grad_output.data<T>(), input.data<T>(), grad_input.data<T>(), grad_output.numel(),
                             static_cast<T>(negative_slope));
  });
}

LeakyReLU::LeakyReLU(double negative_slope) : negative_slope_(negative_slope) {}

// doc:leaky-relu-layer
Tensor LeakyReLU::forward(const Tensor& input) {
  nn::reuse_or_allocate(output_, input.shape(), input.dtype(), input.device());
  leaky_relu_forward(input, output_, negative_slope_);
  input_ = nn::grad_enabled() ? input : Tensor();  // shares the caller's storage: no copy
  return output_;
}

Tensor LeakyReLU::backward(const Tensor& grad_output) {
  if (!input_.defined()) fail("LeakyReLU::backward: no saved input: call forward (outside a NoGradGuard) first");
  nn::reuse_or_allocate(grad_input_, input_.shape(), input_.dtype(), input_.device());
  leaky_relu_backward(grad_output, input_, grad_input_, negative_slope_);
  return grad_input_;
}

std::string LeakyReLU::repr() const { return fmt::format("LeakyReLU(negative_slope={})", negative_slope_); }

}  // namespace minidl::tutorial
