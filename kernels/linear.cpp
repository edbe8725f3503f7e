// linear at the Tensor level: validation, then the CPU reference or CUDA.
#include "minidl/kernels/linear.h"

#include "minidl/kernels/cpu/linear.h"
#include "minidl/kernels/cpu/linear_gemm.h"
#include "minidl/kernels/dispatch.h"
#include "minidl/kernels/implementation.h"
#if defined(MINIDL_WITH_CUDA)
#include "minidl/kernels/cuda/cublas_ops.h"
#include "minidl/kernels/cuda/linear.h"
#endif

namespace minidl::ops {

void linear_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, Tensor& output) {
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

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(input, DType::f32, "linear on cuda", "input");
    auto forward = implementation(Op::linear, DeviceType::CUDA) == Implementation::cublas ? cublas::linear_forward
                                                                                          : cuda::linear_forward;
    forward(input.data<float>(), weight.data<float>(), bias.defined() ? bias.data<float>() : nullptr,
            output.data<float>(), N, in_features, out_features, /*stream=*/nullptr);
    return;
#else
    no_cuda_implementation(op);
#endif
  }
  if (input.dtype() == DType::f32 && implementation(Op::linear, DeviceType::CPU) == Implementation::gemm) {
    cpu::linear_forward_gemm(input.data<float>(), weight.data<float>(), bias.defined() ? bias.data<float>() : nullptr,
                             output.data<float>(), N, in_features, out_features);
    return;
  }
  // The CPU reference, run in the tensors' dtype T.
  auto run_cpu = [&]<typename T>(T) {
    cpu::linear_forward(input.data<T>(), weight.data<T>(), bias.defined() ? bias.data<T>() : nullptr,
                        output.data<T>(), N, in_features, out_features);
  };
  visit_float_dtype(input.dtype(), run_cpu);
}

void linear_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight, Tensor& grad_input,
                     Tensor& grad_weight, Tensor& grad_bias) {
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

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(grad_output, DType::f32, "linear backward on cuda", "grad_output");
    auto backward = implementation(Op::linear, DeviceType::CUDA) == Implementation::cublas ? cublas::linear_backward
                                                                                           : cuda::linear_backward;
    backward(grad_output.data<float>(), input.data<float>(), weight.data<float>(),
             grad_input.defined() ? grad_input.data<float>() : nullptr, grad_weight.data<float>(),
             grad_bias.defined() ? grad_bias.data<float>() : nullptr, N, in_features, out_features,
             /*stream=*/nullptr);
    return;
#else
    no_cuda_implementation(op);
#endif
  }
  if (input.dtype() == DType::f32 && implementation(Op::linear, DeviceType::CPU) == Implementation::gemm) {
    cpu::linear_backward_gemm(grad_output.data<float>(), input.data<float>(), weight.data<float>(),
                              grad_input.defined() ? grad_input.data<float>() : nullptr, grad_weight.data<float>(),
                              grad_bias.defined() ? grad_bias.data<float>() : nullptr, N, in_features,
                              out_features);
    return;
  }
  // The CPU reference, run in the tensors' dtype T.
  auto run_cpu = [&]<typename T>(T) {
    cpu::linear_backward(grad_output.data<T>(), input.data<T>(), weight.data<T>(),
                         grad_input.defined() ? grad_input.data<T>() : nullptr, grad_weight.data<T>(),
                         grad_bias.defined() ? grad_bias.data<T>() : nullptr, N, in_features, out_features);
  };
  visit_float_dtype(input.dtype(), run_cpu);
}

}  // namespace minidl::ops
