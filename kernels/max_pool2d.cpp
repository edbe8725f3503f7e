#include "minidl/kernels/max_pool2d.h"

#include <cstdint>
#include <functional>
#include <limits>

#include "minidl/core/parallel.h"
#include "minidl/kernels/cpu/max_pool2d.h"
#include "minidl/kernels/cpu/max_pool2d_vectorized.h"
#include "minidl/kernels/dispatch.h"
#include "minidl/kernels/implementation.h"
#if defined(MINIDL_WITH_CUDA)
#include "minidl/kernels/cuda/max_pool2d.h"
#endif

namespace minidl::ops {

namespace {

// The sizes of a pooling of this input shape, after checking that the window fits.
cpu::MaxPool2dShape max_pool2d_shape(const Shape& input, MaxPool2dParams params) {
  if (input.rank() != 4) fail("max_pool2d: input must have 4 dimensions, got shape {}", input.str());
  if (params.kernel_size < 1) fail("max_pool2d: kernel_size must be at least 1, got {}", params.kernel_size);
  if (params.stride < 1) fail("max_pool2d: stride must be at least 1, got {}", params.stride);
  if (params.kernel_size > input[2] || params.kernel_size > input[3])
    fail("max_pool2d: kernel {}x{} does not fit the input {}x{}", params.kernel_size, params.kernel_size, input[2],
         input[3]);
  if (input[2] * input[3] > std::numeric_limits<std::int32_t>::max())
    fail("max_pool2d: the input plane {}x{} is too large for i32 indices", input[2], input[3]);
  cpu::MaxPool2dShape shape;
  shape.batch = input[0];
  shape.channels = input[1];
  shape.height = input[2];
  shape.width = input[3];
  shape.kernel_size = params.kernel_size;
  shape.stride = params.stride;
  shape.out_height = (shape.height - shape.kernel_size) / shape.stride + 1;
  shape.out_width = (shape.width - shape.kernel_size) / shape.stride + 1;
  return shape;
}

// Calls body(images, in, out) on the CPU threads for ranges of images (on the calling
// thread alone for a small input): images is shape restricted to the range, in and out
// the offsets of its first image in the input and the output.
void for_image_ranges(const cpu::MaxPool2dShape& shape,
                      const std::function<void(const cpu::MaxPool2dShape&, std::int64_t, std::int64_t)>& body) {
  parallel_for(shape.batch, shape.channels * shape.height * shape.width, [&](std::int64_t first, std::int64_t last) {
    cpu::MaxPool2dShape images = shape;
    images.batch = last - first;
    body(images, first * shape.channels * shape.height * shape.width,
         first * shape.channels * shape.out_height * shape.out_width);
  });
}

}  // namespace

Shape max_pool2d_output_shape(const Shape& input, MaxPool2dParams params) {
  cpu::MaxPool2dShape shape = max_pool2d_shape(input, params);
  return Shape{shape.batch, shape.channels, shape.out_height, shape.out_width};
}

void max_pool2d_forward(const Tensor& input, Tensor& output, Tensor& indices, MaxPool2dParams params) {
  Device device = common_float_device("max_pool2d", {{"input", &input}, {"output", &output}});
  cpu::MaxPool2dShape shape = max_pool2d_shape(input.shape(), params);
  Shape output_shape = max_pool2d_output_shape(input.shape(), params);
  check_dtype(indices, DType::i32, "max_pool2d", "indices");
  check_device(indices, device, "max_pool2d", "indices");
  check_shape(output, output_shape, "max_pool2d", "output");
  check_shape(indices, output_shape, "max_pool2d", "indices");

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(input, DType::f32, "max_pool2d on cuda", "input");
    cuda::max_pool2d_forward(input.data<float>(), output.data<float>(), indices.data<std::int32_t>(), shape);
    return;
#else
    no_cuda_implementation("max_pool2d");
#endif
  }
  // Ranges of images in parallel (images pool independently).
  if (input.dtype() == DType::f32 && implementation(Op::max_pool2d, DeviceType::CPU) == Implementation::vectorized) {
    for_image_ranges(shape, [&](const cpu::MaxPool2dShape& images, std::int64_t in, std::int64_t out) {
      cpu::max_pool2d_forward_vectorized(input.data<float>() + in, output.data<float>() + out,
                                         indices.data<std::int32_t>() + out, images);
    });
    return;
  }
  auto run_cpu = [&]<typename T>(T) {
    for_image_ranges(shape, [&](const cpu::MaxPool2dShape& images, std::int64_t in, std::int64_t out) {
      cpu::max_pool2d_forward(input.data<T>() + in, output.data<T>() + out, indices.data<std::int32_t>() + out, images);
    });
  };
  visit_float_dtype(input.dtype(), run_cpu);
}

void max_pool2d_backward(const Tensor& grad_output, const Tensor& indices, Tensor& grad_input,
                         MaxPool2dParams params) {
  Device device = common_float_device("max_pool2d", {{"grad_output", &grad_output}, {"grad_input", &grad_input}});
  check_rank(grad_input, 4, "max_pool2d", "grad_input");
  cpu::MaxPool2dShape shape = max_pool2d_shape(grad_input.shape(), params);
  Shape output_shape = max_pool2d_output_shape(grad_input.shape(), params);
  check_dtype(indices, DType::i32, "max_pool2d", "indices");
  check_device(indices, device, "max_pool2d", "indices");
  check_shape(grad_output, output_shape, "max_pool2d", "grad_output");
  check_shape(indices, output_shape, "max_pool2d", "indices");

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(grad_output, DType::f32, "max_pool2d on cuda", "grad_output");
    cuda::max_pool2d_backward(grad_output.data<float>(), indices.data<std::int32_t>(), grad_input.data<float>(),
                              shape);
    return;
#else
    no_cuda_implementation("max_pool2d");
#endif
  }
  // The reference, on ranges of images in parallel (each image's gradient stays in that image).
  auto run_cpu = [&]<typename T>(T) {
    for_image_ranges(shape, [&](const cpu::MaxPool2dShape& images, std::int64_t in, std::int64_t out) {
      cpu::max_pool2d_backward(grad_output.data<T>() + out, indices.data<std::int32_t>() + out,
                               grad_input.data<T>() + in, images);
    });
  };
  visit_float_dtype(grad_output.dtype(), run_cpu);
}

}  // namespace minidl::ops
