#include "minidl/kernels/cpu/gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "minidl/core/parallel.h"

namespace minidl::cpu {

namespace {

// Eight floats in one AVX register (two SSE registers where AVX is missing).
// Values of this type never cross a call (the helpers are always inlined), so
// GCC's note that passing them would change the ABI without AVX does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
using Float8 = float __attribute__((vector_size(32)));

constexpr std::int64_t kMr = 6;    // rows of the register tile
constexpr std::int64_t kNr = 16;   // columns of the register tile: two Float8
constexpr std::int64_t kKc = 256;  // depth of a packed block: a 6 x 256 panel of A stays in L1
constexpr std::int64_t kMc = 72;   // rows of a packed block of A (multiple of kMr): stays in L2
constexpr std::int64_t kNc = 256;  // columns of a packed block of B (multiple of kNr): stays in L2

[[gnu::always_inline]] inline Float8 load8(const float* p) {
  Float8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

[[gnu::always_inline]] inline void store8(float* p, Float8 v) { std::memcpy(p, &v, sizeof v); }

// The register tile. packed_a holds kc steps of kMr values of A's column k,
// packed_b kc steps of kNr values of B's row k. Then
//   tile(i, j) = sum_{k < kc} packed_a[k*kMr + i] * packed_b[k*kNr + j]   (in order of k)
//   C(i, j)    = act(tile(i, j) + (accumulate ? C(i, j) : bias ? bias[i] : 0))  for i < rows, j < columns,
// act = ReLU when relu, else none. A full 6 x 16 tile is written to C directly; a
// partial one (the edges of C) goes through a local tile.
// doc:gemm-micro-kernel
[[gnu::always_inline]] inline void micro_kernel_body(std::int64_t kc, const float* packed_a, const float* packed_b,
                                                     float* c, std::int64_t ldc, bool accumulate, const float* bias,
                                                     bool relu, std::int64_t rows, std::int64_t columns) {
  Float8 tile[kMr][2] = {};
  for (std::int64_t k = 0; k < kc; ++k) {
    const Float8 b0 = load8(packed_b + k * kNr), b1 = load8(packed_b + k * kNr + 8);
    for (std::int64_t i = 0; i < kMr; ++i) {
      const float a = packed_a[k * kMr + i];
      tile[i][0] += a * b0;
      tile[i][1] += a * b1;
    }
  }
  const Float8 zero{};
  if (rows == kMr && columns == kNr) {
    for (std::int64_t i = 0; i < kMr; ++i) {
      float* c_row = c + i * ldc;
      if (accumulate) {
        tile[i][0] += load8(c_row);
        tile[i][1] += load8(c_row + 8);
      } else if (bias) {
        tile[i][0] += bias[i];
        tile[i][1] += bias[i];
      }
      if (relu) {
        tile[i][0] = tile[i][0] < zero ? zero : tile[i][0];
        tile[i][1] = tile[i][1] < zero ? zero : tile[i][1];
      }
      store8(c_row, tile[i][0]);
      store8(c_row + 8, tile[i][1]);
    }
    return;
  }
  float partial[kMr][kNr];
  for (std::int64_t i = 0; i < kMr; ++i) {
    store8(partial[i], tile[i][0]);
    store8(partial[i] + 8, tile[i][1]);
  }
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < columns; ++j) {
      const float sum = partial[i][j] + (accumulate ? c[i * ldc + j] : bias ? bias[i] : 0.0f);
      c[i * ldc + j] = relu && sum < 0.0f ? 0.0f : sum;
    }
}

// The same body compiled twice: for AVX2 + FMA (one fused multiply-add per
// a * b + tile), and for the baseline instruction set. Chosen once at run time.
#if defined(__x86_64__)
[[gnu::target("avx2,fma")]] void micro_kernel_avx2(std::int64_t kc, const float* packed_a, const float* packed_b,
                                                   float* c, std::int64_t ldc, bool accumulate, const float* bias,
                                                   bool relu, std::int64_t rows, std::int64_t columns) {
  micro_kernel_body(kc, packed_a, packed_b, c, ldc, accumulate, bias, relu, rows, columns);
}
#endif

void micro_kernel_baseline(std::int64_t kc, const float* packed_a, const float* packed_b, float* c, std::int64_t ldc,
                           bool accumulate, const float* bias, bool relu, std::int64_t rows, std::int64_t columns) {
  micro_kernel_body(kc, packed_a, packed_b, c, ldc, accumulate, bias, relu, rows, columns);
}

using MicroKernel = void (*)(std::int64_t, const float*, const float*, float*, std::int64_t, bool, const float*, bool,
                             std::int64_t, std::int64_t);

MicroKernel choose_micro_kernel() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return micro_kernel_avx2;
#endif
  return micro_kernel_baseline;
}

const MicroKernel micro_kernel = choose_micro_kernel();

// Packs rows [row0, row0 + mc) x depth [k0, k0 + kc) of A into panels of kMr rows:
// packed[panel * kMr * kc + k * kMr + i] = A(row0 + panel * kMr + i, k0 + k), 0 past the last row.
// Reads along whichever direction of A is contiguous.
void pack_a(MatrixView a, std::int64_t row0, std::int64_t mc, std::int64_t k0, std::int64_t kc, float* packed) {
  for (std::int64_t panel = 0; panel * kMr < mc; ++panel) {
    const std::int64_t rows = std::min(kMr, mc - panel * kMr);
    const float* a_panel = a.data + (row0 + panel * kMr) * a.row_stride + k0 * a.column_stride;
    float* out = packed + panel * kMr * kc;
    if (rows < kMr) std::fill(out, out + kMr * kc, 0.0f);
    if (a.column_stride == 1) {
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t k = 0; k < kc; ++k) out[k * kMr + i] = a_panel[i * a.row_stride + k];
    } else {
      for (std::int64_t k = 0; k < kc; ++k)
        for (std::int64_t i = 0; i < rows; ++i) out[k * kMr + i] = a_panel[i * a.row_stride + k * a.column_stride];
    }
  }
}

// Packs depth [k0, k0 + kc) x columns [column0, column0 + nc) of B into panels of kNr columns:
// packed[panel * kNr * kc + k * kNr + j] = B(k0 + k, column0 + panel * kNr + j), 0 past the last column.
// Reads along whichever direction of B is contiguous.
void pack_b(MatrixView b, std::int64_t k0, std::int64_t kc, std::int64_t column0, std::int64_t nc, float* packed) {
  for (std::int64_t panel = 0; panel * kNr < nc; ++panel) {
    const std::int64_t columns = std::min(kNr, nc - panel * kNr);
    const float* b_panel = b.data + k0 * b.row_stride + (column0 + panel * kNr) * b.column_stride;
    float* out = packed + panel * kNr * kc;
    if (columns < kNr) std::fill(out, out + kNr * kc, 0.0f);
    if (b.column_stride == 1) {
      for (std::int64_t k = 0; k < kc; ++k)
        for (std::int64_t j = 0; j < columns; ++j) out[k * kNr + j] = b_panel[k * b.row_stride + j];
    } else {
      for (std::int64_t j = 0; j < columns; ++j)
        for (std::int64_t k = 0; k < kc; ++k) out[k * kNr + j] = b_panel[k * b.row_stride + j * b.column_stride];
    }
  }
}

}  // namespace

// doc:gemm-blocking
void gemm(std::int64_t M, std::int64_t N, std::int64_t K, MatrixView a, MatrixView b, float* c, std::int64_t ldc,
          bool accumulate, const GemmEpilogue& epilogue) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (std::int64_t i = 0; i < M; ++i) std::fill(c + i * ldc, c + i * ldc + N, 0.0f);
    return;
  }
  // Per thread, grown once to the largest block and reused: no allocation per call.
  thread_local std::vector<float> packed_a, packed_b;
  packed_a.resize(std::max<std::size_t>(packed_a.size(), kMc * kKc));
  packed_b.resize(std::max<std::size_t>(packed_b.size(), kKc * kNc));

  for (std::int64_t column0 = 0; column0 < N; column0 += kNc) {
    const std::int64_t nc = std::min(kNc, N - column0);
    for (std::int64_t k0 = 0; k0 < K; k0 += kKc) {
      const std::int64_t kc = std::min(kKc, K - k0);
      // The first block of K overwrites C (with the bias added) unless the caller
      // accumulates; later ones add. The last one applies the activation.
      const bool add_to_c = accumulate || k0 > 0;
      const bool relu = epilogue.relu && k0 + kc >= K;
      pack_b(b, k0, kc, column0, nc, packed_b.data());
      for (std::int64_t row0 = 0; row0 < M; row0 += kMc) {
        const std::int64_t mc = std::min(kMc, M - row0);
        pack_a(a, row0, mc, k0, kc, packed_a.data());
        for (std::int64_t j = 0; j < nc; j += kNr) {
          for (std::int64_t i = 0; i < mc; i += kMr) {
            const float* bias = !add_to_c && epilogue.row_bias ? epilogue.row_bias + row0 + i : nullptr;
            micro_kernel(kc, packed_a.data() + i * kc, packed_b.data() + j * kc,
                         c + (row0 + i) * ldc + column0 + j, ldc, add_to_c, bias, relu, std::min(kMr, mc - i),
                         std::min(kNr, nc - j));
          }
        }
      }
    }
  }
}

void parallel_gemm(std::int64_t M, std::int64_t N, std::int64_t K, MatrixView a, MatrixView b, float* c,
                   std::int64_t ldc, bool accumulate) {
  const std::int64_t panels = (N + kNr - 1) / kNr;
  parallel_for(panels, [&](std::int64_t first, std::int64_t last) {
    const std::int64_t column0 = first * kNr, columns = std::min(N, last * kNr) - column0;
    MatrixView b_columns{b.data + column0 * b.column_stride, b.row_stride, b.column_stride};
    gemm(M, columns, K, a, b_columns, c + column0, ldc, accumulate);
  });
}

}  // namespace minidl::cpu
