// The row sums of a matrix on the GPU, with a shared-memory tree reduction
// (row_sum.cu). The kernel of exercise 1 (README.md): it lacks its barriers.
#pragma once

#include "minidl/core/cuda_api.h"

namespace minidl::exercises::cuda {

// sums[r] = sum_c matrix[r, c] for a (rows, cols) float matrix in device memory; one
// block of 256 threads per row, one launch.
void row_sums(const float* matrix, float* sums, int rows, int cols,
              cudaStream_t stream = minidl::cuda::current_stream());

}  // namespace minidl::exercises::cuda
