// The register-blocked GEMM with a split depth that conv2d and linear run on: the
// `blocked` implementations (kernels/cuda/conv2d_blocked.cu, linear_blocked.cu). The
// rung below it is the 16x16 tiled GEMM of tiled_gemm.cuh. Include only from .cu files.
//
//   C(row, col) = epilogue( sum over batch b and k of A_b(row, k) * B_b(k, col) )
//
// What changed from tiled_gemm.cuh, and why:
//   1. Register blocking. A block of Tile::kThreads threads computes a kRows x kCols tile
//      of C; each thread computes kThreadRows x kThreadCols (4 x 4) of it in registers.
//      Per step of the depth it reads 4 values of A and 4 of B from shared memory for 16
//      multiply-adds, where a thread per element read 2 values per multiply-add.
//   2. The depth is split across blocks when the tiles of C alone are too few to fill
//      the GPU (conv1's weight gradient is a 32 x 27 matrix: one tile, but 102,400
//      products deep). Block z of the grid's z dimension sums one chunk of the depth of
//      one batch entry and writes its partial tile to a workspace; a second kernel adds
//      the partials in order z = 0, 1, ... and applies the epilogue. The same inputs give
//      the same bits on every run: no atomics.
//   3. Coalesced loads. A problem says which way each operand is contiguous; the threads
//      that load a tile walk along that way, so a warp reads 32 neighbouring addresses.
//   4. Index arithmetic in 32 bits (the implementations check that sizes fit), and no
//      division in the depth loop: each thread loads the same rows of A and columns of B
//      at every step, and decodes them once (a problem's ARow and BColumn).
//
// A problem is a struct with
//   int rows, cols, depth, batches;                     C is rows x cols; each batch entry
//                                                       adds a sum over depth
//   static constexpr bool kAContiguousInK, kBContiguousInK;
//   struct ARow, BColumn;                               what a thread keeps of its rows/columns
//   ARow a_row(int batch, int row) const;               row < rows
//   BColumn b_column(int batch, int col) const;         col < cols
//   float a(const ARow&, int k) const;                  0 <= k < depth
//   float b(const BColumn&, int k) const;
//   void store(int row, int col, float sum) const;      the epilogue: bias, ReLU, +=
#pragma once

#include <algorithm>
#include <cstdint>

#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

// A tile shape: the block computes kRows x kCols of C, kDepth at a time; each thread
// kThreadRows x kThreadCols of it.
template <int Rows, int Cols, int Depth, int ThreadRows, int ThreadCols>
struct GemmTile {
  static constexpr int kRows = Rows, kCols = Cols, kDepth = Depth;
  static constexpr int kThreadRows = ThreadRows, kThreadCols = ThreadCols;
  static constexpr int kThreads = (Rows / ThreadRows) * (Cols / ThreadCols);
  // Each thread loads the same rows of A and columns of B at every step (see 4. above).
  static_assert(kThreads % Rows == 0 && kThreads % Cols == 0 && kThreads % Depth == 0);
  static_assert(Rows * Depth % kThreads == 0 && Cols * Depth % kThreads == 0);
};
using LargeGemmTile = GemmTile<32, 64, 16, 4, 4>;  // 128 threads, 2,048 outputs a block
using SmallGemmTile = GemmTile<16, 16, 16, 2, 2>;  // 64 threads, for C too small for large tiles

// How a GEMM runs: its tile, its grid, and how the depth is split.
struct GemmPlan {
  bool small_tile = false;
  dim3 grid;
  int chunks = 1;       // depth chunks per batch entry
  int chunk_depth = 0;  // multiple of the tile's depth (the last chunk may be shorter)
  int partials = 1;     // batches * chunks: partial tiles summed by the second kernel when > 1
  std::int64_t multiply_adds = 0;
};

// A GEMM of rows x cols x depth per batch entry. Split only when it has at least 2^20
// multiply-adds and fewer tiles (times batches) than two blocks per multiprocessor:
// then into enough depth chunks for two blocks per multiprocessor, if the depth allows.
// Large tiles unless only small ones reach that many blocks.
inline GemmPlan plan_gemm(int rows, int cols, int depth, int batches) {
  const std::int64_t target = 2 * static_cast<std::int64_t>(multiprocessor_count());
  const std::int64_t multiply_adds = std::int64_t{rows} * cols * depth * batches;
  auto plan_with = [&](bool small, int tile_rows, int tile_cols, int tile_depth) {
    GemmPlan plan;
    plan.small_tile = small;
    plan.multiply_adds = multiply_adds;
    const std::int64_t tiles = std::int64_t{blocks_for(rows, tile_rows)} * blocks_for(cols, tile_cols);
    const int steps = std::max(1, static_cast<int>((depth + tile_depth - 1) / tile_depth));
    int wanted = 1;
    if (multiply_adds >= (std::int64_t{1} << 20) && tiles * batches < target)
      wanted = static_cast<int>(std::min<std::int64_t>(steps, (target + tiles * batches - 1) / (tiles * batches)));
    plan.chunk_depth = (steps / wanted) * tile_depth;  // rounded down: at least `wanted` chunks
    plan.chunks = depth == 0 ? 1 : static_cast<int>((depth + plan.chunk_depth - 1) / plan.chunk_depth);
    plan.partials = batches * plan.chunks;
    plan.grid = dim3(blocks_for(cols, tile_cols), blocks_for(rows, tile_rows), static_cast<unsigned>(plan.partials));
    return plan;
  };
  GemmPlan large = plan_with(false, LargeGemmTile::kRows, LargeGemmTile::kCols, LargeGemmTile::kDepth);
  const std::int64_t large_blocks = std::int64_t{large.grid.x} * large.grid.y * large.grid.z;
  if (large_blocks >= target || multiply_adds < (std::int64_t{1} << 20)) return large;
  GemmPlan small = plan_with(true, SmallGemmTile::kRows, SmallGemmTile::kCols, SmallGemmTile::kDepth);
  const std::int64_t small_blocks = std::int64_t{small.grid.x} * small.grid.y * small.grid.z;
  return small_blocks > large_blocks ? small : large;
}

// Floats of workspace a plan's partial tiles need (0 when the depth is not split).
inline std::int64_t gemm_partials_size(const GemmPlan& plan, int rows, int cols) {
  return plan.partials > 1 ? std::int64_t{plan.partials} * rows * cols : 0;
}

// Block (x, y, z) computes C's tile at rows y * kRows.., columns x * kCols.., over depth
// chunk z % chunks of batch entry z / chunks. Each step of kDepth:
//   - the threads load A's kRows x kDepth and B's kDepth x kCols values of the step into
//     shared a_tile[k][row] and b_tile[k][col] (0 outside A or B); a row of each is padded
//     by one float, so that threads storing down a column hit different banks;
//   - barrier: both tiles are complete;
//   - each thread adds a_tile[k][its rows] x b_tile[k][its columns] to its sums, k = 0, 1, ...;
//   - barrier: the tiles are read, the next step may overwrite them.
// Then each thread stores its sums: through the epilogue (problem.store), or, when the
// depth is split, to partials[z][row][col].
template <typename Problem, typename Tile>
__global__ void __launch_bounds__(Tile::kThreads)
    gemm_blocked_kernel(Problem problem, int chunks, int chunk_depth, float* partials) {
  constexpr int kRows = Tile::kRows, kCols = Tile::kCols, kDepth = Tile::kDepth;
  constexpr int kThreadRows = Tile::kThreadRows, kThreadCols = Tile::kThreadCols, kThreads = Tile::kThreads;
  constexpr int kALoads = kRows * kDepth / kThreads, kBLoads = kCols * kDepth / kThreads;
  __shared__ float a_tile[kDepth][kRows + 1];
  __shared__ float b_tile[kDepth][kCols + 1];

  const int thread = static_cast<int>(threadIdx.x);
  const int row0 = static_cast<int>(blockIdx.y) * kRows, col0 = static_cast<int>(blockIdx.x) * kCols;
  const int batch = static_cast<int>(blockIdx.z) / chunks, chunk = static_cast<int>(blockIdx.z) % chunks;
  const int k_begin = chunk * chunk_depth;
  const int k_end = k_begin + chunk_depth < problem.depth ? k_begin + chunk_depth : problem.depth;

  // The element of a tile that load number j of this thread fills: along k when the
  // operand is contiguous in k, else along its rows (columns). Either way the thread's
  // rows of A (columns of B) are the same at every step, and decoded once.
  int a_rows[kALoads], a_ks[kALoads], b_cols[kBLoads], b_ks[kBLoads];
  typename Problem::ARow a_lines[kALoads];
  typename Problem::BColumn b_lines[kBLoads];
  for (int j = 0; j < kALoads; ++j) {
    const int element = thread + j * kThreads;
    a_ks[j] = Problem::kAContiguousInK ? element % kDepth : element / kRows;
    a_rows[j] = Problem::kAContiguousInK ? element / kDepth : element % kRows;
    const int row = row0 + a_rows[j];
    a_lines[j] = problem.a_row(batch, row < problem.rows ? row : 0);
  }
  for (int j = 0; j < kBLoads; ++j) {
    const int element = thread + j * kThreads;
    b_ks[j] = Problem::kBContiguousInK ? element % kDepth : element / kCols;
    b_cols[j] = Problem::kBContiguousInK ? element / kDepth : element % kCols;
    const int col = col0 + b_cols[j];
    b_lines[j] = problem.b_column(batch, col < problem.cols ? col : 0);
  }

  // This thread's outputs: rows first_row.., columns first_col.. of the tile.
  const int first_row = thread / (kCols / kThreadCols) * kThreadRows;
  const int first_col = thread % (kCols / kThreadCols) * kThreadCols;
  float sums[kThreadRows][kThreadCols] = {};
  for (int k0 = k_begin; k0 < k_end; k0 += kDepth) {
    for (int j = 0; j < kALoads; ++j) {
      const int k = k0 + a_ks[j];
      a_tile[a_ks[j]][a_rows[j]] = row0 + a_rows[j] < problem.rows && k < k_end ? problem.a(a_lines[j], k) : 0.0f;
    }
    for (int j = 0; j < kBLoads; ++j) {
      const int k = k0 + b_ks[j];
      b_tile[b_ks[j]][b_cols[j]] = col0 + b_cols[j] < problem.cols && k < k_end ? problem.b(b_lines[j], k) : 0.0f;
    }
    __syncthreads();  // both tiles are complete
    for (int k = 0; k < kDepth; ++k) {
      float a_values[kThreadRows], b_values[kThreadCols];
      for (int r = 0; r < kThreadRows; ++r) a_values[r] = a_tile[k][first_row + r];
      for (int c = 0; c < kThreadCols; ++c) b_values[c] = b_tile[k][first_col + c];
      for (int r = 0; r < kThreadRows; ++r)
        for (int c = 0; c < kThreadCols; ++c) sums[r][c] += a_values[r] * b_values[c];
    }
    __syncthreads();  // the tiles are read: the next step may overwrite them
  }

  for (int r = 0; r < kThreadRows; ++r) {
    const int row = row0 + first_row + r;
    for (int c = 0; c < kThreadCols; ++c) {
      const int col = col0 + first_col + c;
      if (row >= problem.rows || col >= problem.cols) continue;
      if (partials == nullptr)
        problem.store(row, col, sums[r][c]);
      else
        partials[(static_cast<int>(blockIdx.z) * problem.rows + row) * problem.cols + col] = sums[r][c];
    }
  }
}

// Thread i adds the partial sums of C's element i = row * cols + col in the order
// z = 0, 1, ..., count - 1 and stores the total through the epilogue.
template <typename Problem>
__global__ void gemm_partials_kernel(Problem problem, const float* partials, int count) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int elements = problem.rows * problem.cols;
  if (i >= elements) return;
  float sum = 0.0f;
  for (int z = 0; z < count; ++z) sum += partials[z * elements + i];
  problem.store(i / problem.cols, i % problem.cols, sum);
}

// Queues the GEMM of problem as planned: one launch, or two when the depth is split
// (partials: gemm_partials_size(plan, rows, cols) floats of device memory).
template <typename Problem>
void gemm_blocked(const Problem& problem, const GemmPlan& plan, float* partials, cudaStream_t stream,
                  SourceLocation where = SourceLocation::current()) {
  if (problem.rows == 0 || problem.cols == 0) return;
  float* partial_tiles = plan.partials > 1 ? partials : nullptr;
  const Work work = multiply_adds(plan.multiply_adds);
  if (plan.small_tile)
    launch(gemm_blocked_kernel<Problem, SmallGemmTile>, {plan.grid, SmallGemmTile::kThreads, 0, stream, work, where},
           problem, plan.chunks, plan.chunk_depth, partial_tiles);
  else
    launch(gemm_blocked_kernel<Problem, LargeGemmTile>, {plan.grid, LargeGemmTile::kThreads, 0, stream, work, where},
           problem, plan.chunks, plan.chunk_depth, partial_tiles);
  if (partial_tiles == nullptr) return;
  const std::int64_t elements = std::int64_t{problem.rows} * problem.cols;
  constexpr unsigned kThreads = 256;
  launch(gemm_partials_kernel<Problem>,
         {blocks_for(elements, kThreads), kThreads, 0, stream, cuda::elements(elements * plan.partials), where}, problem,
         static_cast<const float*>(partial_tiles), plan.partials);
}

}  // namespace minidl::cuda
