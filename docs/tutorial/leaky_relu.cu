// LeakyReLU kernels: one thread per element, as kernels/cuda/relu.cu. Thread
// i = blockIdx.x * blockDim.x + threadIdx.x computes element i; threads past the end
// return at once. No shared memory, no barriers. Element i is read before it is
// written, so in place is fine.
//
// Compiled by nvcc in the real CUDA flavour and as C++ against minidl's CUDA emulator
// in the emulated one (docs/emulator.md): launch() stands for kernel<<<...>>>(...).
#include "leaky_relu_cuda.h"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::tutorial::cuda {

using minidl::cuda::blocks_for;
using minidl::cuda::elements;
using minidl::cuda::global_thread_index;
using minidl::cuda::launch;

namespace {

constexpr unsigned kThreads = 256;

// doc:leaky-relu-forward-kernel
// output = input < 0 ? negative_slope * input : input (a NaN input gives NaN).
__global__ void leaky_relu_forward_kernel(const float* input, float* output, std::int64_t count,
                                          float negative_slope) {
  std::int64_t i = global_thread_index();
  if (i >= count) return;
  float x = input[i];
  output[i] = x < 0.0f ? negative_slope * x : x;
}

// doc:leaky-relu-backward-kernel
// d output / d input is 1 where the input is positive, else negative_slope (at 0 too).
__global__ void leaky_relu_backward_kernel(const float* grad_output, const float* input, float* grad_input,
                                           std::int64_t count, float negative_slope) {
  std::int64_t i = global_thread_index();
  if (i >= count) return;
  float g = grad_output[i];
  grad_input[i] = input[i] > 0.0f ? g : negative_slope * g;
}

}  // namespace

// doc:leaky-relu-launch
void leaky_relu_forward(const float* input, float* output, std::int64_t count, float negative_slope,
                        cudaStream_t stream) {
  if (count == 0) return;
  launch(leaky_relu_forward_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, input,
         output, count, negative_slope);
}

void leaky_relu_backward(const float* grad_output, const float* input, float* grad_input, std::int64_t count,
                         float negative_slope, cudaStream_t stream) {
  if (count == 0) return;
  launch(leaky_relu_backward_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)},
         grad_output, input, grad_input, count, negative_slope);
}

}  // namespace minidl::tutorial::cuda
