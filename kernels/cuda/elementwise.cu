// Elementwise kernels: one thread per element. Thread i = blockIdx.x * blockDim.x +
// threadIdx.x computes element i; threads past the end return at once. No shared
// memory, no barriers.
#include "minidl/kernels/cuda/elementwise.h"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;

__global__ void fill_kernel(float* data, float value, std::int64_t count) {
  std::int64_t i = global_thread_index();
  if (i >= count) return;
  data[i] = value;
}

__global__ void scale_kernel(float* data, float factor, std::int64_t count) {
  std::int64_t i = global_thread_index();
  if (i >= count) return;
  data[i] *= factor;
}

__global__ void add_kernel(const float* a, const float* b, float alpha, float* output, std::int64_t count) {
  std::int64_t i = global_thread_index();
  if (i >= count) return;
  output[i] = a[i] + alpha * b[i];
}

}  // namespace

void fill(float* data, float value, std::int64_t count, cudaStream_t stream) {
  if (count == 0) return;
  launch(fill_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, data, value, count);
}

void scale(float* data, float factor, std::int64_t count, cudaStream_t stream) {
  if (count == 0) return;
  launch(scale_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, data, factor, count);
}

void add(const float* a, const float* b, float alpha, float* output, std::int64_t count, cudaStream_t stream) {
  if (count == 0) return;
  launch(add_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, a, b, alpha, output, count);
}

}  // namespace minidl::cuda
