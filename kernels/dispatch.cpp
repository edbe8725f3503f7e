#include "minidl/kernels/dispatch.h"

namespace minidl::ops {

Device common_float_device(const char* op, std::initializer_list<NamedTensor> tensors) {
  const NamedTensor& first = *tensors.begin();
  if (!first.tensor->defined()) fail("{}: {} is undefined", op, first.name);
  Device device = first.tensor->device();
  DType dtype = first.tensor->dtype();
  if (dtype != DType::f32 && dtype != DType::f64)
    fail("{}: {} must have dtype f32 or f64, got {}", op, first.name, dtype_name(dtype));
  for (const NamedTensor& named : tensors) {
    if (!named.tensor->defined()) continue;
    check_device(*named.tensor, device, op, named.name);
    check_dtype(*named.tensor, dtype, op, named.name);
  }
  return device;
}

void no_cuda_implementation(const char* op) { fail("{}: no CUDA implementation in this build", op); }

}  // namespace minidl::ops
