// Cross-entropy with label smoothing, exercise 4 (README.md), as
// torch.nn.CrossEntropyLoss(label_smoothing=eps) (reduction "mean", no class weights).
//
// The target of row n is no longer one-hot: it keeps 1 - eps on the label y and spreads
// eps evenly over the K classes, q[k] = (1 - eps) [k == y] + eps / K. With
// p = softmax(x) and log p[k] = x[k] - logsumexp(x):
//   loss = (1/N) sum_n -sum_k q[k] log p[k]
//        = (1/N) sum_n [ (1 - eps) (logsumexp(x) - x[y]) + (eps / K) sum_k (logsumexp(x) - x[k]) ]
//   grad_logits[n, k] = (p[k] - q[k]) / N
// eps = 0 is ops::cross_entropy_forward_backward's loss and gradient (kernels/cross_entropy.h).
#pragma once

#include <cstdint>

#include "minidl/core/tensor.h"

namespace minidl::exercises {

// The CPU reference (label_smoothing_reference.cpp, the exercise's part 1). T is float or double.
namespace cpu {

// logits (N, K), labels (N) in [0, K) -> loss (1) and grad_logits (N, K), overwritten.
template <typename T>
void cross_entropy_label_smoothing(const T* logits, const std::int32_t* labels, T* loss, T* grad_logits,
                                   std::int64_t N, std::int64_t K, T label_smoothing);

}  // namespace cpu

// The Tensor-level op (label_smoothing.cpp): checks devices, dtypes, shapes and that
// label_smoothing is in [0, 1], then runs the CPU reference (f32 or f64) or the CUDA
// kernel (f32, label_smoothing_kernels.cu, the exercise's part 2). loss has shape (1),
// grad_logits the logits' shape; labels are i32 in [0, K).
void cross_entropy_label_smoothing(const Tensor& logits, const Tensor& labels, double label_smoothing, Tensor& loss,
                                   Tensor& grad_logits);

}  // namespace minidl::exercises
