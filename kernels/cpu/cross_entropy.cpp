// CPU reference of cross_entropy (contract: kernels/cross_entropy.h).
//
// Row n of the logits is logits[n * K .. n * K + K). Sums are accumulated in
// double, also when T is float.
#include "minidl/kernels/cpu/cross_entropy.h"

#include <cmath>

namespace minidl::cpu {

// logits (N, K), labels (N) in [0, K) -> loss (1), grad_logits (N, K) or nullptr, num_correct (1).
// For each row x = logits[n, :] with label y and m = max_k x[k]:
//   logsumexp(x) = m + log sum_k exp(x[k] - m)       (every exponent <= 0: no overflow)
//   loss        = (1/N) sum_n [ logsumexp(x) - x[y] ]
//   grad_logits[n, k] = (exp(x[k] - logsumexp(x)) - [k == y]) / N   (softmax minus one-hot, overwritten)
//   num_correct = #{ n : argmax_k x[k] == y }, the argmax being the first maximum on ties
template <typename T>
void cross_entropy_forward_backward(const T* logits, const std::int32_t* labels, T* loss, T* grad_logits,
                                    std::int32_t* num_correct, std::int64_t N, std::int64_t K) {
  double loss_sum = 0.0;
  std::int32_t correct = 0;
  for (std::int64_t n = 0; n < N; ++n) {
    const T* x = logits + n * K;
    const std::int64_t label = labels[n];

    // doc:cross-entropy-argmax
    std::int64_t argmax = 0;
    for (std::int64_t k = 1; k < K; ++k)
      if (x[k] > x[argmax]) argmax = k;
    if (argmax == label) ++correct;

    // doc:cross-entropy-logsumexp
    const double max = x[argmax];
    double sum_exp = 0.0;
    for (std::int64_t k = 0; k < K; ++k) sum_exp += std::exp(x[k] - max);
    const double logsumexp = max + std::log(sum_exp);
    loss_sum += logsumexp - x[label];

    // doc:cross-entropy-grad
    if (grad_logits != nullptr) {
      T* dx = grad_logits + n * K;
      for (std::int64_t k = 0; k < K; ++k) {
        const double softmax = std::exp(x[k] - logsumexp);
        const double one_hot = k == label ? 1.0 : 0.0;
        dx[k] = static_cast<T>((softmax - one_hot) / N);
      }
    }
  }
  loss[0] = static_cast<T>(loss_sum / N);
  num_correct[0] = correct;
}

template void cross_entropy_forward_backward<float>(const float*, const std::int32_t*, float*, float*,
                                                    std::int32_t*, std::int64_t, std::int64_t);
template void cross_entropy_forward_backward<double>(const double*, const std::int32_t*, double*, double*,
                                                     std::int32_t*, std::int64_t, std::int64_t);

}  // namespace minidl::cpu
