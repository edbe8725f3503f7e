// linear kernels, rung 1 (`tiled`): three GEMM problems for the tiled GEMM of kernels/cuda/tiled_gemm.cuh
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
  int rows, cols, depth;  // N, out_features, in_features
  const float* input;
  const float* weight;
  const float* bias;
  float* output;

  __device__ float a(int n, int i) const { return input[n * depth + i]; }
  __device__ float b(int i, int o) const { return weight[o * depth + i]; }
  __device__ void store(int n, int o, float sum) const {
    output[n * cols + o] = bias != nullptr ? sum + bias[o] : sum;
  }
};

// doc:linear-grad-input
//   grad_input[n, i] = sum_o grad_output[n, o] * weight[o, i]
// C = grad_input (N x in), A = grad_output (N x out), B = weight (out x in).
struct LinearGradInput {
  int rows, cols, depth;  // N, in_features, out_features
  const float* grad_output;
  const float* weight;
  float* grad_input;

  __device__ float a(int n, int o) const { return grad_output[n * depth + o]; }
  __device__ float b(int o, int i) const { return weight[o * cols + i]; }
  __device__ void store(int n, int i, float sum) const { grad_input[n * cols + i] = sum; }
};

// doc:linear-grad-weight
//   grad_weight[o, i] += sum_n grad_output[n, o] * input[n, i]
// C = grad_weight (out x in), A = grad_output^T (out x N), B = input (N x in).
struct LinearGradWeight {
  int rows, cols, depth;  // out_features, in_features, N
  const float* grad_output;
  const float* input;
  float* grad_weight;

  __device__ float a(int o, int n) const { return grad_output[n * rows + o]; }
  __device__ float b(int n, int i) const { return input[n * cols + i]; }
  __device__ void store(int o, int i, float sum) const { grad_weight[o * cols + i] += sum; }
};

// doc:linear-grad-bias
//   grad_bias[o] += sum_n grad_output[n, o]
// Thread o computes column o, adding its N values in order (neighbouring threads
// read neighbouring columns of a row). No shared memory, no barriers.
__global__ void column_sum_kernel(const float* grad_output, float* grad_bias, int N, int out_features) {
  const int o = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (o >= out_features) return;
  float sum = 0.0f;
  for (int n = 0; n < N; ++n) sum += grad_output[n * out_features + o];
  grad_bias[o] += sum;
}

}  // namespace

LinearSizes linear_sizes(std::int64_t N, std::int64_t in_features, std::int64_t out_features,
                         const char* implementation) {
  as_index(N * in_features, implementation, "N*in_features");
  as_index(N * out_features, implementation, "N*out_features");
  as_index(in_features * out_features, implementation, "in_features*out_features");
  return {static_cast<int>(N), static_cast<int>(in_features), static_cast<int>(out_features)};
}

void linear_forward(const float* input, const float* weight, const float* bias, float* output, std::int64_t N,
                    std::int64_t in_features, std::int64_t out_features, cudaStream_t stream) {
  const LinearSizes z = linear_sizes(N, in_features, out_features, "linear (tiled)");
  tiled_gemm(LinearForward{z.N, z.out, z.in, input, weight, bias, output}, stream);
}

void linear_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                     float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t in_features,
                     std::int64_t out_features, cudaStream_t stream) {
  const LinearSizes z = linear_sizes(N, in_features, out_features, "linear (tiled)");
  if (grad_input != nullptr) tiled_gemm(LinearGradInput{z.N, z.in, z.out, grad_output, weight, grad_input}, stream);
  tiled_gemm(LinearGradWeight{z.out, z.in, z.N, grad_output, input, grad_weight}, stream);
  if (grad_bias != nullptr) linear_grad_bias(grad_output, grad_bias, N, out_features, stream);
}

void linear_grad_bias(const float* grad_output, float* grad_bias, std::int64_t N, std::int64_t out_features,
                      cudaStream_t stream) {
  const LinearSizes z = linear_sizes(N, 1, out_features, "linear (bias gradient)");
  if (z.out == 0) return;
  launch(column_sum_kernel, {blocks_for(z.out, kThreads), kThreads, 0, stream, elements(std::int64_t{z.N} * z.out)},
         grad_output, grad_bias, z.N, z.out);
}

}  // namespace minidl::cuda
