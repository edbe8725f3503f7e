/// \file
/// divergence_check: after a step's backward, whether its loss or any gradient holds a
/// NaN or an Inf, recorded in state that stays on the device (optim/divergence_guard.h
/// is the user's side).
///
///   bad = loss[0] or a value of some gradient is NaN or Inf
///   if bad: bad_steps += 1; first_bad_step = step if it was -1
///   step += 1
///   skip_update = skip_from_first_bad_step ? (first_bad_step != -1) : bad
/// state is (3) i64: first_bad_step, bad_steps, step (the number of the step being
/// checked, counted by the check itself); skip_update is (1) i64. On CUDA the check reads
/// and writes device memory only: the host waits for nothing, and a CUDA graph that
/// replays the check counts the steps.
#pragma once

#include <cstdint>
#include <span>

#include "minidl/core/tensor.h"
#include "minidl/kernels/workspace.h"

namespace minidl::ops {

/// loss: one f32 (or f64 on the CPU); gradients: of loss's dtype and device; state and skip_update as above.
/// workspace keeps the CUDA implementation's table of the gradients.
void divergence_check(const Tensor& loss, std::span<const Tensor* const> gradients, bool skip_from_first_bad_step,
                      Tensor& state, Tensor& skip_update, Workspace* workspace = nullptr);

/// What an implementation receives: validated tensors.
struct DivergenceCheckArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& loss;
  std::span<const Tensor* const> gradients;
  bool skip_from_first_bad_step;
  Tensor& state;
  Tensor& skip_update;
  Workspace& workspace;
  ///@}
};

/// The entry point of one divergence_check implementation (kernels/registry.h).
struct DivergenceCheckFunctions {
  ///@{
  /// The entry points, each called with the validated arguments of one call.
  void (*check)(const DivergenceCheckArgs& args);
  ///@}
};

}  // namespace minidl::ops
