// The machine's FP32 multiply-add peak, measured: the ceiling bench_ops reports each CPU
// op's GFLOP/s against (its share of the peak).
#pragma once

namespace minidl::bench {

struct CpuPeak {
  double gflop_per_s = 0;  // all threads together; 2 FLOPs per multiply-add
  int threads = 0;
  const char* instructions = "";  // "AVX2 + FMA, 8 floats per instruction" or the baseline's
};

// A short probe (about 0.1 s): on every thread of the pool (core/parallel.h) at once,
// independent chains of fused multiply-adds on registers, with no memory traffic; the
// best of several rounds.
CpuPeak measure_cpu_peak();

}  // namespace minidl::bench
