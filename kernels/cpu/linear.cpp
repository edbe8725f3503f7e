// CPU reference of linear (contract: kernels/linear.h).
//
// Row-major storage: input[n, i] is input[n * in_features + i], weight[o, i] is
// weight[o * in_features + i], output[n, o] is output[n * out_features + o].
// Every dot product and sum is accumulated in double, also when T is float.
#include "minidl/kernels/cpu/linear.h"

namespace minidl::cpu {

// input (N, in), weight (out, in), bias (out) or nullptr -> output (N, out):
//   output[n, o] = bias[o] + sum_i input[n, i] * weight[o, i]        (output = input @ weight^T + bias)
template <typename T>
void linear_forward(const T* input, const T* weight, const T* bias, T* output, std::int64_t N,
                    std::int64_t in_features, std::int64_t out_features) {
  for (std::int64_t n = 0; n < N; ++n) {
    const T* x = input + n * in_features;
    for (std::int64_t o = 0; o < out_features; ++o) {
      const T* w = weight + o * in_features;
      // doc:linear-forward
      double sum = bias != nullptr ? bias[o] : 0.0;
      for (std::int64_t i = 0; i < in_features; ++i) sum += static_cast<double>(x[i]) * w[i];
      output[n * out_features + o] = static_cast<T>(sum);
    }
  }
}

// grad_output (N, out), input (N, in), weight (out, in):
//   grad_input[n, i]   = sum_o grad_output[n, o] * weight[o, i]   (overwritten; skipped when nullptr)
//   grad_weight[o, i] += sum_n grad_output[n, o] * input[n, i]    (accumulated)
//   grad_bias[o]      += sum_n grad_output[n, o]                  (accumulated; skipped when nullptr)
// In matrix form: grad_input = grad_output @ weight, grad_weight += grad_output^T @ input.
template <typename T>
void linear_backward(const T* grad_output, const T* input, const T* weight, T* grad_input, T* grad_weight,
                     T* grad_bias, std::int64_t N, std::int64_t in_features, std::int64_t out_features) {
  // doc:linear-grad-input
  if (grad_input != nullptr) {
    for (std::int64_t n = 0; n < N; ++n) {
      const T* dy = grad_output + n * out_features;
      for (std::int64_t i = 0; i < in_features; ++i) {
        double sum = 0.0;
        for (std::int64_t o = 0; o < out_features; ++o) sum += static_cast<double>(dy[o]) * weight[o * in_features + i];
        grad_input[n * in_features + i] = static_cast<T>(sum);
      }
    }
  }
  // doc:linear-grad-weight
  for (std::int64_t o = 0; o < out_features; ++o) {
    for (std::int64_t i = 0; i < in_features; ++i) {
      double sum = 0.0;
      for (std::int64_t n = 0; n < N; ++n)
        sum += static_cast<double>(grad_output[n * out_features + o]) * input[n * in_features + i];
      grad_weight[o * in_features + i] += static_cast<T>(sum);
    }
  }
  // doc:linear-grad-bias
  if (grad_bias != nullptr) {
    for (std::int64_t o = 0; o < out_features; ++o) {
      double sum = 0.0;
      for (std::int64_t n = 0; n < N; ++n) sum += grad_output[n * out_features + o];
      grad_bias[o] += static_cast<T>(sum);
    }
  }
}

template void linear_forward<float>(const float*, const float*, const float*, float*, std::int64_t, std::int64_t,
                                    std::int64_t);
template void linear_forward<double>(const double*, const double*, const double*, double*, std::int64_t,
                                     std::int64_t, std::int64_t);
template void linear_backward<float>(const float*, const float*, const float*, float*, float*, float*,
                                     std::int64_t, std::int64_t, std::int64_t);
template void linear_backward<double>(const double*, const double*, const double*, double*, double*, double*,
                                      std::int64_t, std::int64_t, std::int64_t);

}  // namespace minidl::cpu
