// The CPU reference of cross-entropy with label smoothing: the solution of exercise 4,
// part 1 (docs/exercises/4-label-smoothing/README.md). Sums in double, also for float.
#include <cmath>

#include "label_smoothing.h"

namespace minidl::exercises::cpu {

// For each row x = logits[n, :] with label y, m = max_k x[k] and eps = label_smoothing:
//   logsumexp = m + log sum_k exp(x[k] - m)
//   row loss  = (1 - eps) (logsumexp - x[y]) + eps (logsumexp - (1/K) sum_k x[k])
//   grad_logits[n, k] = (exp(x[k] - logsumexp) - (1 - eps) [k == y] - eps / K) / N
// and loss = (1/N) sum of the row losses.
template <typename T>
void cross_entropy_label_smoothing(const T* logits, const std::int32_t* labels, T* loss, T* grad_logits,
                                   std::int64_t N, std::int64_t K, T label_smoothing) {
  const double eps = label_smoothing;
  double loss_sum = 0.0;
  for (std::int64_t n = 0; n < N; ++n) {
    const T* x = logits + n * K;
    const std::int64_t label = labels[n];
    double max = x[0], sum_x = 0.0;
    for (std::int64_t k = 0; k < K; ++k) {
      if (x[k] > max) max = x[k];
      sum_x += x[k];
    }
    double sum_exp = 0.0;
    for (std::int64_t k = 0; k < K; ++k) sum_exp += std::exp(x[k] - max);
    const double logsumexp = max + std::log(sum_exp);
    loss_sum += (1.0 - eps) * (logsumexp - x[label]) + eps * (logsumexp - sum_x / K);

    T* dx = grad_logits + n * K;
    for (std::int64_t k = 0; k < K; ++k) {
      const double target = (k == label ? 1.0 - eps : 0.0) + eps / K;
      dx[k] = static_cast<T>((std::exp(x[k] - logsumexp) - target) / N);
    }
  }
  loss[0] = static_cast<T>(loss_sum / N);
}

template void cross_entropy_label_smoothing<float>(const float*, const std::int32_t*, float*, float*, std::int64_t,
                                                   std::int64_t, float);
template void cross_entropy_label_smoothing<double>(const double*, const std::int32_t*, double*, double*,
                                                    std::int64_t, std::int64_t, double);

}  // namespace minidl::exercises::cpu
