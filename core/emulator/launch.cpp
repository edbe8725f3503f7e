// The launch engine of the CUDA emulator: a grid runs block by block, and every CUDA
// thread of a block is a host thread.
//
// Threads. A pool of worker threads lives as long as the process (creating 256
// threads costs ~15 ms natively and ~0.5 s under ThreadSanitizer, too much per
// block). Worker t plays thread t of every block: it sets threadIdx, blockIdx,
// blockDim and gridDim, runs the kernel, and reports that it returned.
//
// Barriers. __syncthreads() waits on the block's mutex and condition variable until
// every thread that has not returned has arrived; a thread that returns leaves the
// count, which may complete the barrier. A warp operation (shuffle, vote, __syncwarp)
// is the same over the live lanes of one warp, with the warp's own mutex, and hands
// every lane the values all lanes deposited.
//
// Why each warp has its own mutex: ThreadSanitizer takes every hand-over of a mutex
// as synchronisation. If the warps shared one for their shuffles, a write by one warp
// and a read by another would look ordered whenever the writer happened to shuffle
// first, and a missing __syncthreads() would often go unreported. So only
// __syncthreads() (and returning) orders the threads of different warps, as on a GPU,
// and the counters the launching thread watches are relaxed atomics, which
// ThreadSanitizer does not take as synchronisation.
//
// Failures. A thread that throws records the failure and aborts the block: every
// thread waiting at a barrier wakes and unwinds (BlockAborted), the others stop at
// their next barrier or return, and launch() throws Error. While a block runs, the
// launching thread checks every 100 ms whether all its live threads wait at barriers
// that cannot complete (a __syncthreads() some threads skip); twice in a row with no
// progress in between is a deadlock, reported the same way.
#include <pthread.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <semaphore>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "minidl/core/error.h"
#include "minidl/core/emulator/emulator.h"

namespace minidl::emulator {

namespace {

constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr std::size_t kMaxDynamicSharedBytes = 48 * 1024;
constexpr int kLanes = 32;

// Thrown in the threads of an aborted block to unwind them out of a barrier. Not
// derived from std::exception, so that it is told apart from a kernel's own exception.
struct BlockAborted {};

// The barrier of one warp's shuffles and votes.
struct Warp {
  std::mutex mutex;
  std::condition_variable released;
  unsigned live_lanes = 0;          // lanes that have not returned
  unsigned arrived_lanes = 0;       // lanes waiting in the current operation
  const char* operation = nullptr;  // the current operation's name
  std::uint64_t completed = 0;      // operations completed
  // Operation number g exchanges its values in values[g % 2]. A lane overwrites that
  // buffer only in operation g + 2, which needs operation g + 1 completed, which needs
  // every lane to have arrived there, after reading its result of g.
  std::array<std::uint64_t, kLanes> values[2];
};

// The block that is running.
struct Block {
  Block(uint3 index, dim3 dim, dim3 grid_dim, const std::function<void()>& kernel, std::byte* dynamic_shared)
      : index(index),
        dim(dim),
        grid_dim(grid_dim),
        thread_count(static_cast<int>(dim.x * dim.y * dim.z)),
        kernel(kernel),
        dynamic_shared(dynamic_shared),
        warps((thread_count + kLanes - 1) / kLanes),
        live_threads(thread_count),
        running_threads(thread_count) {
    for (int w = 0; w < static_cast<int>(warps.size()); ++w) {
      int lanes = std::min(kLanes, thread_count - w * kLanes);
      warps[w].live_lanes = lanes == kLanes ? ~0u : (1u << lanes) - 1;
    }
  }

  const uint3 index;
  const dim3 dim;
  const dim3 grid_dim;
  const int thread_count;
  const std::function<void()>& kernel;
  std::byte* const dynamic_shared;

  // __syncthreads
  std::mutex mutex;
  std::condition_variable released;
  int arrived_threads = 0;
  std::uint64_t completed = 0;

  std::vector<Warp> warps;

  // Relaxed atomics, also read by the launching thread to spot a deadlock.
  std::atomic<int> live_threads;     // threads that have not returned
  std::atomic<int> running_threads;  // live threads not waiting at a barrier
  std::atomic<std::uint64_t> progress{0};  // barriers completed and threads returned

  std::atomic<bool> aborted{false};
  std::mutex failure_mutex;
  std::string failure;  // the first one
};

// The block and linear thread index of the calling worker while it runs a kernel.
struct ThreadContext {
  Block* block = nullptr;
  int thread = 0;
};
thread_local ThreadContext current;

std::string coordinates(uint3 index) { return fmt::format("({}, {}, {})", index.x, index.y, index.z); }

Block& current_block(const char* operation) {
  if (current.block == nullptr) fail("{} was called outside a kernel", operation);
  return *current.block;
}

bool is_aborted(const Block& block) { return block.aborted.load(std::memory_order_relaxed); }

void throw_if_aborted(const Block& block) {
  if (is_aborted(block)) throw BlockAborted{};
}

// Records the block's first failure and wakes every thread waiting at a barrier.
void abort_block(Block& block, std::string failure) {
  {
    std::lock_guard lock(block.failure_mutex);
    if (!block.failure.empty()) return;
    block.failure = std::move(failure);
  }
  block.aborted.store(true, std::memory_order_relaxed);
  {
    std::lock_guard lock(block.mutex);
    block.released.notify_all();
  }
  for (Warp& warp : block.warps) {
    std::lock_guard lock(warp.mutex);
    warp.released.notify_all();
  }
}

// Caller holds block.mutex and every live thread has arrived.
void release_block_barrier(Block& block) {
  block.running_threads.fetch_add(block.arrived_threads, std::memory_order_relaxed);
  block.arrived_threads = 0;
  ++block.completed;
  block.progress.fetch_add(1, std::memory_order_relaxed);
  block.released.notify_all();
}

// A thread leaves its block: it drops out of the warp's and the block's barriers.
void thread_returned(Block& block, int thread) {
  Warp& warp = block.warps[thread / kLanes];
  std::string failure;
  {
    std::lock_guard lock(warp.mutex);
    warp.live_lanes &= ~(1u << (thread % kLanes));
    if (warp.arrived_lanes != 0 && !is_aborted(block))
      failure = fmt::format("thread {} of block {} returned while lanes {:#010x} of its warp wait for it in {}",
                            coordinates(threadIdx), coordinates(block.index), warp.arrived_lanes, warp.operation);
  }
  if (!failure.empty()) abort_block(block, failure);
  {
    std::lock_guard lock(block.mutex);
    int live = block.live_threads.fetch_sub(1, std::memory_order_relaxed) - 1;
    block.running_threads.fetch_sub(1, std::memory_order_relaxed);
    if (block.arrived_threads > 0 && block.arrived_threads == live) release_block_barrier(block);
  }
  block.progress.fetch_add(1, std::memory_order_relaxed);
}

// Runs the kernel as thread `thread` (linear index) of block.
void run_thread(Block& block, int thread) {
  unsigned t = static_cast<unsigned>(thread);
  threadIdx = {t % block.dim.x, t / block.dim.x % block.dim.y, t / (block.dim.x * block.dim.y)};
  blockIdx = block.index;
  blockDim = block.dim;
  gridDim = block.grid_dim;
  current = {&block, thread};
  try {
    block.kernel();
  } catch (const BlockAborted&) {
  } catch (const std::exception& error) {
    abort_block(block, fmt::format("thread {} of block {} threw: {}", coordinates(threadIdx), coordinates(blockIdx),
                                   error.what()));
  } catch (...) {
    abort_block(block, fmt::format("thread {} of block {} threw an exception that is not a std::exception",
                                   coordinates(threadIdx), coordinates(blockIdx)));
  }
  thread_returned(block, thread);
  current = {};
}

// Worker threads, one per CUDA thread of the largest block so far.
class WorkerPool {
 public:
  ~WorkerPool() {
    stopping_.store(true);
    for (std::unique_ptr<Worker>& worker : workers_) worker->go.release();
    for (std::unique_ptr<Worker>& worker : workers_) worker->thread.join();
  }

  // Starts workers 0 .. block.thread_count - 1 on block. Only those wake: each worker
  // waits on a semaphore of its own, so a block of 32 threads does not wake 1024.
  void start(Block& block) {
    while (static_cast<int>(workers_.size()) < block.thread_count) {
      auto worker = std::make_unique<Worker>();
      worker->thread = std::thread(&WorkerPool::work, this, static_cast<int>(workers_.size()), worker.get());
      workers_.push_back(std::move(worker));
    }
    block_ = &block;  // read by the workers after their semaphore's release
    {
      std::lock_guard lock(mutex_);
      unfinished_ = block.thread_count;
    }
    for (int t = 0; t < block.thread_count; ++t) workers_[t]->go.release();
  }

  // Waits up to timeout for the started block to finish; true when it has.
  bool wait_for_block(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return finished_.wait_for(lock, timeout, [&] { return unfinished_ == 0; });
  }

 private:
  struct Worker {
    std::thread thread;
    std::binary_semaphore go{0};
  };

  void work(int thread, Worker* self) {
    // Names the thread for debuggers: `info threads` in gdb lists "emu thread 17".
    pthread_setname_np(pthread_self(), fmt::format("emu thread {}", thread).c_str());
    for (;;) {
      self->go.acquire();
      if (stopping_.load()) return;
      run_thread(*block_, thread);
      std::lock_guard lock(mutex_);
      if (--unfinished_ == 0) finished_.notify_all();
    }
  }

  // workers_ grows only in start(), on the launching thread, while no block runs; a
  // worker is handed its own entry when its thread starts, and never reads the vector.
  std::vector<std::unique_ptr<Worker>> workers_;
  Block* block_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable finished_;
  int unfinished_ = 0;  // threads of the current block still running, guarded by mutex_
};

WorkerPool& pool() {
  static WorkerPool instance;
  return instance;
}

// Runs every thread of block and returns when all have returned, aborting a deadlocked block.
void run_block(Block& block) {
  pool().start(block);
  std::optional<std::uint64_t> stuck_at_progress;
  while (!pool().wait_for_block(std::chrono::milliseconds(100))) {
    bool stuck = block.live_threads.load(std::memory_order_relaxed) > 0 &&
                 block.running_threads.load(std::memory_order_relaxed) == 0;
    std::uint64_t progress = block.progress.load(std::memory_order_relaxed);
    if (stuck && stuck_at_progress == progress)
      abort_block(block, fmt::format("block {} deadlocked: each of its {} live threads waits at a __syncthreads() or "
                                     "warp operation that the others do not reach",
                                     coordinates(block.index), block.live_threads.load(std::memory_order_relaxed)));
    stuck_at_progress = stuck ? std::optional(progress) : std::nullopt;
  }
}

// Launches run one at a time; this mutex also guards the block order.
std::mutex& launch_mutex() {
  static std::mutex mutex;
  return mutex;
}

struct BlockOrderSetting {
  BlockOrder order = BlockOrder::in_order;
  std::mt19937_64 generator;
};

BlockOrderSetting& block_order_setting() {
  static BlockOrderSetting setting = [] {
    BlockOrderSetting from_environment;
    if (const char* seed = std::getenv("MINIDL_EMULATOR_SHUFFLE_SEED")) {
      from_environment.order = BlockOrder::shuffled;
      from_environment.generator.seed(std::strtoull(seed, nullptr, 10));
    }
    return from_environment;
  }();
  return setting;
}

// Linear block indices (x fastest) in the order they run. Caller holds launch_mutex().
std::vector<std::uint64_t> blocks_in_launch_order(dim3 grid) {
  std::vector<std::uint64_t> order(std::uint64_t{grid.x} * grid.y * grid.z);
  std::iota(order.begin(), order.end(), std::uint64_t{0});
  BlockOrderSetting& setting = block_order_setting();
  if (setting.order == BlockOrder::shuffled) std::shuffle(order.begin(), order.end(), setting.generator);
  return order;
}

bool is_valid_configuration(dim3 grid, dim3 block) {
  std::uint64_t threads = std::uint64_t{block.x} * block.y * block.z;
  return grid.x >= 1 && grid.y >= 1 && grid.z >= 1 && grid.x <= 0x7fffffffu && grid.y <= 65535 &&
         grid.z <= 65535 && threads >= 1 && threads <= kMaxThreadsPerBlock && block.z <= 64;
}

}  // namespace

void set_block_order(BlockOrder order, std::uint64_t seed) {
  std::lock_guard lock(launch_mutex());
  block_order_setting().order = order;
  block_order_setting().generator.seed(seed);
}

BlockOrder block_order() {
  std::lock_guard lock(launch_mutex());
  return block_order_setting().order;
}

// ---- LaunchRecorder ---------------------------------------------------------------------

namespace {

struct Recording {
  std::mutex mutex;
  bool active = false;
  bool record_only = false;
  std::vector<LaunchRecord> records;
};

Recording& recording() {
  static Recording instance;
  return instance;
}

// Records a launch when a recorder lives; true when its body must run.
bool record(const LaunchRecord& launch_record) {
  Recording& r = recording();
  std::lock_guard lock(r.mutex);
  if (!r.active) return true;
  r.records.push_back(launch_record);
  return !r.record_only;
}

}  // namespace

LaunchRecorder::LaunchRecorder(Mode mode) {
  Recording& r = recording();
  std::lock_guard lock(r.mutex);
  if (r.active) fail("LaunchRecorder: another recorder is alive; one at a time");
  r.active = true;
  r.record_only = mode == Mode::record_only;
  r.records.clear();
}

LaunchRecorder::~LaunchRecorder() {
  Recording& r = recording();
  std::lock_guard lock(r.mutex);
  r.active = false;
  r.record_only = false;
  r.records.clear();
}

std::vector<LaunchRecord> LaunchRecorder::records() const {
  std::lock_guard lock(recording().mutex);
  return recording().records;
}

void LaunchRecorder::clear() {
  std::lock_guard lock(recording().mutex);
  recording().records.clear();
}

namespace {

// Runs every block of the grid, in the block order set, and returns when all have
// finished; throws Error when a block failed.
void run_grid(dim3 grid, dim3 block_dim, std::size_t dynamic_shared_bytes, const std::function<void()>& kernel_body,
              SourceLocation where) {
  std::lock_guard lock(launch_mutex());
  std::vector<std::byte> dynamic_shared(dynamic_shared_bytes);
  for (std::uint64_t linear : blocks_in_launch_order(grid)) {
    uint3 index = {static_cast<unsigned>(linear % grid.x), static_cast<unsigned>(linear / grid.x % grid.y),
                   static_cast<unsigned>(linear / (std::uint64_t{grid.x} * grid.y))};
    // On a GPU a block's shared memory starts with whatever was there; here, with NaNs.
    std::fill(dynamic_shared.begin(), dynamic_shared.end(), std::byte{0xff});
    auto block = std::make_unique<Block>(index, block_dim, grid, kernel_body, dynamic_shared.data());
    run_block(*block);
    if (is_aborted(*block))
      fail("kernel launched at {}:{} with grid {} and block {} failed: {}", where.file, where.line,
           coordinates({grid.x, grid.y, grid.z}), coordinates({block_dim.x, block_dim.y, block_dim.z}),
           block->failure);
  }
}

}  // namespace

void launch(dim3 grid, dim3 block_dim, std::size_t dynamic_shared_bytes, cudaStream_t stream, DeclaredWork work,
            const std::function<void()>& kernel_body, SourceLocation where) {
  if (current.block != nullptr)
    fail("kernel launch at {}:{}: a kernel cannot launch kernels in the emulator", where.file, where.line);
  if (!is_valid_configuration(grid, block_dim)) {
    detail::set_last_error(cudaErrorInvalidConfiguration);
    return;
  }
  if (dynamic_shared_bytes > kMaxDynamicSharedBytes) {
    detail::set_last_error(cudaErrorInvalidValue);
    return;
  }
  // A capturing stream keeps the launch, with a copy of the kernel's arguments (kernel_body
  // holds them by value), for the graph made from the capture to run.
  auto run = [=] {
    detail::count_launch();
    if (record({where, grid, block_dim, work})) run_grid(grid, block_dim, dynamic_shared_bytes, kernel_body, where);
  };
  if (detail::capture(stream, run)) return;
  run();
}

namespace detail {

void sync_block() {
  Block& block = current_block("__syncthreads");
  std::unique_lock lock(block.mutex);
  throw_if_aborted(block);
  block.running_threads.fetch_sub(1, std::memory_order_relaxed);
  if (++block.arrived_threads == block.live_threads.load(std::memory_order_relaxed)) {
    release_block_barrier(block);
    return;
  }
  std::uint64_t barrier = block.completed;
  block.released.wait(lock, [&] { return block.completed != barrier || is_aborted(block); });
  if (block.completed == barrier) throw BlockAborted{};
}

WarpExchange exchange_in_warp(unsigned mask, std::uint64_t value, const char* operation) {
  Block& block = current_block(operation);
  int warp_index = current.thread / kLanes;
  int lane = current.thread % kLanes;
  Warp& warp = block.warps[warp_index];
  std::unique_lock lock(warp.mutex);
  throw_if_aborted(block);
  if (mask != warp.live_lanes)
    fail("{}: mask {:#010x} does not match the live lanes {:#010x} of warp {}", operation, mask, warp.live_lanes,
         warp_index);
  if (warp.arrived_lanes == 0) {
    warp.operation = operation;
  } else if (std::string_view(warp.operation) != operation) {
    fail("{}: other lanes of warp {} wait in {}; every live lane must reach the same warp operation", operation,
         warp_index, warp.operation);
  }
  std::uint64_t number = warp.completed;
  std::array<std::uint64_t, kLanes>& values = warp.values[number % 2];
  values[lane] = value;
  warp.arrived_lanes |= 1u << lane;
  block.running_threads.fetch_sub(1, std::memory_order_relaxed);
  if (warp.arrived_lanes == warp.live_lanes) {
    block.running_threads.fetch_add(std::popcount(warp.arrived_lanes), std::memory_order_relaxed);
    warp.arrived_lanes = 0;
    ++warp.completed;
    block.progress.fetch_add(1, std::memory_order_relaxed);
    warp.released.notify_all();
  } else {
    warp.released.wait(lock, [&] { return warp.completed != number || is_aborted(block); });
    if (warp.completed == number) throw BlockAborted{};
  }
  return {values, mask, lane};
}

void* dynamic_shared_memory() { return current_block("dynamic_shared_memory").dynamic_shared; }

void check_shuffle_width(int width, const char* operation) {
  if (width < 1 || width > kLanes || !std::has_single_bit(static_cast<unsigned>(width)))
    fail("{}: width {} is not a power of two from 1 to 32", operation, width);
}

bool record_library_call(std::int64_t multiply_adds, SourceLocation where) {
  return record({where, dim3(0, 0, 0), dim3(0, 0, 0), {multiply_adds, "multiply-adds"}});
}

void fail_lane_not_in_mask(const char* operation, int lane, int source, unsigned mask) {
  fail("{}: lane {} reads lane {}, which is not in the mask {:#010x}", operation, lane, source, mask);
}

}  // namespace detail

}  // namespace minidl::emulator
