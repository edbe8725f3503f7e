// divergence_check at the Tensor level: validation, then the registered implementation
// that serves the tensors (kernels/registry.h).
#include "minidl/kernels/divergence_check.h"

#include "minidl/kernels/registry.h"

namespace minidl::ops {

void divergence_check(const Tensor& loss, std::span<const Tensor* const> gradients, bool skip_from_first_bad_step,
                      Tensor& state, Tensor& skip_update, Workspace* workspace) {
  const char* op = "divergence_check";
  const Device device = loss.device();
  if (loss.dtype() != DType::f32 && loss.dtype() != DType::f64)
    fail("{}: loss must have dtype f32 or f64, got {}", op, dtype_name(loss.dtype()));
  if (loss.numel() != 1) fail("{}: loss must have one element, got shape {}", op, loss.shape().str());
  for (const Tensor* gradient : gradients) {
    check_device(*gradient, device, op, "gradient");
    check_dtype(*gradient, loss.dtype(), op, "gradient");
  }
  check_device(state, device, op, "state");
  check_dtype(state, DType::i64, op, "state");
  check_shape(state, Shape{3}, op, "state");
  check_device(skip_update, device, op, "skip_update");
  check_dtype(skip_update, DType::i64, op, "skip_update");
  check_shape(skip_update, Shape{1}, op, "skip_update");
  Workspace scratch;
  registries().divergence_check.select(device.type, loss.dtype(), {}).functions.check(
      {loss, gradients, skip_from_first_bad_step, state, skip_update, workspace ? *workspace : scratch});
}

}  // namespace minidl::ops
