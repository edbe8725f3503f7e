// The cuDNN implementations, one registration line each (kernels/registry.h), and their
// adapters. cuDNN serves f32. Its batch norm has no backward through the running
// statistics, so the evaluation backward of `cudnn` is minidl's kernel.
#include <vector>

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/cuda/batch_norm2d.h"
#include "minidl/kernels/cudnn/batch_norm2d.h"
#include "minidl/kernels/cudnn/conv2d.h"
#include "minidl/kernels/registry.h"

namespace minidl::ops {

namespace {

float* data_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

void conv2d_forward(const Conv2dForwardArgs& a) {
  cudnn::conv2d_forward(a.input.data<float>(), a.weight.data<float>(), data_or_null(a.bias), a.output.data<float>(),
                        a.shape, cuda::current_stream());
}

void conv2d_backward(const Conv2dBackwardArgs& a) {
  cudnn::conv2d_backward(a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(),
                         data_or_null(a.grad_input), a.grad_weight.data<float>(), data_or_null(a.grad_bias), a.shape,
                         cuda::current_stream());
}

void batch_norm2d_forward_train(const BatchNorm2dTrainForwardArgs& a) {
  cudnn::batch_norm2d_forward_train(a.input.data<float>(), a.weight.data<float>(), a.bias.data<float>(),
                                    a.running_mean.data<float>(), a.running_var.data<float>(), a.output.data<float>(),
                                    a.save_mean.data<float>(), a.save_invstd.data<float>(), a.shape.N, a.shape.C,
                                    a.shape.HW, a.params, cuda::current_stream());
}

void batch_norm2d_forward_eval(const BatchNorm2dEvalForwardArgs& a) {
  cudnn::batch_norm2d_forward_eval(a.input.data<float>(), a.weight.data<float>(), a.bias.data<float>(),
                                   a.running_mean.data<float>(), a.running_var.data<float>(), a.output.data<float>(),
                                   a.shape.N, a.shape.C, a.shape.HW, a.params, cuda::current_stream());
}

void batch_norm2d_backward_train(const BatchNorm2dTrainBackwardArgs& a) {
  cudnn::batch_norm2d_backward_train(a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(),
                                     a.save_mean.data<float>(), a.save_invstd.data<float>(),
                                     a.grad_input.data<float>(), a.grad_weight.data<float>(),
                                     a.grad_bias.data<float>(), a.shape.N, a.shape.C, a.shape.HW,
                                     cuda::current_stream());
}

void batch_norm2d_backward_eval(const BatchNorm2dEvalBackwardArgs& a) {
  cuda::batch_norm2d_backward_eval(a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(),
                                   a.running_mean.data<float>(), a.running_var.data<float>(),
                                   a.grad_input.data<float>(), a.grad_weight.data<float>(), a.grad_bias.data<float>(),
                                   a.shape.N, a.shape.C, a.shape.HW, static_cast<float>(a.params.eps),
                                   cuda::current_stream());
}

}  // namespace

void register_cudnn_implementations(Registries& r) {
  const DeviceType on_cuda = DeviceType::CUDA;
  // A local, not a namespace-scope vector: the registry may be first used during another
  // file's static initialization, before that would be constructed.
  const std::vector<DType> f32_only{DType::f32};
  r.conv2d.add({"cudnn", on_cuda, f32_only, kAnySize, false, "cuDNN, the algorithm cudnnFind* measures fastest in FMA math (kernels/cudnn/conv2d.h)"},
               {conv2d_forward, conv2d_backward});
  r.batch_norm2d.add({"cudnn", on_cuda, f32_only, kAnySize, false, "cuDNN's spatial batch norm (kernels/cudnn/batch_norm2d.h)"},
                     {batch_norm2d_forward_train, batch_norm2d_forward_eval, batch_norm2d_backward_train,
                      batch_norm2d_backward_eval});
}

}  // namespace minidl::ops
