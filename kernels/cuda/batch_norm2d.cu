// batch_norm2d kernels, rung 1 (`per_channel`).
//
// Training forward and both backwards: block c works on channel c alone (grid = C
// blocks of 256 threads). Its M = N*HW values are numbered m = n*HW + i (value i of
// image n's plane, at (n*C + c)*HW + i); thread t visits m = t, t + 256, t + 512, ...
// The per-channel sums are block_sum's (kernels/cuda/block_reduce.cuh): a warp
// shuffle, shared warp totals, two barriers, every thread gets the total. No float
// atomics: every sum has one fixed order. Thread 0 writes the per-channel results.
// Evaluation forward: one thread per element, no shared memory, no barriers.
#include "minidl/kernels/cuda/batch_norm2d.h"

#include <cmath>

#include "minidl/kernels/cuda/block_reduce.cuh"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;

// Where value m = n*HW + i of channel c lies in an (N, C, H, W) array.
__device__ int channel_element(int m, int c, int C, int HW) { return (m / HW * C + c) * HW + m % HW; }

// doc:batch-norm-batch-statistics, doc:batch-norm-forward, doc:batch-norm-running-stats
// Over the M values x of channel c = blockIdx.x:
//   mean = (1/M) sum x,   var = (1/M) sum (x - mean)^2   (two passes: more accurate than E[x^2] - mean^2)
//   invstd = 1 / sqrt(var + eps)
//   y = (x - mean) * invstd * weight[c] + bias[c]
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
__global__ void batch_norm2d_forward_train_kernel(const float* input, const float* weight, const float* bias,
                                                  float* running_mean, float* running_var, float* output,
                                                  float* save_mean, float* save_invstd, int N, int C, int HW,
                                                  float eps, float momentum) {
  const int c = static_cast<int>(blockIdx.x), M = N * HW;
  float sum = 0.0f;
  for (int m = static_cast<int>(threadIdx.x); m < M; m += static_cast<int>(blockDim.x)) sum += input[channel_element(m, c, C, HW)];
  const float mean = block_sum(sum) / static_cast<float>(M);
  float sum_sq_dev = 0.0f;
  for (int m = static_cast<int>(threadIdx.x); m < M; m += static_cast<int>(blockDim.x)) {
    const float dev = input[channel_element(m, c, C, HW)] - mean;
    sum_sq_dev += dev * dev;
  }
  const float var = block_sum(sum_sq_dev) / static_cast<float>(M);
  const float invstd = 1.0f / std::sqrt(var + eps);
  for (int m = static_cast<int>(threadIdx.x); m < M; m += static_cast<int>(blockDim.x)) {
    const int e = channel_element(m, c, C, HW);
    output[e] = (input[e] - mean) * invstd * weight[c] + bias[c];
  }
  if (threadIdx.x == 0) {
    const float unbiased_var = var * (static_cast<float>(M) / static_cast<float>(M - 1));
    running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
    running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbiased_var;
    save_mean[c] = mean;
    save_invstd[c] = invstd;
  }
}

// doc:batch-norm-eval-forward
// Thread i computes element i = ((n*C + c)*HW + hw) of the output:
//   y = (x - running_mean[c]) / sqrt(running_var[c] + eps) * weight[c] + bias[c]
__global__ void batch_norm2d_forward_eval_kernel(const float* input, const float* weight, const float* bias,
                                                 const float* running_mean, const float* running_var, float* output,
                                                 int count, int C, int HW, float eps) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= count) return;
  const int c = i / HW % C;
  const float invstd = 1.0f / std::sqrt(running_var[c] + eps);
  output[i] = (input[i] - running_mean[c]) * invstd * weight[c] + bias[c];
}

// doc:batch-norm-grad-params, doc:batch-norm-grad-input
// With dy = grad_output and x_hat = (x - save_mean[c]) * save_invstd[c], over channel c = blockIdx.x:
//   grad_bias[c]   += sum dy
//   grad_weight[c] += sum dy * x_hat
//   grad_input      = weight[c] * invstd / M * (M * dy - sum dy - x_hat * sum(dy * x_hat))
__global__ void batch_norm2d_backward_train_kernel(const float* grad_output, const float* input, const float* weight,
                                                   const float* save_mean, const float* save_invstd,
                                                   float* grad_input, float* grad_weight, float* grad_bias,
                                                   int N, int C, int HW) {
  const int c = static_cast<int>(blockIdx.x), M = N * HW;
  const float mean = save_mean[c], invstd = save_invstd[c];
  float sum_dy = 0.0f, sum_dy_xhat = 0.0f;
  for (int m = static_cast<int>(threadIdx.x); m < M; m += static_cast<int>(blockDim.x)) {
    const int e = channel_element(m, c, C, HW);
    sum_dy += grad_output[e];
    sum_dy_xhat += grad_output[e] * ((input[e] - mean) * invstd);
  }
  sum_dy = block_sum(sum_dy);
  sum_dy_xhat = block_sum(sum_dy_xhat);
  if (threadIdx.x == 0) {
    grad_bias[c] += sum_dy;
    grad_weight[c] += sum_dy_xhat;
  }
  const float scale = weight[c] * invstd / static_cast<float>(M);
  for (int m = static_cast<int>(threadIdx.x); m < M; m += static_cast<int>(blockDim.x)) {
    const int e = channel_element(m, c, C, HW);
    const float x_hat = (input[e] - mean) * invstd;
    grad_input[e] = scale * (static_cast<float>(M) * grad_output[e] - sum_dy - x_hat * sum_dy_xhat);
  }
}

// doc:batch-norm-eval-grad-input
// The statistics are constants, so with invstd = 1 / sqrt(running_var[c] + eps) and
// x_hat = (x - running_mean[c]) * invstd, over channel c = blockIdx.x:
//   grad_input      = dy * weight[c] * invstd
//   grad_weight[c] += sum dy * x_hat
//   grad_bias[c]   += sum dy
__global__ void batch_norm2d_backward_eval_kernel(const float* grad_output, const float* input, const float* weight,
                                                  const float* running_mean, const float* running_var,
                                                  float* grad_input, float* grad_weight, float* grad_bias,
                                                  int N, int C, int HW, float eps) {
  const int c = static_cast<int>(blockIdx.x), M = N * HW;
  const float mean = running_mean[c], invstd = 1.0f / std::sqrt(running_var[c] + eps);
  float sum_dy = 0.0f, sum_dy_xhat = 0.0f;
  for (int m = static_cast<int>(threadIdx.x); m < M; m += static_cast<int>(blockDim.x)) {
    const int e = channel_element(m, c, C, HW);
    sum_dy += grad_output[e];
    sum_dy_xhat += grad_output[e] * ((input[e] - mean) * invstd);
    grad_input[e] = weight[c] * invstd * grad_output[e];
  }
  sum_dy = block_sum(sum_dy);
  sum_dy_xhat = block_sum(sum_dy_xhat);
  if (threadIdx.x == 0) {
    grad_bias[c] += sum_dy;
    grad_weight[c] += sum_dy_xhat;
  }
}

// The sizes in 32 bits, after checking that the tensors' elements fit.
struct Sizes {
  int N, C, HW;
};

Sizes sizes_of(std::int64_t N, std::int64_t C, std::int64_t HW) {
  as_index(N * C * HW, "batch_norm2d (per_channel)", "N*C*H*W");
  return {static_cast<int>(N), static_cast<int>(C), static_cast<int>(HW)};
}

}  // namespace

void batch_norm2d_forward_train(const float* input, const float* weight, const float* bias, float* running_mean,
                                float* running_var, float* output, float* save_mean, float* save_invstd,
                                std::int64_t N, std::int64_t C, std::int64_t HW, float eps, float momentum,
                                cudaStream_t stream) {
  const Sizes z = sizes_of(N, C, HW);
  if (z.C == 0) return;
  launch(batch_norm2d_forward_train_kernel, {static_cast<unsigned>(z.C), kThreads, 0, stream, elements(3 * N * C * HW)},
         input, weight, bias, running_mean, running_var, output, save_mean, save_invstd, z.N, z.C, z.HW, eps, momentum);
}

void batch_norm2d_forward_eval(const float* input, const float* weight, const float* bias, const float* running_mean,
                               const float* running_var, float* output, std::int64_t N, std::int64_t C,
                               std::int64_t HW, float eps, cudaStream_t stream) {
  const Sizes z = sizes_of(N, C, HW);
  const int count = z.N * z.C * z.HW;
  if (count == 0) return;
  launch(batch_norm2d_forward_eval_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(2 * count)},
         input, weight, bias, running_mean, running_var, output, count, z.C, z.HW, eps);
}

void batch_norm2d_backward_train(const float* grad_output, const float* input, const float* weight,
                                 const float* save_mean, const float* save_invstd, float* grad_input,
                                 float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C,
                                 std::int64_t HW, cudaStream_t stream) {
  const Sizes z = sizes_of(N, C, HW);
  if (z.C == 0) return;
  launch(batch_norm2d_backward_train_kernel,
         {static_cast<unsigned>(z.C), kThreads, 0, stream, elements(5 * N * C * HW)}, grad_output, input, weight,
         save_mean, save_invstd, grad_input, grad_weight, grad_bias, z.N, z.C, z.HW);
}

void batch_norm2d_backward_eval(const float* grad_output, const float* input, const float* weight,
                                const float* running_mean, const float* running_var, float* grad_input,
                                float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C, std::int64_t HW,
                                float eps, cudaStream_t stream) {
  const Sizes z = sizes_of(N, C, HW);
  if (z.C == 0) return;
  launch(batch_norm2d_backward_eval_kernel,
         {static_cast<unsigned>(z.C), kThreads, 0, stream, elements(3 * N * C * HW)}, grad_output, input, weight,
         running_mean, running_var, grad_input, grad_weight, grad_bias, z.N, z.C, z.HW, eps);
}

}  // namespace minidl::cuda
