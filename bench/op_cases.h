// The cases bench_ops times: every op of the study's network at the study's shapes, for
// one registered implementation (kernels/registry.h), with what each call costs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "minidl/core/device.h"
#include "minidl/kernels/implementation.h"

namespace minidl::bench {

// One op at one shape and batch, with one implementation, in one variant: what to call
// and what a call costs. A case holds its tensors and workspaces in its functions.
struct Case {
  ops::Op op;
  std::string shape;    // "3->32 32x32"
  std::string variant;  // "" or "+relu": the ReLU fused (kernels/epilogue.h)
  std::int64_t batch;
  std::string implementation;
  // Multiply-adds count 2 FLOPs; an elementwise op a nominal count per element. Bytes are
  // the fewest a call must move: each input read once, each output written once.
  double forward_flops, backward_flops, forward_bytes, backward_bytes;
  std::function<void()> forward, backward;  // empty: the variant times one direction only
  std::function<std::string()> note;        // e.g. cuDNN's algorithms, read after the timing
  // For conv2d with cuDNN: cudnnFind*'s fastest and fastest GEMM-based milliseconds, summed.
  std::function<std::pair<double, double>()> library_find_times;
};

// The cases of op with implementation on device at batch N; images side / divisor
// (--quick: 4, so 8x8 images).
std::vector<Case> op_cases(ops::Op op, const std::string& implementation, bool fuses_relu, Device device,
                           std::int64_t N, std::int64_t divisor);

}  // namespace minidl::bench
