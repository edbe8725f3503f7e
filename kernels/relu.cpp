#include "kernels/relu.h"

#include "kernels/cpu/relu.h"
#include "kernels/dispatch.h"
#if defined(MINIDL_WITH_CUDA)
#include "kernels/cuda/relu.h"
#endif

namespace minidl::ops {

void relu_forward(const Tensor& input, Tensor& output) {
  Device device = common_float_device("relu", {{"input", &input}, {"output", &output}});
  check_shape(output, input.shape(), "relu", "output");

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(input, DType::f32, "relu on cuda", "input");
    cuda::relu_forward(input.data<float>(), output.data<float>(), input.numel());
    return;
#else
    no_cuda_implementation("relu");
#endif
  }
  if (input.dtype() == DType::f32) {
    cpu::relu_forward(input.data<float>(), output.data<float>(), input.numel());
  } else {
    cpu::relu_forward(input.data<double>(), output.data<double>(), input.numel());
  }
}

void relu_backward(const Tensor& grad_output, const Tensor& output, Tensor& grad_input) {
  Device device =
      common_float_device("relu", {{"grad_output", &grad_output}, {"output", &output}, {"grad_input", &grad_input}});
  check_shape(output, grad_output.shape(), "relu", "output");
  check_shape(grad_input, grad_output.shape(), "relu", "grad_input");

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(grad_output, DType::f32, "relu on cuda", "grad_output");
    cuda::relu_backward(grad_output.data<float>(), output.data<float>(), grad_input.data<float>(),
                        grad_output.numel());
    return;
#else
    no_cuda_implementation("relu");
#endif
  }
  if (grad_output.dtype() == DType::f32) {
    cpu::relu_backward(grad_output.data<float>(), output.data<float>(), grad_input.data<float>(),
                       grad_output.numel());
  } else {
    cpu::relu_backward(grad_output.data<double>(), output.data<double>(), grad_input.data<double>(),
                       grad_output.numel());
  }
}

}  // namespace minidl::ops
