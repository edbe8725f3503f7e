#include "minidl/kernels/cpu/linear_gemm.h"

#include <algorithm>

#include "minidl/kernels/cpu/gemm.h"

namespace minidl::cpu {

// doc:linear-forward-gemm
void linear_forward_gemm(const float* input, const float* weight, const float* bias, float* output, std::int64_t N,
                         std::int64_t in_features, std::int64_t out_features) {
  // output[n] = bias, then += input · weightᵀ (weight read as its transpose).
  for (std::int64_t n = 0; n < N; ++n) {
    float* row = output + n * out_features;
    if (bias != nullptr)
      std::copy(bias, bias + out_features, row);
    else
      std::fill(row, row + out_features, 0.0f);
  }
  parallel_gemm(N, out_features, in_features, row_major(input, in_features), transposed(weight, in_features), output,
                out_features, /*accumulate=*/true);
}

void linear_backward_gemm(const float* grad_output, const float* input, const float* weight, float* grad_input,
                          float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t in_features,
                          std::int64_t out_features) {
  // doc:linear-grad-input-gemm
  if (grad_input != nullptr)
    parallel_gemm(N, in_features, out_features, row_major(grad_output, out_features), row_major(weight, in_features),
                  grad_input, in_features, /*accumulate=*/false);
  // doc:linear-grad-weight-gemm
  parallel_gemm(out_features, in_features, N, transposed(grad_output, out_features), row_major(input, in_features),
                grad_weight, in_features, /*accumulate=*/true);
  // doc:linear-grad-bias-gemm
  if (grad_bias != nullptr) {
    for (std::int64_t o = 0; o < out_features; ++o) {
      float sum = 0.0f;
      for (std::int64_t n = 0; n < N; ++n) sum += grad_output[n * out_features + o];
      grad_bias[o] += sum;
    }
  }
}

}  // namespace minidl::cpu
