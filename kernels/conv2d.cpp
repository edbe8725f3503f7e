#include "minidl/kernels/conv2d.h"

#include "minidl/kernels/cpu/conv2d.h"
#include "minidl/kernels/cpu/conv2d_gemm.h"
#include "minidl/kernels/dispatch.h"
#include "minidl/kernels/implementation.h"
#if defined(MINIDL_WITH_CUDA)
#include "minidl/kernels/cuda/conv2d.h"
#include "minidl/kernels/cuda/cublas_ops.h"
#endif
#if defined(MINIDL_WITH_CUDNN)
#include "minidl/kernels/cudnn/conv2d.h"
#endif

namespace minidl::ops {

namespace {

// The sizes of a convolution of these input and weight shapes, after checking
// that they fit together.
cpu::Conv2dShape conv2d_shape(const Shape& input, const Shape& weight, Conv2dParams params) {
  if (input.rank() != 4) fail("conv2d: input must have 4 dimensions, got shape {}", input.str());
  if (weight.rank() != 4) fail("conv2d: weight must have 4 dimensions, got shape {}", weight.str());
  if (input[1] != weight[1]) fail("conv2d: input has {} channels, weight expects {}", input[1], weight[1]);
  if (params.stride < 1) fail("conv2d: stride must be at least 1, got {}", params.stride);
  if (params.padding < 0) fail("conv2d: padding must be non-negative, got {}", params.padding);
  if (weight[2] < 1 || weight[3] < 1)
    fail("conv2d: the kernel must be at least 1x1, got weight shape {}", weight.str());
  std::int64_t padded_height = input[2] + 2 * params.padding, padded_width = input[3] + 2 * params.padding;
  if (weight[2] > padded_height || weight[3] > padded_width)
    fail("conv2d: kernel {}x{} does not fit the input {}x{} with padding {}", weight[2], weight[3], input[2], input[3],
         params.padding);
  cpu::Conv2dShape shape;
  shape.batch = input[0];
  shape.in_channels = input[1];
  shape.height = input[2];
  shape.width = input[3];
  shape.out_channels = weight[0];
  shape.kernel_height = weight[2];
  shape.kernel_width = weight[3];
  shape.stride = params.stride;
  shape.padding = params.padding;
  shape.out_height = (padded_height - shape.kernel_height) / shape.stride + 1;
  shape.out_width = (padded_width - shape.kernel_width) / shape.stride + 1;
  return shape;
}

// The data of an optional tensor: nullptr when it is undefined.
template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

Shape conv2d_output_shape(const Shape& input, const Shape& weight, Conv2dParams params) {
  cpu::Conv2dShape shape = conv2d_shape(input, weight, params);
  return Shape{shape.batch, shape.out_channels, shape.out_height, shape.out_width};
}

void conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, Tensor& output,
                    Conv2dParams params) {
  Device device =
      common_float_device("conv2d", {{"input", &input}, {"weight", &weight}, {"bias", &bias}, {"output", &output}});
  check_rank(weight, 4, "conv2d", "weight");
  cpu::Conv2dShape shape = conv2d_shape(input.shape(), weight.shape(), params);
  if (bias.defined()) check_shape(bias, Shape{shape.out_channels}, "conv2d", "bias");
  check_shape(output, conv2d_output_shape(input.shape(), weight.shape(), params), "conv2d", "output");

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(input, DType::f32, "conv2d on cuda", "input");
    // Every implementation takes the same arguments.
    auto forward = cuda::conv2d_forward;
    if (implementation(Op::conv2d, DeviceType::CUDA) == Implementation::cublas) forward = cublas::conv2d_forward;
#if defined(MINIDL_WITH_CUDNN)
    if (implementation(Op::conv2d, DeviceType::CUDA) == Implementation::cudnn) forward = cudnn::conv2d_forward;
#endif
    forward(input.data<float>(), weight.data<float>(), data_or_null<float>(bias), output.data<float>(), shape,
            /*stream=*/nullptr);
    return;
#else
    no_cuda_implementation("conv2d");
#endif
  }
  if (input.dtype() == DType::f32 && implementation(Op::conv2d, DeviceType::CPU) == Implementation::gemm) {
    cpu::conv2d_forward_gemm(input.data<float>(), weight.data<float>(), data_or_null<float>(bias),
                             output.data<float>(), shape);
    return;
  }
  // The CPU reference, run in the tensors' dtype T.
  visit_float_dtype(input.dtype(), [&]<typename T>(T) {
    cpu::conv2d_forward(input.data<T>(), weight.data<T>(), data_or_null<T>(bias), output.data<T>(), shape);
  });
}

void conv2d_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight, Tensor& grad_input,
                     Tensor& grad_weight, Tensor& grad_bias, Conv2dParams params) {
  Device device = common_float_device("conv2d", {{"grad_output", &grad_output},
                                                 {"input", &input},
                                                 {"weight", &weight},
                                                 {"grad_input", &grad_input},
                                                 {"grad_weight", &grad_weight},
                                                 {"grad_bias", &grad_bias}});
  check_rank(input, 4, "conv2d", "input");
  check_rank(weight, 4, "conv2d", "weight");
  cpu::Conv2dShape shape = conv2d_shape(input.shape(), weight.shape(), params);
  check_shape(grad_output, conv2d_output_shape(input.shape(), weight.shape(), params), "conv2d", "grad_output");
  if (grad_input.defined()) check_shape(grad_input, input.shape(), "conv2d", "grad_input");
  check_shape(grad_weight, weight.shape(), "conv2d", "grad_weight");
  if (grad_bias.defined()) check_shape(grad_bias, Shape{shape.out_channels}, "conv2d", "grad_bias");

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(grad_output, DType::f32, "conv2d on cuda", "grad_output");
    auto backward = cuda::conv2d_backward;
    if (implementation(Op::conv2d, DeviceType::CUDA) == Implementation::cublas) backward = cublas::conv2d_backward;
#if defined(MINIDL_WITH_CUDNN)
    if (implementation(Op::conv2d, DeviceType::CUDA) == Implementation::cudnn) backward = cudnn::conv2d_backward;
#endif
    backward(grad_output.data<float>(), input.data<float>(), weight.data<float>(), data_or_null<float>(grad_input),
             grad_weight.data<float>(), data_or_null<float>(grad_bias), shape, /*stream=*/nullptr);
    return;
#else
    no_cuda_implementation("conv2d");
#endif
  }
  if (input.dtype() == DType::f32 && implementation(Op::conv2d, DeviceType::CPU) == Implementation::gemm) {
    cpu::conv2d_backward_gemm(grad_output.data<float>(), input.data<float>(), weight.data<float>(),
                              data_or_null<float>(grad_input), grad_weight.data<float>(),
                              data_or_null<float>(grad_bias), shape);
    return;
  }
  // The CPU reference, run in the tensors' dtype T.
  visit_float_dtype(input.dtype(), [&]<typename T>(T) {
    cpu::conv2d_backward(grad_output.data<T>(), input.data<T>(), weight.data<T>(), data_or_null<T>(grad_input),
                         grad_weight.data<T>(), data_or_null<T>(grad_bias), shape);
  });
}

}  // namespace minidl::ops
