// max_pool2d at the Tensor level: validation, then the registered implementation that
// serves the tensors (kernels/registry.h).
#include "minidl/kernels/max_pool2d.h"

#include <cstdint>
#include <limits>

#include "minidl/kernels/dispatch.h"
#include "minidl/kernels/registry.h"

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
  registries().max_pool2d.select(device.type, input.dtype(), {&input}).functions.forward(
      {input, output, indices, shape});
}

void max_pool2d_backward(const Tensor& grad_output, const Tensor& indices, Tensor& grad_input,
                         MaxPool2dParams params, bool after_relu, const Tensor& output) {
  Device device = common_float_device("max_pool2d", {{"grad_output", &grad_output}, {"grad_input", &grad_input}});
  check_rank(grad_input, 4, "max_pool2d", "grad_input");
  cpu::MaxPool2dShape shape = max_pool2d_shape(grad_input.shape(), params);
  Shape output_shape = max_pool2d_output_shape(grad_input.shape(), params);
  check_dtype(indices, DType::i32, "max_pool2d", "indices");
  check_device(indices, device, "max_pool2d", "indices");
  check_shape(grad_output, output_shape, "max_pool2d", "grad_output");
  check_shape(indices, output_shape, "max_pool2d", "indices");
  if (after_relu) {
    if (!output.defined()) fail("max_pool2d backward: after_relu needs the forward's output, got none");
    check_shape(output, output_shape, "max_pool2d", "output");
    check_dtype(output, grad_output.dtype(), "max_pool2d", "output");
    check_device(output, device, "max_pool2d", "output");
  }
  const auto& registry = registries().max_pool2d;
  auto chosen = registry.select(device.type, grad_output.dtype(), {&grad_input});
  registry.check_after_relu(chosen.info, after_relu);
  chosen.functions.backward({grad_output, indices, output, grad_input, shape, after_relu});
}

}  // namespace minidl::ops
