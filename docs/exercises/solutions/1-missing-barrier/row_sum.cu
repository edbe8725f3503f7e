// Row sums with a shared-memory tree reduction: block r sums row r.
//
// Thread t adds the columns t, t + 256, t + 512, ... of the row into its register and
// writes that to partial[t] (shared memory). Then a tree: at each step the first
// `active` threads add partial[t + active] to partial[t], and active halves
// (128, 64, ..., 1), until partial[0] holds the row's sum; thread 0 writes it.
// Two barriers order the threads: after every thread has written its partial, and
// after each step of the tree, before the next step reads what this one wrote.
//
// The solution of exercise 1 (docs/exercises/1-missing-barrier/README.md).
#include "row_sum.h"

#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::exercises::cuda {

namespace {

constexpr int kThreads = 256;

// doc:row-sum-kernel
__global__ void row_sum_kernel(const float* matrix, float* sums, int cols) {
  __shared__ float partial[kThreads];
  const int t = static_cast<int>(threadIdx.x);
  const float* row = matrix + static_cast<std::int64_t>(blockIdx.x) * cols;
  float sum = 0.0f;
  for (int c = t; c < cols; c += kThreads) sum += row[c];
  partial[t] = sum;
  __syncthreads();  // every partial is written
  for (int active = kThreads / 2; active > 0; active /= 2) {
    if (t < active) partial[t] += partial[t + active];
    __syncthreads();  // this step's sums are written: the next step reads them
  }
  if (t == 0) sums[blockIdx.x] = partial[0];
}

}  // namespace

void row_sums(const float* matrix, float* sums, int rows, int cols, cudaStream_t stream) {
  if (rows == 0) return;
  minidl::cuda::launch(row_sum_kernel,
                       {static_cast<unsigned>(rows), kThreads, 0, stream,
                        minidl::cuda::elements(std::int64_t{rows} * cols)},
                       matrix, sums, cols);
}

}  // namespace minidl::exercises::cuda
