// The fused softmax cross-entropy kernel: one block of 256 threads for the whole
// batch (N rows of K logits: a few thousand values in a training step).
//
// Warp w takes rows w, w + 8, w + 16, ...; the 32 lanes of a warp share a row, lane
// l reading logits k = l, l + 32, ... Per row the warp finds the argmax and the sum
// of exponentials with butterfly shuffles (every lane gets the result), then every
// lane writes its elements of grad_logits. Each warp keeps the sum of its rows'
// losses and its count of correct rows; at the end block_sum (kernels/cuda/block_reduce.cuh:
// shared warp totals between two barriers) adds them over the warps and thread 0
// writes loss[0] and num_correct[0]. One block, fixed orders: no atomics, the same
// bits on every run.
#include "minidl/kernels/cuda/cross_entropy.h"

#include <cmath>

#include "minidl/kernels/cuda/block_reduce.cuh"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;

// For each row x = logits[n, :] with label y and m = max_k x[k]:
//   doc:cross-entropy-argmax     argmax = the first k with x[k] = m (NaNs are skipped)
//   doc:cross-entropy-logsumexp  logsumexp = m + log sum_k exp(x[k] - m)
//   loss = (1/N) sum_n [ logsumexp - x[y] ]
//   doc:cross-entropy-grad       grad_logits[n, k] = (exp(x[k] - logsumexp) - [k == y]) / N
//   num_correct = #{ n : argmax == y }
__global__ void cross_entropy_kernel(const float* logits, const std::int32_t* labels, float* loss,
                                     float* grad_logits, std::int32_t* num_correct, std::int64_t N,
                                     std::int64_t K) {
  const unsigned lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize, warps = blockDim.x / warpSize;
  float warp_loss = 0.0f;      // the sum of this warp's row losses, the same in every lane
  std::int32_t warp_correct = 0;
  for (std::int64_t n = warp; n < N; n += warps) {
    const float* x = logits + n * K;
    const std::int64_t label = labels[n];

    // The lane's first maximum (a lane without elements offers -inf at index K),
    // then the warp's: the larger value, or on a tie the smaller index.
    float max_value = -INFINITY;
    std::int64_t argmax = K;
    for (std::int64_t k = lane; k < K; k += warpSize) {
      if (x[k] > max_value || (argmax == K && !std::isnan(x[k]))) {
        max_value = x[k];
        argmax = k;
      }
    }
    for (int offset = warpSize / 2; offset > 0; offset /= 2) {
      const float other_value = __shfl_xor_sync(kFullWarpMask, max_value, offset);
      const std::int64_t other_index = __shfl_xor_sync(kFullWarpMask, argmax, offset);
      if (other_value > max_value || (other_value == max_value && other_index < argmax)) {
        max_value = other_value;
        argmax = other_index;
      }
    }

    float sum_exp = 0.0f;
    for (std::int64_t k = lane; k < K; k += warpSize) sum_exp += std::exp(x[k] - max_value);
    const float logsumexp = max_value + std::log(warp_sum(sum_exp));
    const bool label_valid = label >= 0 && label < K;
    warp_loss += label_valid ? logsumexp - x[label] : NAN;
    warp_correct += argmax == label ? 1 : 0;

    if (grad_logits != nullptr) {
      float* dx = grad_logits + n * K;
      for (std::int64_t k = lane; k < K; k += warpSize)
        dx[k] = (std::exp(x[k] - logsumexp) - (k == label ? 1.0f : 0.0f)) / static_cast<float>(N);
    }
  }
  // Lane 0 stands for its warp.
  const float total_loss = block_sum(lane == 0 ? warp_loss : 0.0f);
  const std::int32_t total_correct = block_sum(lane == 0 ? warp_correct : 0);
  if (threadIdx.x == 0) {
    loss[0] = total_loss / static_cast<float>(N);
    num_correct[0] = total_correct;
  }
}

}  // namespace

void cross_entropy_forward_backward(const float* logits, const std::int32_t* labels, float* loss,
                                    float* grad_logits, std::int32_t* num_correct, std::int64_t N, std::int64_t K,
                                    cudaStream_t stream) {
  launch(cross_entropy_kernel, {1, kThreads, 0, stream, elements(N * K)}, logits, labels, loss, grad_logits, num_correct, N, K);
}

}  // namespace minidl::cuda
