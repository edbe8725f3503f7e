// The AvgPool2d op: validation and dispatch, as kernels/max_pool2d.cpp does for max
// pooling. Given: exercise 2 is the CPU reference (avg_pool2d_reference.cpp) and the
// kernels (avg_pool2d_kernels.cu).
#include "avg_pool2d.h"

#include "minidl/kernels/dispatch.h"
#if defined(MINIDL_WITH_CUDA)
#include "avg_pool2d_cuda.h"
#endif

namespace minidl::exercises {

namespace {

// The sizes of a pooling of this input, after max_pool2d_output_shape's checks.
PoolShape pool_shape(const Shape& input, AvgPool2dParams params) {
  Shape output = ops::max_pool2d_output_shape(input, params);
  return {input[0], input[1], input[2], input[3], params.kernel_size, params.stride, output[2], output[3]};
}

}  // namespace

void avg_pool2d_forward(const Tensor& input, Tensor& output, AvgPool2dParams params) {
  Device device = ops::common_float_device("avg_pool2d", {{"input", &input}, {"output", &output}});
  const PoolShape shape = pool_shape(input.shape(), params);
  check_shape(output, Shape{shape.batch, shape.channels, shape.out_height, shape.out_width}, "avg_pool2d", "output");
  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(input, DType::f32, "avg_pool2d on cuda", "input");
    cuda::avg_pool2d_forward(input.data<float>(), output.data<float>(), shape);
    return;
#else
    ops::no_cuda_implementation("avg_pool2d");
#endif
  }
  ops::visit_float_dtype(input.dtype(),
                         [&]<typename T>(T) { cpu::avg_pool2d_forward(input.data<T>(), output.data<T>(), shape); });
}

void avg_pool2d_backward(const Tensor& grad_output, Tensor& grad_input, AvgPool2dParams params) {
  Device device =
      ops::common_float_device("avg_pool2d", {{"grad_output", &grad_output}, {"grad_input", &grad_input}});
  const PoolShape shape = pool_shape(grad_input.shape(), params);
  check_shape(grad_output, Shape{shape.batch, shape.channels, shape.out_height, shape.out_width}, "avg_pool2d",
              "grad_output");
  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(grad_output, DType::f32, "avg_pool2d on cuda", "grad_output");
    cuda::avg_pool2d_backward(grad_output.data<float>(), grad_input.data<float>(), shape);
    return;
#else
    ops::no_cuda_implementation("avg_pool2d");
#endif
  }
  ops::visit_float_dtype(grad_output.dtype(), [&]<typename T>(T) {
    cpu::avg_pool2d_backward(grad_output.data<T>(), grad_input.data<T>(), shape);
  });
}

}  // namespace minidl::exercises
