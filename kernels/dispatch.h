/// \file
/// Helpers the Tensor-level ops share to validate arguments and pick an implementation.
#pragma once

#include <initializer_list>

#include "minidl/core/tensor.h"

namespace minidl::ops {

/// A tensor and the name error messages give it.
struct NamedTensor {
  const char* name;      ///< the argument's name, e.g. "weight"
  const Tensor* tensor;  ///< the tensor; an undefined one is skipped
};
/// Where an op runs: the device of its first tensor, after checking that every
/// defined tensor in `tensors` is on that device and has that floating dtype
/// (f32 or f64). Throws Error naming the op, e.g.
/// "conv2d: weight must be on cuda:0, got cpu" or "conv2d: bias must have dtype f32, got f64".
Device common_float_device(const char* op, std::initializer_list<NamedTensor> tensors);

/// Calls body(float{}) for f32 and body(double{}) for f64: runs a CPU kernel
/// templated on T in the dtype common_float_device checked.
template <typename Body>
void visit_float_dtype(DType dtype, Body&& body) {
  if (dtype == DType::f32)
    body(float{});
  else
    body(double{});
}

/// For a CUDA tensor reaching an op that has no CUDA implementation in this build:
/// throws "<op>: no CUDA implementation in this build".
[[noreturn]] void no_cuda_implementation(const char* op);

}  // namespace minidl::ops
