/// \file
/// step_metrics: the running sums of a training or test pass, kept on the device the
/// pass runs on, so that adding one step's loss and correct count makes the host wait
/// for nothing; the host reads the sums once, at the pass's end.
///
///   total_loss += double(loss[0])      (f32 loss, f64 sum: as `total_loss += loss.item()`)
///   correct    += num_correct[0]       (i32 count, i64 sum)
#pragma once

#include "minidl/core/tensor.h"

namespace minidl::ops {

/// loss: one f32 (the batch's mean loss); num_correct: one i32; total_loss: one f64;
/// correct: one i64; all on one device. On CUDA, one launch of one thread.
void accumulate_step_metrics(const Tensor& loss, const Tensor& num_correct, Tensor& total_loss, Tensor& correct);

/// What an implementation receives: validated tensors.
struct StepMetricsArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& loss;
  const Tensor& num_correct;
  Tensor& total_loss;
  Tensor& correct;
  ///@}
};

/// The entry point of one step_metrics implementation (kernels/registry.h).
struct StepMetricsFunctions {
  ///@{
  /// The entry points, each called with the validated arguments of one call.
  void (*accumulate)(const StepMetricsArgs& args);
  ///@}
};

}  // namespace minidl::ops
