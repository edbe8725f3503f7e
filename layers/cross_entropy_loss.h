/// \file
/// CrossEntropyLoss: torch.nn.CrossEntropyLoss() (mean over the batch), with the
/// count of correct predictions. The math is in kernels/cross_entropy.h.
///
///   Tensor loss = criterion.forward(logits, labels);   // shape (1), on the logits' device
///   Tensor grad_logits = criterion.backward();          // d loss / d logits
/// Results stay on the device: reading them (item()) is the caller's choice.
#pragma once

#include "minidl/core/tensor.h"

namespace minidl::nn {

/// Softmax cross-entropy, mean over the batch, and the correct count; see the top of this file.
class CrossEntropyLoss {
 public:
  /// logits (N, K) f32/f64, labels (N) i32. Also computes the gradient unless a NoGradGuard is alive.
  Tensor forward(const Tensor& logits, const Tensor& labels);
  /// d loss / d logits of the last forward; throws Error when it kept none.
  Tensor backward();
  /// Correct argmax predictions of the last forward: i32, shape (1).
  const Tensor& num_correct() const { return num_correct_; }
  /// PyTorch's repr: "CrossEntropyLoss()".
  std::string repr() const { return "CrossEntropyLoss()"; }

 private:
  Tensor loss_, grad_logits_, num_correct_;
  bool has_grad_ = false;
};

}  // namespace minidl::nn
