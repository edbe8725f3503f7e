// linear kernels: three GEMM problems for the tiled GEMM of kernels/cuda/tiled_gemm.cuh
// (a thread per output element, 16 x 16 tiles of both factors in shared memory,
// two barriers per step over the depth), and a column-sum kernel for grad_bias.
#include "minidl/kernels/cuda/linear.h"

#include "minidl/kernels/cuda/kernel_support.cuh"
#include "minidl/kernels/cuda/tiled_gemm.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;

// doc:linear-forward
//   output[n, o] = bias[o] + sum_i input[n, i] * weight[o, i]
// C = output (N x out), A = input (N x in), B = weight^T (in x out).
struct LinearForward {
  std::int64_t rows, cols, depth;  // N, out_features, in_features
  const float* input;
  const float* weight;
  const float* bias;
  float* output;

  __device__ float a(std::int64_t n, std::int64_t i) const { return input[n * depth + i]; }
  __device__ float b(std::int64_t i, std::int64_t o) const { return weight[o * depth + i]; }
  __device__ void store(std::int64_t n, std::int64_t o, float sum) const {
    output[n * cols + o] = bias != nullptr ? sum + bias[o] : sum;
  }
};

// doc:linear-grad-input
//   grad_input[n, i] = sum_o grad_output[n, o] * weight[o, i]
// C = grad_input (N x in), A = grad_output (N x out), B = weight (out x in).
struct LinearGradInput {
  std::int64_t rows, cols, depth;  // N, in_features, out_features
  const float* grad_output;
  const float* weight;
  float* grad_input;

  __device__ float a(std::int64_t n, std::int64_t o) const { return grad_output[n * depth + o]; }
  __device__ float b(std::int64_t o, std::int64_t i) const { return weight[o * cols + i]; }
  __device__ void store(std::int64_t n, std::int64_t i, float sum) const { grad_input[n * cols + i] = sum; }
};

// doc:linear-grad-weight
//   grad_weight[o, i] += sum_n grad_output[n, o] * input[n, i]
// C = grad_weight (out x in), A = grad_output^T (out x N), B = input (N x in).
struct LinearGradWeight {
  std::int64_t rows, cols, depth;  // out_features, in_features, N
  const float* grad_output;
  const float* input;
  float* grad_weight;

  __device__ float a(std::int64_t o, std::int64_t n) const { return grad_output[n * rows + o]; }
  __device__ float b(std::int64_t n, std::int64_t i) const { return input[n * cols + i]; }
  __device__ void store(std::int64_t o, std::int64_t i, float sum) const { grad_weight[o * cols + i] += sum; }
};

// doc:linear-grad-bias
//   grad_bias[o] += sum_n grad_output[n, o]
// Thread o computes column o, adding its N values in order (neighbouring threads
// read neighbouring columns of a row). No shared memory, no barriers.
__global__ void column_sum_kernel(const float* grad_output, float* grad_bias, std::int64_t N,
                                  std::int64_t out_features) {
  const std::int64_t o = global_thread_index();
  if (o >= out_features) return;
  float sum = 0.0f;
  for (std::int64_t n = 0; n < N; ++n) sum += grad_output[n * out_features + o];
  grad_bias[o] += sum;
}

}  // namespace

void linear_forward(const float* input, const float* weight, const float* bias, float* output, std::int64_t N,
                    std::int64_t in_features, std::int64_t out_features, cudaStream_t stream) {
  tiled_gemm(LinearForward{N, out_features, in_features, input, weight, bias, output}, stream);
}

void linear_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                     float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t in_features,
                     std::int64_t out_features, cudaStream_t stream) {
  if (grad_input != nullptr)
    tiled_gemm(LinearGradInput{N, in_features, out_features, grad_output, weight, grad_input}, stream);
  tiled_gemm(LinearGradWeight{out_features, in_features, N, grad_output, input, grad_weight}, stream);
  if (grad_bias != nullptr && out_features > 0)
    launch(column_sum_kernel, {blocks_for(out_features, kThreads), kThreads, 0, stream, elements(N * out_features)}, grad_output, grad_bias, N,
           out_features);
}

}  // namespace minidl::cuda
