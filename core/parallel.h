/// \file
/// Threads for the CPU fast path: a fixed pool and a static parallel_for.
///
/// parallel_for(count, body) splits the indices 0..count-1 into one contiguous
/// range per thread, in order: thread t gets [t*count/T, (t+1)*count/T). The
/// calling thread runs range 0 and waits for the others. No work stealing, so
/// which thread computes what depends only on count and the thread count, and a
/// kernel that gives each output element to exactly one index computes the same
/// bits with any number of threads.
///
/// The thread count defaults to the environment variable MINIDL_NUM_THREADS, else
/// the number of hardware threads; set_num_threads changes it (between calls).
#pragma once

#include <cstdint>
#include <functional>

namespace minidl {

/// The number of threads parallel_for uses (>= 1).
int num_threads();
/// Sets it; n < 1 throws Error. Call it from the thread that runs the ops,
/// not from inside a parallel_for body.
void set_num_threads(int n);

/// Calls body(begin, end) once per thread on disjoint ranges covering [0, count).
/// A body that throws: the first exception is rethrown in the caller once every
/// range is done. Nested calls (from inside a body) run serially.
void parallel_for(std::int64_t count, const std::function<void(std::int64_t begin, std::int64_t end)>& body);

/// The values below which waking the other threads costs more than it saves: a
/// parallel_for over fewer runs on the calling thread alone.
inline constexpr std::int64_t kMinParallelValues = 32 * 1024;

/// parallel_for for loops whose index i touches values_per_index values: the same
/// ranges when count * values_per_index >= kMinParallelValues, else body(0, count) on
/// the calling thread. For kernels that compute each index the same way on any thread.
void parallel_for(std::int64_t count, std::int64_t values_per_index,
                  const std::function<void(std::int64_t begin, std::int64_t end)>& body);

}  // namespace minidl
