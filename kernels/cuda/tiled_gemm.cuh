// The shared-memory tiled GEMM that linear (kernels/cuda/linear.cu) and conv2d
// (kernels/cuda/conv2d.cu, as an implicit GEMM) run on. Include only from .cu files.
//
//   C(row, col) = sum_k A(row, k) * B(k, col)      A is rows x depth, B is depth x cols
//
// A and B are never stored as matrices: a problem struct says how to read their
// elements from the op's tensors, and what becomes of each C element. It has
//   int rows, cols, depth;
//   float a(int row, int k) const;     called only inside A
//   float b(int k, int col) const;     called only inside B
//   void store(int row, int col, float sum) const;   called only inside C
// so one kernel computes output = input * weight^T + bias, the convolution as an
// implicit GEMM, and every gradient of both.
//
// Block (bx, by) of 16 x 16 threads computes the 16 x 16 tile of C at rows by*16 ..
// by*16 + 15 and columns bx*16 .. bx*16 + 15; thread (tx, ty) computes C(by*16 + ty,
// bx*16 + tx). It walks the depth in steps of 16; at step k0:
//   - thread (tx, ty) loads A(by*16 + ty, k0 + tx) into shared a_tile[ty][tx] and
//     B(k0 + ty, bx*16 + tx) into shared b_tile[ty][tx], 0 outside A or B (so sizes
//     need not be multiples of 16);
//   - barrier: both tiles are complete;
//   - the thread adds a_tile[ty][k] * b_tile[k][tx] for k = 0 .. 15 to its sum;
//   - barrier: no thread reads the tiles any more, the next step may overwrite them.
// Every element of A and B is read from global memory once per block that needs it
// instead of once per product. Each sum runs over k in increasing order: the same
// inputs give the same bits on every run (no atomics). Threads outside C take part
// in loading and in the barriers, and store nothing.
#pragma once

#include <cstdint>

#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

constexpr unsigned kGemmTile = 16;  // 16 x 16 = 256 threads per block

template <typename Problem>
__global__ void tiled_gemm_kernel(Problem problem) {
  __shared__ float a_tile[kGemmTile][kGemmTile];  // A(block's rows, k0 .. k0 + 15)
  __shared__ float b_tile[kGemmTile][kGemmTile];  // B(k0 .. k0 + 15, block's columns)
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int row = static_cast<int>(blockIdx.y * kGemmTile) + ty;
  const int col = static_cast<int>(blockIdx.x * kGemmTile) + tx;
  float sum = 0.0f;
  for (int k0 = 0; k0 < problem.depth; k0 += kGemmTile) {
    a_tile[ty][tx] = row < problem.rows && k0 + tx < problem.depth ? problem.a(row, k0 + tx) : 0.0f;
    b_tile[ty][tx] = k0 + ty < problem.depth && col < problem.cols ? problem.b(k0 + ty, col) : 0.0f;
    __syncthreads();  // both tiles are complete
    for (int k = 0; k < static_cast<int>(kGemmTile); ++k) sum += a_tile[ty][k] * b_tile[k][tx];
    __syncthreads();  // the tiles are read: the next step may overwrite them
  }
  if (row < problem.rows && col < problem.cols) problem.store(row, col, sum);
}

// Queues the GEMM of problem on stream: one 16 x 16 block per tile of C.
template <typename Problem>
void tiled_gemm(const Problem& problem, cudaStream_t stream, SourceLocation where = SourceLocation::current()) {
  if (problem.rows == 0 || problem.cols == 0) return;
  const dim3 grid(blocks_for(problem.cols, kGemmTile), blocks_for(problem.rows, kGemmTile));
  const Work work = multiply_adds(std::int64_t{problem.rows} * problem.cols * problem.depth);
  launch(tiled_gemm_kernel<Problem>, {grid, dim3(kGemmTile, kGemmTile), 0, stream, work, where}, problem);
}

}  // namespace minidl::cuda
