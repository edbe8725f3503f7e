// The padded max-pooling op: validation, the forward of the exercise, and the backward,
// which is max pooling's own (kernels/cpu/max_pool2d.h): an index names an element of the
// unpadded plane, so routing the gradient needs no change. Given: exercise 3 is
// max_pool2d_padding_reference.cpp.
#include "max_pool2d_padding.h"

#include "minidl/kernels/cpu/max_pool2d.h"
#include "minidl/kernels/dispatch.h"

namespace minidl::exercises {

namespace {

Shape output_shape(const PaddedMaxPool2dShape& s) { return {s.batch, s.channels, s.out_height, s.out_width}; }

void check_cpu(Device device) {
  if (!device.is_cpu()) fail("max_pool2d with padding: the exercise has a CPU implementation only");
}

}  // namespace

void padded_max_pool2d_forward(const Tensor& input, Tensor& output, Tensor& indices, PaddedMaxPool2dParams params) {
  check_cpu(ops::common_float_device("max_pool2d", {{"input", &input}, {"output", &output}}));
  const PaddedMaxPool2dShape shape = padded_max_pool2d_shape(input.shape(), params);
  check_shape(output, output_shape(shape), "max_pool2d", "output");
  check_shape(indices, output_shape(shape), "max_pool2d", "indices");
  check_dtype(indices, DType::i32, "max_pool2d", "indices");
  ops::visit_float_dtype(input.dtype(), [&]<typename T>(T) {
    cpu::padded_max_pool2d_forward(input.data<T>(), output.data<T>(), indices.data<std::int32_t>(), shape);
  });
}

void padded_max_pool2d_backward(const Tensor& grad_output, const Tensor& indices, Tensor& grad_input,
                                PaddedMaxPool2dParams params) {
  check_cpu(ops::common_float_device("max_pool2d", {{"grad_output", &grad_output}, {"grad_input", &grad_input}}));
  const PaddedMaxPool2dShape shape = padded_max_pool2d_shape(grad_input.shape(), params);
  check_shape(grad_output, output_shape(shape), "max_pool2d", "grad_output");
  check_shape(indices, output_shape(shape), "max_pool2d", "indices");
  check_dtype(indices, DType::i32, "max_pool2d", "indices");
  // doc:padded-max-pool2d-backward
  // Max pooling's backward reads only the plane sizes (H, W, OH, OW) and the indices.
  const minidl::cpu::MaxPool2dShape planes{shape.batch,       shape.channels, shape.height,     shape.width,
                                           shape.kernel_size, shape.stride,   shape.out_height, shape.out_width};
  ops::visit_float_dtype(grad_output.dtype(), [&]<typename T>(T) {
    minidl::cpu::max_pool2d_backward(grad_output.data<T>(), indices.data<std::int32_t>(), grad_input.data<T>(),
                                     planes);
  });
}

}  // namespace minidl::exercises
