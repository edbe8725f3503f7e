// step_metrics at the Tensor level: validation, then the registered implementation that
// serves the tensors (kernels/registry.h).
#include "minidl/kernels/step_metrics.h"

#include "minidl/kernels/registry.h"

namespace minidl::ops {

void accumulate_step_metrics(const Tensor& loss, const Tensor& num_correct, Tensor& total_loss, Tensor& correct) {
  const char* op = "accumulate_step_metrics";
  const Device device = loss.device();
  auto check_one_value = [&](const Tensor& tensor, DType dtype, const char* name) {
    check_device(tensor, device, op, name);
    check_dtype(tensor, dtype, op, name);
    if (tensor.numel() != 1) fail("{}: {} must have one element, got shape {}", op, name, tensor.shape().str());
  };
  check_one_value(loss, DType::f32, "loss");
  check_one_value(num_correct, DType::i32, "num_correct");
  check_one_value(total_loss, DType::f64, "total_loss");
  check_one_value(correct, DType::i64, "correct");
  registries().step_metrics.select(device.type, DType::f32, {}).functions.accumulate(
      {loss, num_correct, total_loss, correct});
}

}  // namespace minidl::ops
