#include "minidl/core/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "minidl/core/error.h"

namespace minidl {

namespace {

int default_thread_count() {
  if (const char* text = std::getenv("MINIDL_NUM_THREADS")) {
    char* end = nullptr;
    long n = std::strtol(text, &end, 10);
    if (end != text && *end == '\0' && n >= 1 && n <= 1024) return static_cast<int>(n);
    fail("MINIDL_NUM_THREADS must be a whole number from 1 to 1024, got '{}'", text);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

// True on a thread while it runs a parallel_for body (and always on the pool's
// workers): a parallel_for from there runs serially instead of waiting on the pool.
thread_local bool t_inside_parallel_for = false;

// Waits until done() is true: first spinning for up to kSpin (a fork-join of a training
// step at batch 10 comes every few tens of microseconds, and a thread woken from the
// kernel on this kind of VM takes 10 to 50 us to run again), then asleep on the
// condition variable, which whoever makes done() true notifies under the mutex.
constexpr auto kSpin = std::chrono::microseconds(50);

template <typename Done>
void spin_then_wait(std::mutex& mutex, std::condition_variable& condition, Done done) {
  const auto give_up = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0; !done(); ++i) {
    if (i % 64 == 63 && std::chrono::steady_clock::now() > give_up) {
      std::unique_lock lock(mutex);
      condition.wait(lock, done);
      return;
    }
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
}

// Workers 1..T-1 wait for a job; the caller is thread 0. A job is published by
// bumping generation (under the mutex, for the sleepers); each worker runs its range
// and counts itself done; the caller waits until all have. Both waits spin a little
// before they sleep (spin_then_wait).
class ThreadPool {
 public:
  explicit ThreadPool(int threads) {
    for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { work(t); });
  }

  ~ThreadPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    job_ready_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void run(std::int64_t count, const std::function<void(std::int64_t, std::int64_t)>& body) {
    {
      std::lock_guard lock(mutex_);
      body_ = &body;
      count_ = count;
      pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
      error_ = nullptr;
      generation_.fetch_add(1, std::memory_order_release);
    }
    job_ready_.notify_all();
    run_range(0, body, count);
    spin_then_wait(mutex_, job_done_, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    body_ = nullptr;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  void work(int thread) {
    t_inside_parallel_for = true;
    std::uint64_t seen = 0;
    for (;;) {
      spin_then_wait(mutex_, job_ready_, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      const std::function<void(std::int64_t, std::int64_t)>* body;
      std::int64_t count;
      {
        std::lock_guard lock(mutex_);
        seen = generation_.load(std::memory_order_relaxed);
        if (stopping_) return;
        body = body_;
        count = count_;
      }
      run_range(thread, *body, count);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard lock(mutex_);  // the caller may be between its check and its sleep
        job_done_.notify_one();
      }
    }
  }

  // Runs thread's share of [0, count); keeps the first exception of the job.
  void run_range(int thread, const std::function<void(std::int64_t, std::int64_t)>& body, std::int64_t count) {
    const std::int64_t threads = size();
    const std::int64_t begin = count * thread / threads, end = count * (thread + 1) / threads;
    if (begin == end) return;
    try {
      body(begin, end);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable job_ready_, job_done_;
  std::atomic<std::uint64_t> generation_{0};
  bool stopping_ = false;
  const std::function<void(std::int64_t, std::int64_t)>* body_ = nullptr;
  std::int64_t count_ = 0;
  std::atomic<int> pending_{0};
  std::exception_ptr error_;
};

std::mutex g_pool_mutex;  // guards g_pool's replacement, not its use
std::unique_ptr<ThreadPool> g_pool;
ThreadPool& pool() {
  std::lock_guard lock(g_pool_mutex);
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(default_thread_count());
  return *g_pool;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  if (n < 1) fail("the thread count must be at least 1, got {}", n);
  std::lock_guard lock(g_pool_mutex);
  if (g_pool && g_pool->size() == n) return;
  g_pool.reset();
  g_pool = std::make_unique<ThreadPool>(n);
}

void parallel_for(std::int64_t count, const std::function<void(std::int64_t, std::int64_t)>& body) {
  if (count <= 0) return;
  ThreadPool& threads = pool();
  if (t_inside_parallel_for || threads.size() == 1 || count == 1) {
    body(0, count);
    return;
  }
  t_inside_parallel_for = true;
  try {
    threads.run(count, body);
  } catch (...) {
    t_inside_parallel_for = false;
    throw;
  }
  t_inside_parallel_for = false;
}

void parallel_for(std::int64_t count, std::int64_t values_per_index,
                  const std::function<void(std::int64_t, std::int64_t)>& body) {
  if (count <= 0) return;
  if (count * values_per_index < kMinParallelValues) {
    body(0, count);
    return;
  }
  parallel_for(count, body);
}

}  // namespace minidl
