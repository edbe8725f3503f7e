// batch_norm2d at the Tensor level: validation, then the CPU reference or CUDA.
#include "minidl/kernels/batch_norm2d.h"

#include "minidl/kernels/cpu/batch_norm2d.h"
#include "minidl/kernels/cpu/batch_norm2d_vectorized.h"
#include "minidl/kernels/dispatch.h"
#include "minidl/kernels/implementation.h"
#if defined(MINIDL_WITH_CUDA)
#include "minidl/kernels/cuda/batch_norm2d.h"
#endif
#if defined(MINIDL_WITH_CUDNN)
#include "minidl/kernels/cudnn/batch_norm2d.h"
#endif

namespace minidl::ops {

namespace {

// Requires every tensor in `tensors` to have shape (channels).
void check_per_channel(const char* op, std::int64_t channels, std::initializer_list<NamedTensor> tensors) {
  for (const NamedTensor& named : tensors) check_shape(*named.tensor, Shape{channels}, op, named.name);
}

// The CPU fast path serves f32; other dtypes run the reference.
bool use_vectorized(const Tensor& input) {
  return input.dtype() == DType::f32 &&
         implementation(Op::batch_norm2d, DeviceType::CPU) == Implementation::vectorized;
}

}  // namespace

void batch_norm2d_forward_train(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                Tensor& running_mean, Tensor& running_var, Tensor& output, Tensor& save_mean,
                                Tensor& save_invstd, BatchNormParams params) {
  const char* op = "batch_norm2d";
  Device device = common_float_device(op, {{"input", &input}, {"weight", &weight}, {"bias", &bias},
                                           {"running_mean", &running_mean}, {"running_var", &running_var},
                                           {"output", &output}, {"save_mean", &save_mean},
                                           {"save_invstd", &save_invstd}});
  check_rank(input, 4, op, "input");
  const std::int64_t N = input.size(0), C = input.size(1), HW = input.size(2) * input.size(3);
  check_per_channel(op, C, {{"weight", &weight}, {"bias", &bias}, {"running_mean", &running_mean},
                            {"running_var", &running_var}, {"save_mean", &save_mean},
                            {"save_invstd", &save_invstd}});
  check_shape(output, input.shape(), op, "output");
  // The unbiased variance for running_var divides by M - 1 (PyTorch raises the same).
  if (N * HW < 2)
    fail("{}: expected more than 1 value per channel when training, got input shape {}", op, input.shape().str());

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(input, DType::f32, "batch_norm2d on cuda", "input");
#if defined(MINIDL_WITH_CUDNN)
    if (implementation(Op::batch_norm2d, DeviceType::CUDA) == Implementation::cudnn) {
      cudnn::batch_norm2d_forward_train(input.data<float>(), weight.data<float>(), bias.data<float>(),
                                        running_mean.data<float>(), running_var.data<float>(), output.data<float>(),
                                        save_mean.data<float>(), save_invstd.data<float>(), N, C, HW, params);
      return;
    }
#endif
    cuda::batch_norm2d_forward_train(input.data<float>(), weight.data<float>(), bias.data<float>(),
                                     running_mean.data<float>(), running_var.data<float>(), output.data<float>(),
                                     save_mean.data<float>(), save_invstd.data<float>(), N, C, HW,
                                     static_cast<float>(params.eps), static_cast<float>(params.momentum));
    return;
#else
    no_cuda_implementation(op);
#endif
  }
  if (use_vectorized(input)) {
    cpu::batch_norm2d_forward_train_vectorized(input.data<float>(), weight.data<float>(), bias.data<float>(),
                                               running_mean.data<float>(), running_var.data<float>(),
                                               output.data<float>(), save_mean.data<float>(),
                                               save_invstd.data<float>(), N, C, HW, params);
    return;
  }
  // The CPU reference, run in the tensors' dtype T.
  auto run_cpu = [&]<typename T>(T) {
    cpu::batch_norm2d_forward_train(input.data<T>(), weight.data<T>(), bias.data<T>(), running_mean.data<T>(),
                                    running_var.data<T>(), output.data<T>(), save_mean.data<T>(),
                                    save_invstd.data<T>(), N, C, HW, params);
  };
  visit_float_dtype(input.dtype(), run_cpu);
}

void batch_norm2d_forward_eval(const Tensor& input, const Tensor& weight, const Tensor& bias,
                               const Tensor& running_mean, const Tensor& running_var, Tensor& output,
                               BatchNormParams params) {
  const char* op = "batch_norm2d";
  Device device = common_float_device(op, {{"input", &input}, {"weight", &weight}, {"bias", &bias},
                                           {"running_mean", &running_mean}, {"running_var", &running_var},
                                           {"output", &output}});
  check_rank(input, 4, op, "input");
  const std::int64_t N = input.size(0), C = input.size(1), HW = input.size(2) * input.size(3);
  check_per_channel(op, C, {{"weight", &weight}, {"bias", &bias}, {"running_mean", &running_mean},
                            {"running_var", &running_var}});
  check_shape(output, input.shape(), op, "output");

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(input, DType::f32, "batch_norm2d on cuda", "input");
#if defined(MINIDL_WITH_CUDNN)
    if (implementation(Op::batch_norm2d, DeviceType::CUDA) == Implementation::cudnn) {
      cudnn::batch_norm2d_forward_eval(input.data<float>(), weight.data<float>(), bias.data<float>(),
                                       running_mean.data<float>(), running_var.data<float>(), output.data<float>(), N,
                                       C, HW, params);
      return;
    }
#endif
    cuda::batch_norm2d_forward_eval(input.data<float>(), weight.data<float>(), bias.data<float>(),
                                    running_mean.data<float>(), running_var.data<float>(), output.data<float>(), N, C,
                                    HW, static_cast<float>(params.eps));
    return;
#else
    no_cuda_implementation(op);
#endif
  }
  if (use_vectorized(input)) {
    cpu::batch_norm2d_forward_eval_vectorized(input.data<float>(), weight.data<float>(), bias.data<float>(),
                                              running_mean.data<float>(), running_var.data<float>(),
                                              output.data<float>(), N, C, HW, params);
    return;
  }
  // The CPU reference, run in the tensors' dtype T.
  auto run_cpu = [&]<typename T>(T) {
    cpu::batch_norm2d_forward_eval(input.data<T>(), weight.data<T>(), bias.data<T>(), running_mean.data<T>(),
                                   running_var.data<T>(), output.data<T>(), N, C, HW, params);
  };
  visit_float_dtype(input.dtype(), run_cpu);
}

void batch_norm2d_backward_train(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                 const Tensor& save_mean, const Tensor& save_invstd, Tensor& grad_input,
                                 Tensor& grad_weight, Tensor& grad_bias) {
  const char* op = "batch_norm2d backward";
  Device device = common_float_device(op, {{"grad_output", &grad_output}, {"input", &input}, {"weight", &weight},
                                           {"save_mean", &save_mean}, {"save_invstd", &save_invstd},
                                           {"grad_input", &grad_input}, {"grad_weight", &grad_weight},
                                           {"grad_bias", &grad_bias}});
  check_rank(input, 4, op, "input");
  const std::int64_t N = input.size(0), C = input.size(1), HW = input.size(2) * input.size(3);
  check_shape(grad_output, input.shape(), op, "grad_output");
  check_shape(grad_input, input.shape(), op, "grad_input");
  check_per_channel(op, C, {{"weight", &weight}, {"save_mean", &save_mean}, {"save_invstd", &save_invstd},
                            {"grad_weight", &grad_weight}, {"grad_bias", &grad_bias}});

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(grad_output, DType::f32, "batch_norm2d backward on cuda", "grad_output");
    auto backward = cuda::batch_norm2d_backward_train;  // cuDNN's takes the same arguments
#if defined(MINIDL_WITH_CUDNN)
    if (implementation(Op::batch_norm2d, DeviceType::CUDA) == Implementation::cudnn)
      backward = cudnn::batch_norm2d_backward_train;
#endif
    backward(grad_output.data<float>(), input.data<float>(), weight.data<float>(), save_mean.data<float>(),
             save_invstd.data<float>(), grad_input.data<float>(), grad_weight.data<float>(), grad_bias.data<float>(),
             N, C, HW, /*stream=*/nullptr);
    return;
#else
    no_cuda_implementation(op);
#endif
  }
  if (use_vectorized(input)) {
    cpu::batch_norm2d_backward_train_vectorized(grad_output.data<float>(), input.data<float>(), weight.data<float>(),
                                                save_mean.data<float>(), save_invstd.data<float>(),
                                                grad_input.data<float>(), grad_weight.data<float>(),
                                                grad_bias.data<float>(), N, C, HW);
    return;
  }
  // The CPU reference, run in the tensors' dtype T.
  auto run_cpu = [&]<typename T>(T) {
    cpu::batch_norm2d_backward_train(grad_output.data<T>(), input.data<T>(), weight.data<T>(),
                                     save_mean.data<T>(), save_invstd.data<T>(), grad_input.data<T>(),
                                     grad_weight.data<T>(), grad_bias.data<T>(), N, C, HW);
  };
  visit_float_dtype(input.dtype(), run_cpu);
}

void batch_norm2d_backward_eval(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                const Tensor& running_mean, const Tensor& running_var, Tensor& grad_input,
                                Tensor& grad_weight, Tensor& grad_bias, BatchNormParams params) {
  const char* op = "batch_norm2d backward";
  Device device = common_float_device(op, {{"grad_output", &grad_output}, {"input", &input}, {"weight", &weight},
                                           {"running_mean", &running_mean}, {"running_var", &running_var},
                                           {"grad_input", &grad_input}, {"grad_weight", &grad_weight},
                                           {"grad_bias", &grad_bias}});
  check_rank(input, 4, op, "input");
  const std::int64_t N = input.size(0), C = input.size(1), HW = input.size(2) * input.size(3);
  check_shape(grad_output, input.shape(), op, "grad_output");
  check_shape(grad_input, input.shape(), op, "grad_input");
  check_per_channel(op, C, {{"weight", &weight}, {"running_mean", &running_mean}, {"running_var", &running_var},
                            {"grad_weight", &grad_weight}, {"grad_bias", &grad_bias}});

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(grad_output, DType::f32, "batch_norm2d backward on cuda", "grad_output");
    // cuDNN has no backward through the running statistics: the hand-written kernel serves every choice.
    cuda::batch_norm2d_backward_eval(grad_output.data<float>(), input.data<float>(), weight.data<float>(),
                                     running_mean.data<float>(), running_var.data<float>(), grad_input.data<float>(),
                                     grad_weight.data<float>(), grad_bias.data<float>(), N, C, HW,
                                     static_cast<float>(params.eps));
    return;
#else
    no_cuda_implementation(op);
#endif
  }
  if (use_vectorized(input)) {
    cpu::batch_norm2d_backward_eval_vectorized(grad_output.data<float>(), input.data<float>(), weight.data<float>(),
                                               running_mean.data<float>(), running_var.data<float>(),
                                               grad_input.data<float>(), grad_weight.data<float>(),
                                               grad_bias.data<float>(), N, C, HW, params);
    return;
  }
  // The CPU reference, run in the tensors' dtype T.
  auto run_cpu = [&]<typename T>(T) {
    cpu::batch_norm2d_backward_eval(grad_output.data<T>(), input.data<T>(), weight.data<T>(),
                                    running_mean.data<T>(), running_var.data<T>(), grad_input.data<T>(),
                                    grad_weight.data<T>(), grad_bias.data<T>(), N, C, HW, params);
  };
  visit_float_dtype(input.dtype(), run_cpu);
}

}  // namespace minidl::ops
