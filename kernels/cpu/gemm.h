// gemm: the CPU fast path's matrix product, cache-blocked and vectorized (f32).
//
//   C (M x N) = A (M x K) · B (K x N)          accumulate == false
//   C (M x N) += A (M x K) · B (K x N)         accumulate == true
//
// A and B are strided views, so transposes cost nothing: element (i, k) of A is
// a.data[i * a.row_stride + k * a.column_stride]. C is row-major with row
// stride ldc. The blocking follows Goto and van de Geijn ("Anatomy of
// high-performance matrix multiplication", 2008): panels of B and A are packed
// into contiguous buffers sized for the caches, and a 6x16 register tile
// (12 AVX2 registers of 8 floats) accumulates rank-1 updates over K.
//
// Every element of C is summed over k in the same order whatever the threads
// (blocks of kKc in order, each from zero, then added to C), so results do not
// depend on the thread count. kernels/cpu/conv2d_gemm.h and linear use it; the
// plain loops of kernels/cpu/ are the oracle it is tested against.
#pragma once

#include <cstdint>

namespace minidl::cpu {

struct MatrixView {
  const float* data;
  std::int64_t row_stride;
  std::int64_t column_stride;
};

// A row-major matrix with leading dimension ld, or its transpose.
inline MatrixView row_major(const float* data, std::int64_t ld) { return {data, ld, 1}; }
inline MatrixView transposed(const float* data, std::int64_t ld) { return {data, 1, ld}; }

// What gemm applies as it writes C (the fused epilogue of kernels/epilogue.h):
//   C(i, j) = act(A·B(i, j) + (accumulate ? C(i, j) : row_bias ? row_bias[i] : 0))
// The bias enters where accumulate's old C would, so filling C with the bias and then
// accumulating gives the same bits; act is ReLU (x < 0 ? 0 : x, a NaN passes) or none,
// applied once, to the final sum.
struct GemmEpilogue {
  const float* row_bias = nullptr;  // M values, or none
  bool relu = false;
};

// One thread. M, N or K may be 0 (with K == 0, C is zeroed or kept; no epilogue).
void gemm(std::int64_t M, std::int64_t N, std::int64_t K, MatrixView a, MatrixView b, float* c, std::int64_t ldc,
          bool accumulate, const GemmEpilogue& epilogue = {});

// The same product on all threads of core/parallel.h: each thread computes a
// contiguous range of C's columns (whole 16-wide panels), so results are the
// same bits as gemm's.
void parallel_gemm(std::int64_t M, std::int64_t N, std::int64_t K, MatrixView a, MatrixView b, float* c,
                   std::int64_t ldc, bool accumulate);

}  // namespace minidl::cpu
