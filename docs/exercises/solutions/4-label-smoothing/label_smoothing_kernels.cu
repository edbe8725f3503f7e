// The cross-entropy kernel with label smoothing: the solution of exercise 4, part 2
// (docs/exercises/4-label-smoothing/README.md). Against the kernel without smoothing it
// adds one warp sum per row (of the logits, for the smoothed part of the loss) and
// changes the target of the gradient from one-hot to q[k] = (1 - eps) [k == y] + eps / K.
//
// One block of 256 threads for the whole batch, as kernels/cuda/cross_entropy.cu: warp
// w takes rows w, w + 8, w + 16, ...; the 32 lanes of a warp share a row, lane l
// reading logits k = l, l + 32, ... Per row the warp finds the maximum and the sum of
// exponentials with butterfly shuffles (every lane gets the result), then every lane
// writes its elements of grad_logits. Each warp keeps the sum of its rows' losses; at
// the end block_sum (kernels/cuda/block_reduce.cuh) adds them over the warps and
// thread 0 writes loss[0].
#include <cmath>

#include "label_smoothing_cuda.h"
#include "minidl/kernels/cuda/block_reduce.cuh"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::exercises::cuda {

namespace {

using minidl::cuda::block_sum;
using minidl::cuda::kFullWarpMask;
using minidl::cuda::warp_sum;

constexpr unsigned kThreads = 256;

// The maximum of value over the 32 lanes of the warp, in every lane.
__device__ float warp_max(float value) {
  for (int offset = warpSize / 2; offset > 0; offset /= 2)
    value = fmaxf(value, __shfl_xor_sync(kFullWarpMask, value, offset));
  return value;
}

// doc:label-smoothing-kernel
__global__ void cross_entropy_kernel(const float* logits, const std::int32_t* labels, float* loss,
                                     float* grad_logits, int N, int K, float label_smoothing) {
  const int lane = static_cast<int>(threadIdx.x % warpSize), warp = static_cast<int>(threadIdx.x / warpSize);
  const int warps = static_cast<int>(blockDim.x / warpSize);
  float warp_loss = 0.0f;  // the sum of this warp's row losses, the same in every lane
  for (int n = warp; n < N; n += warps) {
    const float* x = logits + n * K;
    const int label = labels[n];
    float lane_max = -INFINITY;
    for (int k = lane; k < K; k += warpSize) lane_max = fmaxf(lane_max, x[k]);
    const float max_value = warp_max(lane_max);
    float sum_exp = 0.0f, sum_x = 0.0f;
    for (int k = lane; k < K; k += warpSize) {
      sum_exp += std::exp(x[k] - max_value);
      sum_x += x[k];
    }
    const float logsumexp = max_value + std::log(warp_sum(sum_exp));
    const float mean_x = warp_sum(sum_x) / static_cast<float>(K);
    //   row loss = (1 - eps) (logsumexp - x[y]) + eps (logsumexp - mean_k x[k])
    warp_loss += (1.0f - label_smoothing) * (logsumexp - x[label]) + label_smoothing * (logsumexp - mean_x);
    //   grad_logits[n, k] = (softmax[k] - q[k]) / N
    const float spread = label_smoothing / static_cast<float>(K);
    float* dx = grad_logits + n * K;
    for (int k = lane; k < K; k += warpSize) {
      const float target = (k == label ? 1.0f - label_smoothing : 0.0f) + spread;
      dx[k] = (std::exp(x[k] - logsumexp) - target) / static_cast<float>(N);
    }
  }
  const float total_loss = block_sum(lane == 0 ? warp_loss : 0.0f);  // lane 0 stands for its warp
  if (threadIdx.x == 0) loss[0] = total_loss / static_cast<float>(N);
}

}  // namespace

void cross_entropy_label_smoothing(const float* logits, const std::int32_t* labels, float* loss, float* grad_logits,
                                   int N, int K, float label_smoothing, cudaStream_t stream) {
  minidl::cuda::launch(cross_entropy_kernel,
                       {1, kThreads, 0, stream, minidl::cuda::elements(std::int64_t{N} * K)}, logits, labels, loss,
                       grad_logits, N, K, label_smoothing);
}

}  // namespace minidl::exercises::cuda
