#include "minidl/layers/cross_entropy_loss.h"

#include "minidl/kernels/cross_entropy.h"
#include "minidl/layers/module.h"

namespace minidl::nn {

// Loss and gradient come from one fused pass over the logits: the gradient is
// computed during forward and handed out by backward.
Tensor CrossEntropyLoss::forward(const Tensor& logits, const Tensor& labels) {
  check_rank(logits, 2, "CrossEntropyLoss", "logits");
  reuse_or_allocate(loss_, {1}, logits.dtype(), logits.device());
  reuse_or_allocate(num_correct_, {1}, DType::i32, logits.device());
  has_grad_ = grad_enabled();
  Tensor no_grad;
  Tensor& grad = has_grad_ ? reuse_or_allocate(grad_logits_, logits.shape(), logits.dtype(), logits.device()) : no_grad;
  ops::cross_entropy_forward_backward(logits, labels, loss_, grad, num_correct_);
  return loss_;
}

Tensor CrossEntropyLoss::backward() {
  if (!has_grad_) fail("CrossEntropyLoss::backward: no gradient: call forward (outside a NoGradGuard) first");
  return grad_logits_;
}

}  // namespace minidl::nn
