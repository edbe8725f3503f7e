/// \file
/// cross_entropy: softmax cross-entropy averaged over the batch, as torch.nn.CrossEntropyLoss
/// (reduction "mean"), fused with its gradient and the count of correct predictions.
///
///   logits (N, K), labels (N) i32 in [0, K)
///   loss = (1/N) sum_n [ logsumexp(logits[n, :]) - logits[n, labels[n]] ]      (shape (1))
///   grad_logits[n, k] = (softmax(logits[n, :])[k] - [k == labels[n]]) / N       (N, K)
///   num_correct = #{ n : argmax_k logits[n, k] == labels[n] }  (i32, shape (1); first maximum on ties)
/// logsumexp subtracts the row maximum first, so large logits do not overflow.
#pragma once

#include "minidl/core/tensor.h"

namespace minidl::ops {

/// grad_logits may be undefined (evaluation: loss and count only).
void cross_entropy_forward_backward(const Tensor& logits, const Tensor& labels, Tensor& loss,
                                    Tensor& grad_logits, Tensor& num_correct);

/// What an implementation receives: validated tensors (grad_logits may be undefined).
/// Labels outside [0, K) are the implementation's to handle: the CPU reference throws
/// Error naming the row, the CUDA kernel (which cannot throw without a host
/// synchronisation) makes the loss NaN.
struct CrossEntropyArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& logits;
  const Tensor& labels;
  Tensor& loss;
  Tensor& grad_logits;
  Tensor& num_correct;
  ///@}
};

/// The entry point of one cross_entropy implementation (kernels/registry.h).
struct CrossEntropyFunctions {
  ///@{
  /// The entry points, each called with the validated arguments of one call.
  void (*forward_backward)(const CrossEntropyArgs& args);
  ///@}
};

}  // namespace minidl::ops
