/// \file
/// Which implementation runs each op, chosen at run time per device kind.
///
/// Every implementation of every op is one record in the registry
/// (kernels/registry.h): its op, device kind, name, the dtypes it serves, the largest
/// tensor it indexes, whether it fuses a following ReLU, and its entry points. The
/// registry keeps them per op in order of preference; this header is how programs,
/// tests and benchmarks read that list and choose. `implementations_summary` and
/// `bench_ops --list` print it; docs/architecture.md shows how to add one.
///
/// The default of an op on a device, for tensors of one dtype, is the first
/// implementation in order of preference that serves that dtype: on the CPU the fast
/// paths (f32 only) come before the plain-loop reference (f32 and f64), so f64 tensors,
/// as the gradient checks use, run the reference. A chosen implementation is used for
/// every call; one that does not serve the call's dtype or size is an Error naming op,
/// implementation and dtype, never a quiet switch to another.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "minidl/core/device.h"
#include "minidl/core/dtype.h"

namespace minidl::ops {

/// The ops with a registry entry. Each has a Tensor-level API in its own header
/// (kernels/conv2d.h, ...) and one or more implementations per device.
enum class Op {
  conv2d,
  max_pool2d,
  relu,
  batch_norm2d,
  linear,
  cross_entropy,
  sgd,
  step_metrics,
  divergence_check,
  gather_normalize,
};

/// What the registry knows of one implementation (kernels/registry.h holds its entry points).
struct ImplementationInfo {
  std::string name;            ///< "reference", "gemm", "tiled", "cublas", ...
  DeviceType device;           ///< where its tensors live
  std::vector<DType> dtypes;   ///< the dtypes of the op's floating tensors it serves
  std::int64_t max_elements;   ///< the most elements a tensor of the call may have (32-bit indexing)
  bool fuses_relu;             ///< applies a following ReLU itself (kernels/epilogue.h)
  std::string summary;         ///< one line: how it computes, and where its code is
};

/// Every op, in the order of Op.
std::span<const Op> all_ops();
/// "conv2d", "max_pool2d", ...
const char* op_name(Op op);
/// The op of that name; throws Error listing the valid names.
Op parse_op(std::string_view name);

/// The implementations this build registered for op on a device kind, in order of
/// preference. Empty for CUDA in a build without CUDA.
std::vector<ImplementationInfo> implementations(Op op, DeviceType device);

/// The implementation that runs op on a device kind for tensors of dtype: the chosen
/// one, else the default (see the top of this file). Throws Error when there is none.
ImplementationInfo implementation(Op op, DeviceType device, DType dtype = DType::f32);
/// True when an implementation was chosen for op on device (set_implementation), false
/// while the default rule applies.
bool implementation_chosen(Op op, DeviceType device);

/// Chooses what op runs on a device kind from now on (process-wide); throws Error
/// naming the op, device and the registered names when there is no such implementation.
void set_implementation(Op op, DeviceType device, std::string_view name);
/// Parses "OP=NAME" (as --implementation takes it) and chooses that for device.
void set_implementation(std::string_view op_equals_name, DeviceType device);
/// Restores the default of every op, and the deterministic mode of the environment.
void reset_implementations();

///@{
/// Deterministic mode: every CUDA result is the same bits from run to run, for the
/// same inputs on the same GPU model with the same CUDA, cuBLAS and cuDNN versions.
///
/// minidl's own code is deterministic in either mode: the CPU code and the hand-written
/// kernels (kernels/cuda/) use no floating-point atomics, and every sum has one order,
/// fixed by the code and not by how threads or blocks are scheduled. cuBLAS is
/// deterministic on one stream, and minidl queues its work on one. The mode changes
/// cuDNN's conv2d (kernels/cudnn/conv2d.h), where the order of a sum can vary:
///   off  each direction runs the algorithm cudnnFind* measures fastest for the shape;
///        it may add with atomics (backward data ALGO_0, backward filter ALGO_0 and
///        ALGO_3), and a choice by timing may differ from one process to the next.
///   on   each direction runs cuDNN's heuristic first choice (cudnnGet*_v7, no timing)
///        among the algorithms cuDNN marks CUDNN_DETERMINISTIC.
/// The default is off, as PyTorch's torch.backends.cudnn.deterministic: the default
/// implementations are deterministic anyway, and `cudnn` keeps its fastest algorithms.
/// MINIDL_DETERMINISTIC=1 in the environment turns it on (0: off) until
/// set_deterministic chooses; any other value makes deterministic() throw Error.
void set_deterministic(bool on);
bool deterministic();
///@}

/// One line for a start-up banner: what runs each op on device for f32 tensors, with
/// "+relu" where it fuses a following ReLU, e.g.
/// "conv2d=gemm max_pool2d=vectorized relu=reference ...".
std::string implementations_summary(DeviceType device);

/// Every registered implementation of every op, one line each, in order of preference:
/// "cuda conv2d tiled f32 max 2147483647 elements: 16x16 shared-memory tiles ...". The
/// installed consumer test compares its listing with the build tree's (none may be lost
/// to static linking).
std::string registry_listing();

/// Sets the implementation of an op for as long as it lives, then restores the
/// previous choice (for tests and benchmarks that compare implementations).
class ImplementationGuard {
 public:
  /// Sets implementation `name` for op on device until the guard is destroyed.
  ImplementationGuard(Op op, DeviceType device, std::string_view name);
  ~ImplementationGuard();
  ImplementationGuard(const ImplementationGuard&) = delete;
  ImplementationGuard& operator=(const ImplementationGuard&) = delete;

 private:
  Op op_;
  DeviceType device_;
  int previous_;  // the registry's choice slot before the guard (0: the default rule)
};

}  // namespace minidl::ops
