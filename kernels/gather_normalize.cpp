// gather_normalize at the Tensor level: validation, then the registered implementation
// that serves the tensors (kernels/registry.h).
#include "minidl/kernels/gather_normalize.h"

#include "minidl/kernels/registry.h"

namespace minidl::ops {

void gather_normalize(const Tensor& images, const Tensor& indices, const Tensor& mean, const Tensor& stddev,
                      Tensor& output) {
  const char* op = "gather_normalize";
  const Device device = images.device();
  check_rank(images, 4, op, "images");
  check_dtype(images, DType::u8, op, "images");
  const std::int64_t B = indices.numel(), C = images.size(1);
  check_dtype(indices, DType::i64, op, "indices");
  check_shape(indices, Shape{B}, op, "indices");
  check_shape(mean, Shape{C}, op, "mean");
  check_shape(stddev, Shape{C}, op, "stddev");
  check_dtype(mean, DType::f32, op, "mean");
  check_dtype(stddev, DType::f32, op, "stddev");
  check_shape(output, Shape{B, C, images.size(2), images.size(3)}, op, "output");
  check_dtype(output, DType::f32, op, "output");
  check_device(indices, device, op, "indices");
  check_device(mean, device, op, "mean");
  check_device(stddev, device, op, "stddev");
  check_device(output, device, op, "output");
  registries().gather_normalize.select(device.type, DType::f32, {&images, &output}).functions.gather(
      {images, indices, mean, stddev, output});
}

}  // namespace minidl::ops
