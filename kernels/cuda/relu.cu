// relu kernels: one thread per element. Thread i = blockIdx.x * blockDim.x +
// threadIdx.x computes element i; threads past the end return at once. No shared
// memory, no barriers. Element i is read before it is written, so in place is fine.
#include "minidl/kernels/cuda/relu.h"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;

// doc:relu-forward
// output = input < 0 ? 0 : input (a NaN input gives NaN, as in PyTorch).
__global__ void relu_forward_kernel(const float* input, float* output, std::int64_t count) {
  std::int64_t i = global_thread_index();
  if (i >= count) return;
  float x = input[i];
  output[i] = x < 0.0f ? 0.0f : x;
}

// doc:relu-grad-input
// d output / d input is 0 where the output is <= 0 (at 0 too), else 1; a NaN output
// passes its gradient, as PyTorch's threshold_backward.
__global__ void relu_backward_kernel(const float* grad_output, const float* output, float* grad_input,
                                     std::int64_t count) {
  std::int64_t i = global_thread_index();
  if (i >= count) return;
  grad_input[i] = output[i] <= 0.0f ? 0.0f : grad_output[i];
}

}  // namespace

void relu_forward(const float* input, float* output, std::int64_t count, cudaStream_t stream) {
  if (count == 0) return;
  launch(relu_forward_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, input, output, count);
}

void relu_backward(const float* grad_output, const float* output, float* grad_input, std::int64_t count,
                   cudaStream_t stream) {
  if (count == 0) return;
  launch(relu_backward_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, grad_output, output, grad_input,
         count);
}

}  // namespace minidl::cuda
