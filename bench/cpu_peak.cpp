#include "cpu_peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "minidl/core/parallel.h"

#pragma GCC diagnostic ignored "-Wpsabi"  // the vector values never cross a call

namespace minidl::bench {

namespace {

using Float8 = float __attribute__((vector_size(32)));

// Twelve independent accumulators: an FMA's result is ready after about 4 to 5 cycles
// and two can start each cycle, so at least 10 must be in flight to keep both pipes busy.
constexpr int kChains = 12;
constexpr std::int64_t kIterations = 1 << 20;  // per thread and round: 12 x 2^20 FMAs of 8 lanes

// acc = acc * a + b on every chain, kIterations times; returns a sum the compiler cannot
// drop. FLOPs: kIterations * kChains * 8 lanes * 2.
#if defined(__x86_64__)
[[gnu::target("avx2,fma")]] float fma_chains_avx2(float seed) {
  Float8 accumulators[kChains];
  for (int c = 0; c < kChains; ++c) accumulators[c] = Float8{} + seed * static_cast<float>(c + 1);
  const Float8 a = Float8{} + 0.999999f, b = Float8{} + 1e-7f;
  for (std::int64_t i = 0; i < kIterations; ++i)
    for (int c = 0; c < kChains; ++c) accumulators[c] = __builtin_ia32_vfmaddps256(accumulators[c], a, b);
  Float8 total{};
  for (int c = 0; c < kChains; ++c) total += accumulators[c];
  float lanes[8];
  std::memcpy(lanes, &total, sizeof lanes);
  return lanes[0] + lanes[7];
}
#endif

// Without FMA: a multiply and an add, counted as one multiply-add.
float fma_chains_baseline(float seed) {
  Float8 accumulators[kChains];
  for (int c = 0; c < kChains; ++c) accumulators[c] = Float8{} + seed * static_cast<float>(c + 1);
  const Float8 a = Float8{} + 0.999999f, b = Float8{} + 1e-7f;
  for (std::int64_t i = 0; i < kIterations; ++i)
    for (int c = 0; c < kChains; ++c) accumulators[c] = accumulators[c] * a + b;
  Float8 total{};
  for (int c = 0; c < kChains; ++c) total += accumulators[c];
  float lanes[8];
  std::memcpy(lanes, &total, sizeof lanes);
  return lanes[0] + lanes[7];
}

}  // namespace

CpuPeak measure_cpu_peak() {
  bool fma = false;
#if defined(__x86_64__)
  fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  const int threads = num_threads();
  std::atomic<float> sink{0.0f};
  double best_seconds = 1e30;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    parallel_for(threads, [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t t = first; t < last; ++t) {
#if defined(__x86_64__)
        const float result = fma ? fma_chains_avx2(1.0f + static_cast<float>(t)) : fma_chains_baseline(1.0f);
#else
        const float result = fma_chains_baseline(1.0f);
#endif
        sink.store(result, std::memory_order_relaxed);
      }
    });
    best_seconds = std::min(best_seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const double flops = static_cast<double>(threads) * kIterations * kChains * 8 * 2;
  return {flops / best_seconds * 1e-9, threads,
          fma ? "AVX2 + FMA, 8 floats per instruction" : "baseline, a multiply and an add per 4 floats"};
}

}  // namespace minidl::bench
