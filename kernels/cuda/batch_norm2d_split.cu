// batch_norm2d kernels, rung 2: the grid is (chunks, C); block (s, c) works on channel c
// in image chunk s (channel_chunks.cuh), its threads striding through the chunk's values.
// Where a channel's sum is needed, each block writes its chunk's part to `partials`, and
// the next launch combines the channel's parts in the order s = 0, 1, ... (thread 0 of each
// block, into shared memory, then a barrier): every block of the channel gets the same bits.
#include "minidl/kernels/cuda/batch_norm2d_split.h"

#include <cmath>

#include "minidl/kernels/cuda/block_reduce.cuh"
#include "minidl/kernels/cuda/channel_chunks.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;

__device__ float relu_if(ops::Activation activation, float value) {
  return activation == ops::Activation::relu && value < 0.0f ? 0.0f : value;
}

// doc:batch-norm-split-statistics
// Block (s, c): over its chunk's M_s values x of channel c, two passes (the chunk is in
// L1 or L2 the second time):
//   mean_s = (1/M_s) sum x,   m2_s = sum (x - mean_s)^2
// written as partials[(c*chunks + s)*3 + 0, 1, 2] = M_s, mean_s, m2_s.
__global__ void chunk_statistics_kernel(const float* input, float* partials, int N, int C, int HW,
                                        ChannelChunks plan) {
  const int s = static_cast<int>(blockIdx.x), c = static_cast<int>(blockIdx.y);
  const ImageRange images = chunk_images(plan, N, s);
  const float count = static_cast<float>((images.end - images.first) * HW);
  float sum = 0.0f;
  for_each_in_channel_chunk(C, HW, c, images.first, images.end, [&](int e) { sum += input[e]; });
  const float mean = block_sum(sum) / count;
  float sum_sq_dev = 0.0f;
  for_each_in_channel_chunk(C, HW, c, images.first, images.end, [&](int e) {
    const float dev = input[e] - mean;
    sum_sq_dev += dev * dev;
  });
  const float m2 = block_sum(sum_sq_dev);
  if (threadIdx.x == 0) {
    float* part = partials + (c * plan.chunks + s) * 3;
    part[0] = count;
    part[1] = mean;
    part[2] = m2;
  }
}

// doc:batch-norm-split-combine
// Chan's rule, chunk after chunk in order: merging (M_a, mean_a, m2_a) with (M_b, mean_b, m2_b),
//   delta = mean_b - mean_a,  M = M_a + M_b
//   mean  = mean_a + delta * M_b / M,   m2 = m2_a + m2_b + delta^2 * M_a * M_b / M
// then var = m2 / M. Exact in exact arithmetic, and stable: no E[x^2] - mean^2.
struct ChannelStatistics {
  float count, mean, var;
};

__device__ ChannelStatistics combine_chunks(const float* partials, int c, int chunks) {
  const float* part = partials + c * chunks * 3;
  float count = part[0], mean = part[1], m2 = part[2];
  for (int s = 1; s < chunks; ++s) {
    const float* next = part + s * 3;
    const float total = count + next[0], delta = next[1] - mean;
    mean += delta * (next[0] / total);
    m2 += next[2] + delta * delta * (count * next[0] / total);
    count = total;
  }
  return {count, mean, m2 / count};
}

// doc:batch-norm-split-forward
// Block (s, c): thread 0 combines channel c's chunk statistics (shared memory, barrier);
// then every thread normalises its values of the chunk:
//   y = activation((x - mean) * invstd * weight[c] + bias[c]),   invstd = 1 / sqrt(var + eps)
// and block (0, c) updates the running statistics (running_var with the unbiased
// variance var * M / (M - 1)) and saves mean and invstd for backward.
__global__ void normalize_train_kernel(const float* input, const float* weight, const float* bias,
                                       float* running_mean, float* running_var, float* output, float* save_mean,
                                       float* save_invstd, const float* partials, int N, int C, int HW,
                                       ChannelChunks plan, float eps, float momentum, ops::Activation activation) {
  __shared__ ChannelStatistics statistics;
  const int s = static_cast<int>(blockIdx.x), c = static_cast<int>(blockIdx.y);
  if (threadIdx.x == 0) statistics = combine_chunks(partials, c, plan.chunks);
  __syncthreads();  // every thread reads the channel's statistics
  const float mean = statistics.mean, invstd = 1.0f / std::sqrt(statistics.var + eps);
  const float scale = invstd * weight[c], shift = bias[c];
  const ImageRange images = chunk_images(plan, N, s);
  for_each_in_channel_chunk(C, HW, c, images.first, images.end,
                            [&](int e) { output[e] = relu_if(activation, (input[e] - mean) * scale + shift); });
  if (s == 0 && threadIdx.x == 0) {
    const float unbiased_var = statistics.var * (statistics.count / (statistics.count - 1.0f));
    running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
    running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbiased_var;
    save_mean[c] = mean;
    save_invstd[c] = invstd;
  }
}

// doc:batch-norm-split-eval-forward
//   y = activation((x - running_mean[c]) / sqrt(running_var[c] + eps) * weight[c] + bias[c])
__global__ void normalize_eval_kernel(const float* input, const float* weight, const float* bias,
                                      const float* running_mean, const float* running_var, float* output, int N,
                                      int C, int HW, ChannelChunks plan, float eps, ops::Activation activation) {
  const int s = static_cast<int>(blockIdx.x), c = static_cast<int>(blockIdx.y);
  const float scale = weight[c] / std::sqrt(running_var[c] + eps), mean = running_mean[c], shift = bias[c];
  const ImageRange images = chunk_images(plan, N, s);
  for_each_in_channel_chunk(C, HW, c, images.first, images.end,
                            [&](int e) { output[e] = relu_if(activation, (input[e] - mean) * scale + shift); });
}

// doc:batch-norm-split-gradient-sums
// Block (s, c), with x_hat = (x - mean) * invstd: partials[(c*chunks + s)*2 + 0, 1] =
// sum dy, sum dy * x_hat over the chunk. In the evaluation backward the statistics are
// the running ones, and the same block also writes grad_input = dy * weight[c] * invstd.
__global__ void chunk_gradient_sums_kernel(const float* grad_output, const float* input, const float* mean_of,
                                           const float* invstd_of, const float* running_var, const float* weight,
                                           float* grad_input, float* partials, int N, int C, int HW,
                                           ChannelChunks plan, float eps) {
  const int s = static_cast<int>(blockIdx.x), c = static_cast<int>(blockIdx.y);
  const float mean = mean_of[c];
  // Training: invstd saved by the forward. Evaluation: from the running variance.
  const float invstd = running_var != nullptr ? 1.0f / std::sqrt(running_var[c] + eps) : invstd_of[c];
  const float input_scale = grad_input != nullptr ? weight[c] * invstd : 0.0f;
  const ImageRange images = chunk_images(plan, N, s);
  float sum_dy = 0.0f, sum_dy_xhat = 0.0f;
  for_each_in_channel_chunk(C, HW, c, images.first, images.end, [&](int e) {
    const float dy = grad_output[e];
    sum_dy += dy;
    sum_dy_xhat += dy * ((input[e] - mean) * invstd);
    if (grad_input != nullptr) grad_input[e] = dy * input_scale;
  });
  sum_dy = block_sum(sum_dy);
  sum_dy_xhat = block_sum(sum_dy_xhat);
  if (threadIdx.x == 0) {
    partials[(c * plan.chunks + s) * 2] = sum_dy;
    partials[(c * plan.chunks + s) * 2 + 1] = sum_dy_xhat;
  }
}

// Channel c's sums of dy and dy * x_hat: its chunks' partials added in order.
struct GradientSums {
  float dy, dy_xhat;
};

__device__ GradientSums combine_gradient_sums(const float* partials, int c, int chunks) {
  GradientSums sums{0.0f, 0.0f};
  for (int s = 0; s < chunks; ++s) {
    sums.dy += partials[(c * chunks + s) * 2];
    sums.dy_xhat += partials[(c * chunks + s) * 2 + 1];
  }
  return sums;
}

// doc:batch-norm-split-grad-input
// Block (s, c): thread 0 combines channel c's sums (shared memory, barrier); then
//   grad_input = weight[c] * invstd / M * (M * dy - sum dy - x_hat * sum(dy * x_hat))
// and block (0, c) adds sum dy * x_hat to grad_weight[c] and sum dy to grad_bias[c].
__global__ void grad_input_train_kernel(const float* grad_output, const float* input, const float* weight,
                                        const float* save_mean, const float* save_invstd, float* grad_input,
                                        float* grad_weight, float* grad_bias, const float* partials, int N, int C,
                                        int HW, ChannelChunks plan) {
  __shared__ GradientSums sums;
  const int s = static_cast<int>(blockIdx.x), c = static_cast<int>(blockIdx.y);
  if (threadIdx.x == 0) sums = combine_gradient_sums(partials, c, plan.chunks);
  __syncthreads();  // every thread reads the channel's sums
  const float M = static_cast<float>(N) * static_cast<float>(HW);
  const float mean = save_mean[c], invstd = save_invstd[c], scale = weight[c] * invstd / M;
  const float sum_dy = sums.dy, sum_dy_xhat = sums.dy_xhat;
  const ImageRange images = chunk_images(plan, N, s);
  for_each_in_channel_chunk(C, HW, c, images.first, images.end, [&](int e) {
    const float x_hat = (input[e] - mean) * invstd;
    grad_input[e] = scale * (M * grad_output[e] - sum_dy - x_hat * sum_dy_xhat);
  });
  if (s == 0 && threadIdx.x == 0) {
    grad_bias[c] += sum_dy;
    grad_weight[c] += sum_dy_xhat;
  }
}

// Thread c adds channel c's chunk sums to grad_weight[c] and grad_bias[c].
__global__ void add_gradient_sums_kernel(const float* partials, float* grad_weight, float* grad_bias, int C,
                                         int chunks) {
  const int c = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (c >= C) return;
  const GradientSums sums = combine_gradient_sums(partials, c, chunks);
  grad_bias[c] += sums.dy;
  grad_weight[c] += sums.dy_xhat;
}

struct Sizes {
  int N, C, HW;
  std::int64_t values;
  ChannelChunks plan;
};

Sizes sizes_of(std::int64_t N, std::int64_t C, std::int64_t HW) {
  const char* op = "batch_norm2d (split)";
  as_index(N * C * HW, op, "N*C*H*W");
  Sizes z{static_cast<int>(N), static_cast<int>(C), static_cast<int>(HW), N * C * HW, {}};
  z.plan = plan_channel_chunks(z.N, z.C, z.HW);
  return z;
}

dim3 grid_of(const Sizes& z) { return dim3(static_cast<unsigned>(z.plan.chunks), static_cast<unsigned>(z.C)); }

}  // namespace

std::int64_t batch_norm2d_split_scratch(std::int64_t N, std::int64_t C, std::int64_t HW) {
  const Sizes z = sizes_of(N, C, HW);
  return 3 * std::int64_t{z.C} * z.plan.chunks;
}

void batch_norm2d_split_forward_train(const float* input, const float* weight, const float* bias,
                                      float* running_mean, float* running_var, float* output, float* save_mean,
                                      float* save_invstd, std::int64_t N, std::int64_t C, std::int64_t HW, float eps,
                                      float momentum, ops::Activation activation, float* scratch,
                                      cudaStream_t stream) {
  const Sizes z = sizes_of(N, C, HW);
  if (z.C == 0) return;
  launch(chunk_statistics_kernel, {grid_of(z), kThreads, 0, stream, elements(2 * z.values)}, input, scratch, z.N, z.C,
         z.HW, z.plan);
  launch(normalize_train_kernel, {grid_of(z), kThreads, 0, stream, elements(2 * z.values)}, input, weight, bias,
         running_mean, running_var, output, save_mean, save_invstd, static_cast<const float*>(scratch), z.N, z.C, z.HW,
         z.plan, eps, momentum, activation);
}

void batch_norm2d_split_forward_eval(const float* input, const float* weight, const float* bias,
                                     const float* running_mean, const float* running_var, float* output,
                                     std::int64_t N, std::int64_t C, std::int64_t HW, float eps,
                                     ops::Activation activation, cudaStream_t stream) {
  const Sizes z = sizes_of(N, C, HW);
  if (z.C == 0 || z.N == 0) return;
  launch(normalize_eval_kernel, {grid_of(z), kThreads, 0, stream, elements(2 * z.values)}, input, weight, bias,
         running_mean, running_var, output, z.N, z.C, z.HW, z.plan, eps, activation);
}

void batch_norm2d_split_backward_train(const float* grad_output, const float* input, const float* weight,
                                       const float* save_mean, const float* save_invstd, float* grad_input,
                                       float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C,
                                       std::int64_t HW, float* scratch, cudaStream_t stream) {
  const Sizes z = sizes_of(N, C, HW);
  if (z.C == 0) return;
  launch(chunk_gradient_sums_kernel, {grid_of(z), kThreads, 0, stream, elements(2 * z.values)}, grad_output, input,
         save_mean, save_invstd, static_cast<const float*>(nullptr), weight, static_cast<float*>(nullptr), scratch,
         z.N, z.C, z.HW, z.plan, 0.0f);
  launch(grad_input_train_kernel, {grid_of(z), kThreads, 0, stream, elements(3 * z.values)}, grad_output, input,
         weight, save_mean, save_invstd, grad_input, grad_weight, grad_bias, static_cast<const float*>(scratch), z.N,
         z.C, z.HW, z.plan);
}

void batch_norm2d_split_backward_eval(const float* grad_output, const float* input, const float* weight,
                                      const float* running_mean, const float* running_var, float* grad_input,
                                      float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C,
                                      std::int64_t HW, float eps, float* scratch, cudaStream_t stream) {
  const Sizes z = sizes_of(N, C, HW);
  if (z.C == 0) return;
  launch(chunk_gradient_sums_kernel, {grid_of(z), kThreads, 0, stream, elements(3 * z.values)}, grad_output, input,
         running_mean, static_cast<const float*>(nullptr), running_var, weight, grad_input, scratch, z.N, z.C, z.HW,
         z.plan, eps);
  launch(add_gradient_sums_kernel, {blocks_for(z.C, kThreads), kThreads, 0, stream, elements(2 * z.C * z.plan.chunks)},
         static_cast<const float*>(scratch), grad_weight, grad_bias, z.C, z.plan.chunks);
}

}  // namespace minidl::cuda
