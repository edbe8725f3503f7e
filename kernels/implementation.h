// Which implementation of each op runs, chosen at run time per device kind.
//
//   CPU   reference     plain loops of kernels/cpu/ (the oracle, the teaching text)
//         gemm          im2col + cache-blocked, vectorized GEMM on all threads
//                       (conv2d and linear; kernels/cpu/gemm.h)
//   CUDA  kernels       minidl's hand-written CUDA kernels (kernels/cuda/)
//         cublas        cuBLAS GEMM (linear; conv2d through im2col)
//         cudnn         cuDNN (conv2d, batch_norm2d; real CUDA builds with cuDNN only)
//
// An op without an alternative has one implementation per device. Defaults are
// the fastest of minidl's own: gemm on the CPU, kernels on CUDA. Programs print
// their choice at start (implementations_summary).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/device.h"

namespace minidl::ops {

enum class Op { conv2d, max_pool2d, relu, batch_norm2d, linear, cross_entropy, sgd };
enum class Implementation { reference, gemm, kernels, cublas, cudnn };

// Every op, in the order above.
std::span<const Op> all_ops();
// "conv2d", "max_pool2d", ...; "reference", "gemm", "kernels", "cublas", "cudnn".
const char* op_name(Op op);
const char* implementation_name(Implementation implementation);
// Parses an op or implementation name; throws Error listing the valid names.
Op parse_op(std::string_view name);
Implementation parse_implementation(std::string_view name);

// The implementations this build offers for op on a device kind, default first.
std::span<const Implementation> available_implementations(Op op, DeviceType device);

// What op runs on a device kind now.
Implementation implementation(Op op, DeviceType device);
// Chooses what op runs on a device kind from now on (process-wide); throws Error
// naming the op, device and the choices when this build does not offer it.
void set_implementation(Op op, DeviceType device, Implementation implementation);
// Restores the defaults of every op.
void reset_implementations();

// One line for a start-up banner, e.g.
// "conv2d=gemm max_pool2d=reference relu=reference batch_norm2d=reference linear=gemm ...".
std::string implementations_summary(DeviceType device);

// Sets the implementation of an op for as long as it lives, then restores the
// previous one (for tests that compare implementations).
class ImplementationGuard {
 public:
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
