/// \file
/// Which implementation of each op runs, chosen at run time per device kind.
///
///   CPU   reference     plain loops of kernels/cpu/ (the oracle, the teaching text)
///         gemm          im2col + cache-blocked, vectorized GEMM on all threads
///                       (conv2d and linear; kernels/cpu/gemm.h)
///         vectorized    the reference's loops rewritten so that the compiler
///                       vectorizes them: float lanes in place of one chain of
///                       double additions (batch_norm2d, on all threads), selects
///                       in place of branches (max_pool2d's forward)
///   CUDA  kernels       minidl's hand-written CUDA kernels (kernels/cuda/)
///         cublas        cuBLAS GEMM (linear; conv2d through im2col)
///         cudnn         cuDNN (conv2d, batch_norm2d; real CUDA builds with cuDNN only)
///
/// An op without an alternative has one implementation per device. Defaults are
/// the fastest of minidl's own: gemm or vectorized on the CPU, kernels on CUDA. Programs print
/// their choice at start (implementations_summary).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "minidl/core/device.h"

namespace minidl::ops {

/// The ops that have a choice of implementation.
enum class Op { conv2d, max_pool2d, relu, batch_norm2d, linear, cross_entropy, sgd };
/// The implementations, as in the table above.
enum class Implementation { reference, gemm, vectorized, kernels, cublas, cudnn };

/// Every op, in the order above.
std::span<const Op> all_ops();
///@{
/// "conv2d", "max_pool2d", ...; "reference", "gemm", "vectorized", "kernels", "cublas", "cudnn".
const char* op_name(Op op);
const char* implementation_name(Implementation implementation);
///@}
///@{
/// Parses an op or implementation name; throws Error listing the valid names.
Op parse_op(std::string_view name);
Implementation parse_implementation(std::string_view name);
///@}

/// The implementations this build offers for op on a device kind, default first.
std::span<const Implementation> available_implementations(Op op, DeviceType device);

/// What op runs on a device kind now.
Implementation implementation(Op op, DeviceType device);
/// Chooses what op runs on a device kind from now on (process-wide); throws Error
/// naming the op, device and the choices when this build does not offer it.
void set_implementation(Op op, DeviceType device, Implementation implementation);
/// Restores the defaults of every op, and the deterministic mode of the environment.
void reset_implementations();

///@{
/// Deterministic mode: every CUDA result is the same bits from run to run, for the
/// same inputs on the same GPU model with the same CUDA, cuBLAS and cuDNN versions.
///
/// minidl's own code is deterministic in either mode: the CPU code and the hand-written
/// kernels (kernels/cuda/) use no floating-point atomics, and every sum has one order,
/// fixed by the code and not by how threads or blocks are scheduled. cuBLAS is
/// deterministic on one stream, and minidl queues its GEMMs on one. The mode changes
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

/// One line for a start-up banner, e.g.
/// "conv2d=gemm max_pool2d=vectorized relu=reference batch_norm2d=vectorized linear=gemm ...".
std::string implementations_summary(DeviceType device);

/// Sets the implementation of an op for as long as it lives, then restores the
/// previous one (for tests that compare implementations).
class ImplementationGuard {
 public:
  /// Sets implementation for op on device until the guard is destroyed.
  ImplementationGuard(Op op, DeviceType device, Implementation implementation);
  ~ImplementationGuard();
  ImplementationGuard(const ImplementationGuard&) = delete;
  ImplementationGuard& operator=(const ImplementationGuard&) = delete;

 private:
  Op op_;
  DeviceType device_;
  Implementation previous_;
};

}  // namespace minidl::ops
