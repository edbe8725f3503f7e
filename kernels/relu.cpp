#include "minidl/kernels/relu.h"

#include "minidl/core/parallel.h"
#include "minidl/kernels/cpu/relu.h"
#include "minidl/kernels/dispatch.h"
#if defined(MINIDL_WITH_CUDA)
#include "minidl/kernels/cuda/relu.h"
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
  // The reference, on ranges of elements in parallel.
  auto run_cpu = [&]<typename T>(T) {
    parallel_for(input.numel(), 1, [&](std::int64_t begin, std::int64_t end) {
      cpu::relu_forward(input.data<T>() + begin, output.data<T>() + begin, end - begin);
    });
  };
  visit_float_dtype(input.dtype(), run_cpu);
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
  auto run_cpu = [&]<typename T>(T) {
    parallel_for(grad_output.numel(), 1, [&](std::int64_t begin, std::int64_t end) {
      cpu::relu_backward(grad_output.data<T>() + begin, output.data<T>() + begin, grad_input.data<T>() + begin,
                         end - begin);
    });
  };
  visit_float_dtype(grad_output.dtype(), run_cpu);
}

}  // namespace minidl::ops
