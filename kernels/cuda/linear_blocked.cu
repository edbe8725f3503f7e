// linear kernels, rung 2: three GEMM problems for gemm_blocked.cuh; the bias gradient is
// rung 1's column sum (linear.h). Each problem says which way its operands are contiguous, so that the
// tile loads coalesce (the rung below read weight^T and grad_output^T across a warp).
#include "minidl/kernels/cuda/linear_blocked.h"

#include "minidl/kernels/cuda/gemm_blocked.cuh"
#include "minidl/kernels/cuda/linear.h"

namespace minidl::cuda {

namespace {

// doc:linear-blocked-forward
//   output[n, o] = activation(bias[o] + sum_i input[n, i] * weight[o, i])
// A(n, i) = input[n, i] and B(i, o) = weight[o, i]: both contiguous in i, the depth.
struct LinearForward {
  static constexpr bool kAContiguousInK = true, kBContiguousInK = true;
  int rows, cols, depth, batches;  // N, out_features, in_features, 1
  const float* input;
  const float* weight;
  const float* bias;
  float* output;
  ops::Activation activation;

  struct ARow { int base; };
  struct BColumn { int base; };
  __device__ ARow a_row(int, int n) const { return {n * depth}; }
  __device__ BColumn b_column(int, int o) const { return {o * depth}; }
  __device__ float a(const ARow& row, int i) const { return input[row.base + i]; }
  __device__ float b(const BColumn& column, int i) const { return weight[column.base + i]; }
  __device__ void store(int n, int o, float sum) const {
    float value = bias != nullptr ? sum + bias[o] : sum;
    if (activation == ops::Activation::relu) value = value < 0.0f ? 0.0f : value;
    output[n * cols + o] = value;
  }
};

// doc:linear-blocked-grad-input
//   grad_input[n, i] = sum_o grad_output[n, o] * weight[o, i]
// A(n, o) = grad_output[n, o], contiguous in o; B(o, i) = weight[o, i], contiguous in i.
struct LinearGradInput {
  static constexpr bool kAContiguousInK = true, kBContiguousInK = false;
  int rows, cols, depth, batches;  // N, in_features, out_features, 1
  const float* grad_output;
  const float* weight;
  float* grad_input;

  struct ARow { int base; };
  struct BColumn { int i; };
  __device__ ARow a_row(int, int n) const { return {n * depth}; }
  __device__ BColumn b_column(int, int i) const { return {i}; }
  __device__ float a(const ARow& row, int o) const { return grad_output[row.base + o]; }
  __device__ float b(const BColumn& column, int o) const { return weight[o * cols + column.i]; }
  __device__ void store(int n, int i, float sum) const { grad_input[n * cols + i] = sum; }
};

// doc:linear-blocked-grad-weight
//   grad_weight[o, i] += sum_n grad_output[n, o] * input[n, i]
// A(o, n) = grad_output[n, o], contiguous in o (the rows); B(n, i) = input[n, i], contiguous in i.
struct LinearGradWeight {
  static constexpr bool kAContiguousInK = false, kBContiguousInK = false;
  int rows, cols, depth, batches;  // out_features, in_features, N, 1
  const float* grad_output;
  const float* input;
  float* grad_weight;

  struct ARow { int o; };
  struct BColumn { int i; };
  __device__ ARow a_row(int, int o) const { return {o}; }
  __device__ BColumn b_column(int, int i) const { return {i}; }
  __device__ float a(const ARow& row, int n) const { return grad_output[n * rows + row.o]; }
  __device__ float b(const BColumn& column, int n) const { return input[n * cols + column.i]; }
  __device__ void store(int o, int i, float sum) const { grad_weight[o * cols + i] += sum; }
};

}  // namespace

std::int64_t linear_blocked_forward_scratch(std::int64_t N, std::int64_t in_features, std::int64_t out_features) {
  const LinearSizes z = linear_sizes(N, in_features, out_features, "linear (blocked)");
  return gemm_partials_size(plan_gemm(z.N, z.out, z.in, 1), z.N, z.out);
}

std::int64_t linear_blocked_backward_scratch(std::int64_t N, std::int64_t in_features, std::int64_t out_features,
                                             bool grad_input) {
  const LinearSizes z = linear_sizes(N, in_features, out_features, "linear (blocked)");
  const std::int64_t input_partials = grad_input ? gemm_partials_size(plan_gemm(z.N, z.in, z.out, 1), z.N, z.in) : 0;
  return std::max(input_partials, gemm_partials_size(plan_gemm(z.out, z.in, z.N, 1), z.out, z.in));
}

void linear_blocked_forward(const float* input, const float* weight, const float* bias, float* output, std::int64_t N,
                            std::int64_t in_features, std::int64_t out_features, ops::Activation activation,
                            float* scratch, cudaStream_t stream) {
  const LinearSizes z = linear_sizes(N, in_features, out_features, "linear (blocked)");
  LinearForward problem{z.N, z.out, z.in, 1, input, weight, bias, output, activation};
  gemm_blocked(problem, plan_gemm(z.N, z.out, z.in, 1), scratch, stream);
}

void linear_blocked_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                             float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t in_features,
                             std::int64_t out_features, float* scratch, cudaStream_t stream) {
  const LinearSizes z = linear_sizes(N, in_features, out_features, "linear (blocked)");
  if (grad_input != nullptr) {
    LinearGradInput problem{z.N, z.in, z.out, 1, grad_output, weight, grad_input};
    gemm_blocked(problem, plan_gemm(z.N, z.in, z.out, 1), scratch, stream);
  }
  LinearGradWeight problem{z.out, z.in, z.N, 1, grad_output, input, grad_weight};
  gemm_blocked(problem, plan_gemm(z.out, z.in, z.N, 1), scratch, stream);
  if (grad_bias != nullptr) linear_grad_bias(grad_output, grad_bias, N, out_features, stream);
}

}  // namespace minidl::cuda
