/// \file
/// sgd: one stochastic-gradient-descent update of one parameter, by torch.optim.SGD's rule.
///
///   d = grad + weight_decay * param
///   if momentum != 0:
///     buf = d                                        on the first step
///     buf = momentum * buf + (1 - dampening) * d     afterwards
///     d = nesterov ? d + momentum * buf : buf
///   param -= lr * d
#pragma once

#include <span>

#include "minidl/core/tensor.h"
#include "minidl/kernels/workspace.h"

namespace minidl::ops {

/// The hyper-parameters of the rule above, as torch.optim.SGD's.
struct SgdParams {
  double lr = 0.01;           ///< the learning rate
  double momentum = 0.0;      ///< 0: no momentum buffer
  double dampening = 0.0;     ///< scales down the gradient's share of the buffer
  double weight_decay = 0.0;  ///< L2 penalty, added to the gradient
  bool nesterov = false;      ///< Nesterov momentum
};

/// Throws Error for settings torch.optim.SGD rejects (the checks sgd_update makes):
/// lr negative or not finite, momentum or weight_decay negative, nesterov without
/// momentum > 0 and dampening == 0.
void check_sgd_params(const SgdParams& params);

/// One update of param by the rule above; first_step selects the buffer's first step.
/// momentum_buffer (param's shape) is used only when momentum != 0.
/// skip_update, when given, is an i64 tensor of one element on param's device (a
/// divergence guard's verdict, optim/divergence_guard.h): while it holds a non-zero
/// value the update changes nothing, except that a skipped first momentum step sets
/// the buffer to 0. On CUDA it is read by the kernel, with no host synchronisation.
void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdParams& params,
                bool first_step, const Tensor& skip_update = Tensor());

/// Throws Error unless skip_update is an i64 tensor of one element on device.
void check_skip_update(const Tensor& skip_update, Device device);

/// One parameter of a multi-parameter update: its value, gradient and momentum buffer
/// (the buffer may be undefined when momentum is 0).
struct SgdParameterTensors {
  ///@{
  /// The parameter's tensors (momentum_buffer undefined without momentum).
  Tensor* param;
  const Tensor* grad;
  Tensor* momentum_buffer;
  ///@}
};

/// The rule above for every parameter in `parameters` (all on one device, one dtype), as
/// one update: on CUDA one launch for all of them. first_step and skip_update as in
/// sgd_update; workspace keeps the CUDA implementation's table of the parameters.
void sgd_update(std::span<const SgdParameterTensors> parameters, const SgdParams& params, bool first_step,
                const Tensor& skip_update = Tensor(), Workspace* workspace = nullptr);

/// Queues what the next sgd_update of these parameters with params reads from the device
/// and the device lacks (on CUDA, the hyperparameters, when they changed): a CUDA graph
/// that replays sgd_update calls it before each replay, since a replay runs no host code.
void sgd_prepare(std::span<const SgdParameterTensors> parameters, const SgdParams& params, Workspace* workspace);

/// What an implementation receives: validated parameters (at least one).
struct SgdArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  std::span<const SgdParameterTensors> parameters;
  const SgdParams& params;
  bool first_step;
  const Tensor& skip_update;
  Workspace& workspace;
  ///@}
};

/// The entry point of one sgd implementation (kernels/registry.h).
struct SgdFunctions {
  ///@{
  /// The entry points, each called with the validated arguments of one call.
  void (*update)(const SgdArgs& args);
  void (*prepare)(const SgdArgs& args);
  ///@}
};

}  // namespace minidl::ops
