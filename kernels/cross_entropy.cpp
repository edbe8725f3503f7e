// cross_entropy at the Tensor level: validation, then the registered implementation that
// serves the tensors (kernels/registry.h).
#include "minidl/kernels/cross_entropy.h"

#include "minidl/kernels/dispatch.h"
#include "minidl/kernels/registry.h"

namespace minidl::ops {

void cross_entropy_forward_backward(const Tensor& logits, const Tensor& labels, Tensor& loss,
                                    Tensor& grad_logits, Tensor& num_correct) {
  const char* op = "cross_entropy";
  Device device = common_float_device(op, {{"logits", &logits}, {"loss", &loss}, {"grad_logits", &grad_logits}});
  check_rank(logits, 2, op, "logits");
  const std::int64_t N = logits.size(0);
  if (N == 0) fail("{}: the batch is empty, logits have shape {}", op, logits.shape().str());
  check_shape(labels, Shape{N}, op, "labels");
  check_dtype(labels, DType::i32, op, "labels");
  check_device(labels, device, op, "labels");
  check_shape(loss, Shape{1}, op, "loss");
  if (grad_logits.defined()) check_shape(grad_logits, logits.shape(), op, "grad_logits");
  check_shape(num_correct, Shape{1}, op, "num_correct");
  check_dtype(num_correct, DType::i32, op, "num_correct");
  check_device(num_correct, device, op, "num_correct");
  registries().cross_entropy.select(device.type, logits.dtype(), {&logits}).functions.forward_backward(
      {logits, labels, loss, grad_logits, num_correct});
}

}  // namespace minidl::ops
