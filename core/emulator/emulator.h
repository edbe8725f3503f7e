// Controls of the CUDA emulator for tests: counters, a memory limit, block order,
// and the launch engine that minidl::cuda::launch (kernels/cuda/kernel_support.cuh) calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "minidl/core/source_location.h"
#include "minidl/core/emulator/cuda_emulator.h"

namespace minidl::emulator {

// What the emulated device has been asked to do since the process started. A
// performance test takes the difference around a region:
//   Counters before = counters();  step();  Counters used = counters() - before;
struct Counters {
  std::int64_t device_allocations = 0;     // cudaMalloc calls that allocated
  std::int64_t device_frees = 0;           // cudaFree calls that freed
  std::int64_t host_synchronizations = 0;  // calls that make the host wait for the device:
                                           // cudaDeviceSynchronize, cudaStreamSynchronize,
                                           // cudaEventSynchronize, cudaMemcpy
  std::int64_t launches = 0;               // kernel launches and cuBLAS GEMMs that ran (eagerly
                                           // or replayed from a graph)
  std::int64_t graph_launches = 0;         // cudaGraphLaunch calls

  Counters operator-(const Counters& earlier) const;
};
Counters counters();

// The emulated device's memory: cudaMalloc fails with cudaErrorMemoryAllocation when
// the bytes in use would exceed it, and cudaMemGetInfo reports it as the total.
// The default is 4 GiB (allocated from the host only as used).
void set_memory_limit(std::size_t bytes);
std::size_t memory_limit();

// The order in which the blocks of a grid run. CUDA promises none, so a kernel whose
// blocks depend on each other's results is wrong; running them shuffled exposes it.
// The environment variable MINIDL_EMULATOR_SHUFFLE_SEED=<n> starts a process shuffled
// with seed n.
enum class BlockOrder { in_order, shuffled };
void set_block_order(BlockOrder order, std::uint64_t seed = 0);
BlockOrder block_order();

// What a launch's call site declared about its work (kernels/cuda/kernel_support.cuh).
struct DeclaredWork {
  std::int64_t amount = 0;
  const char* kind = "";  // "multiply-adds" or "elements"
};

// One launch as a LaunchRecorder saw it.
struct LaunchRecord {
  SourceLocation where;  // the launch's call site
  dim3 grid, block;      // grid (0, 0, 0) for a library's own launch (the cuBLAS stand-in)
  DeclaredWork work;
};

// While a recorder lives, every launch (and every cuBLAS call) is recorded. In record_only
// mode no kernel body runs and the cuBLAS stand-in computes nothing, so a whole training
// step at full size is recorded in moments: the launches' grids are the ones a GPU
// would get, the device memory's contents are garbage. One recorder at a time.
class LaunchRecorder {
 public:
  enum class Mode { run, record_only };
  explicit LaunchRecorder(Mode mode);
  ~LaunchRecorder();
  LaunchRecorder(const LaunchRecorder&) = delete;
  LaunchRecorder& operator=(const LaunchRecorder&) = delete;

  // The launches so far, in order.
  std::vector<LaunchRecord> records() const;
  // Forgets the launches so far.
  void clear();
};

// Runs kernel_body on every thread of every block of the grid, and returns when all
// have finished (unless a LaunchRecorder in record_only mode lives). An invalid configuration (no threads, more than 1024 threads per
// block, more than 48 KiB of dynamic shared memory) is reported like CUDA does,
// through cudaGetLastError(). A thread that throws, a shuffle with a wrong mask or a
// deadlocked block make it throw Error naming the thread, the block and `where`.
void launch(dim3 grid, dim3 block, std::size_t dynamic_shared_bytes, cudaStream_t stream, DeclaredWork work,
            const std::function<void()>& kernel_body, SourceLocation where);

namespace detail {
// For the runtime and cuBLAS parts of the emulator.
void set_last_error(cudaError_t error);
void count_launch();
// When stream is capturing, records work (to run when a graph made from the capture is
// launched) and returns true; else returns false and the caller runs the work now.
bool capture(cudaStream_t stream, std::function<void()> work);
// For the cuBLAS stand-in: records a GEMM of multiply_adds with a LaunchRecorder, and
// returns false when it must not compute (record_only).
bool record_library_call(std::int64_t multiply_adds, SourceLocation where = SourceLocation::current());
}  // namespace detail

}  // namespace minidl::emulator
