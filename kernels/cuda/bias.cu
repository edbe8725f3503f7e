// Bias kernels.
//
// add_bias: one thread per element; thread i adds bias[(i / inner) % C] to data[i].
// accumulate_bias_grad: one block per channel c (blockIdx.x = c), of T threads: a power
//   of two from 32 to 256, no more than the channel's N*inner elements need. Thread t
//   adds the channel's elements t, t + T, ... (element j is
//   grad_output[(j / inner) * C*inner + c*inner + j % inner]),
//   writes its partial sum to shared partial[t], and the block adds the partials as a
//   tree: at each step the first half adds the second half's values, with a
//   __syncthreads() between steps, so thread 0 ends with the channel's total and adds
//   it to grad_bias[c]. The order of the additions is fixed: deterministic.
#include "minidl/kernels/cuda/bias.h"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;  // also the most threads of a bias-gradient block

__global__ void add_bias_kernel(float* data, const float* bias, int C, int inner, int count) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= count) return;
  data[i] += bias[i / inner % C];
}

__global__ void accumulate_bias_grad_kernel(const float* grad_output, float* grad_bias, int N, int C, int inner) {
  __shared__ float partial[kThreads];
  const int c = static_cast<int>(blockIdx.x);
  float sum = 0.0f;
  for (int j = static_cast<int>(threadIdx.x); j < N * inner; j += static_cast<int>(blockDim.x))
    sum += grad_output[(j / inner * C + c) * inner + j % inner];
  partial[threadIdx.x] = sum;
  __syncthreads();  // every partial is written before any is read
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();  // this step's sums are complete before the next step reads them
  }
  if (threadIdx.x == 0) grad_bias[c] += partial[0];
}

}  // namespace

void add_bias(float* data, const float* bias, std::int64_t N, std::int64_t C, std::int64_t inner,
              cudaStream_t stream) {
  const int count = as_index(N * C * inner, "add_bias", "N*C*inner");
  if (count == 0) return;
  launch(add_bias_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, data, bias,
         static_cast<int>(C), static_cast<int>(inner), count);
}

void accumulate_bias_grad(const float* grad_output, float* grad_bias, std::int64_t N, std::int64_t C,
                          std::int64_t inner, cudaStream_t stream) {
  as_index(N * C * inner, "accumulate_bias_grad", "N*C*inner");
  if (C == 0) return;
  unsigned threads = 32;  // a power of two, for the tree
  while (threads < kThreads && threads < N * inner) threads *= 2;
  launch(accumulate_bias_grad_kernel, {static_cast<unsigned>(C), threads, 0, stream, elements(N * C * inner)},
         grad_output, grad_bias, static_cast<int>(N), static_cast<int>(C), static_cast<int>(inner));
}

}  // namespace minidl::cuda
