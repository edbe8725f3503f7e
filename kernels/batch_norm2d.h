/// \file
/// batch_norm2d: per-channel normalisation of (N, C, H, W), as torch.nn.BatchNorm2d.
///
/// Training: over the M = N*H*W values of channel c,
///   mean_c = (1/M) sum x,   var_c = (1/M) sum (x - mean_c)^2          (biased, used to normalise)
///   y = (x - mean_c) / sqrt(var_c + eps) * weight[c] + bias[c]
///   running_mean = (1 - momentum) * running_mean + momentum * mean_c
///   running_var  = (1 - momentum) * running_var  + momentum * var_c * M / (M - 1)   (unbiased)
/// and saves mean_c and invstd_c = 1 / sqrt(var_c + eps) for backward.
/// Evaluation: y = (x - running_mean[c]) / sqrt(running_var[c] + eps) * weight[c] + bias[c].
///
/// weight (gamma), bias (beta), running_mean, running_var, save_mean, save_invstd are all (C).
/// grad_input is overwritten; grad_weight and grad_bias are accumulated (+=).
#pragma once

#include "minidl/core/tensor.h"
#include "minidl/kernels/epilogue.h"
#include "minidl/kernels/workspace.h"

namespace minidl::ops {

/// eps and momentum of the formulas at the top of this file (PyTorch's defaults).
struct BatchNormParams {
  double eps = 1e-5;      ///< added to the variance under the square root
  double momentum = 0.1;  ///< weight of the batch statistic in the running estimates
};

/// The training forward: normalises with the batch's statistics, updates
/// running_mean and running_var, and saves save_mean and save_invstd for backward.
/// activation: see kernels/epilogue.h; workspace: kernels/workspace.h.
void batch_norm2d_forward_train(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                Tensor& running_mean, Tensor& running_var, Tensor& output, Tensor& save_mean,
                                Tensor& save_invstd, BatchNormParams params, Activation activation = Activation::none,
                                Workspace* workspace = nullptr);

/// The evaluation forward: normalises with running_mean and running_var.
void batch_norm2d_forward_eval(const Tensor& input, const Tensor& weight, const Tensor& bias,
                               const Tensor& running_mean, const Tensor& running_var, Tensor& output,
                               BatchNormParams params, Activation activation = Activation::none);

/// Backward of the training forward, with x_hat = (x - save_mean) * save_invstd:
///   grad_bias   += sum dy,   grad_weight += sum dy * x_hat
///   grad_input   = weight * invstd / M * (M * dy - sum dy - x_hat * sum(dy * x_hat))
void batch_norm2d_backward_train(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                 const Tensor& save_mean, const Tensor& save_invstd, Tensor& grad_input,
                                 Tensor& grad_weight, Tensor& grad_bias, Workspace* workspace = nullptr);

/// Backward of the evaluation forward (statistics are constants):
///   grad_input = dy * weight / sqrt(running_var + eps); grad_weight += sum dy * x_hat; grad_bias += sum dy.
void batch_norm2d_backward_eval(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                const Tensor& running_mean, const Tensor& running_var, Tensor& grad_input,
                                Tensor& grad_weight, Tensor& grad_bias, BatchNormParams params);

/// The sizes of one batch_norm2d call: input (N, C, H, W) as N, C and HW = H*W.
struct BatchNorm2dShape {
  std::int64_t N;   ///< images
  std::int64_t C;   ///< channels
  std::int64_t HW;  ///< values per channel and image, H * W
};

/// What an implementation's training forward receives: validated tensors and sizes, the
/// fused activation and the call site's workspace.
struct BatchNorm2dTrainForwardArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& input;
  const Tensor& weight;
  const Tensor& bias;
  Tensor& running_mean;
  Tensor& running_var;
  Tensor& output;
  Tensor& save_mean;
  Tensor& save_invstd;
  BatchNorm2dShape shape;
  BatchNormParams params;
  Activation activation;
  Workspace& workspace;
  ///@}
};

/// What an implementation's evaluation forward receives.
struct BatchNorm2dEvalForwardArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& input;
  const Tensor& weight;
  const Tensor& bias;
  const Tensor& running_mean;
  const Tensor& running_var;
  Tensor& output;
  BatchNorm2dShape shape;
  BatchNormParams params;
  Activation activation;
  ///@}
};

/// What an implementation's backward of the training forward receives.
struct BatchNorm2dTrainBackwardArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& grad_output;
  const Tensor& input;
  const Tensor& weight;
  const Tensor& save_mean;
  const Tensor& save_invstd;
  Tensor& grad_input;
  Tensor& grad_weight;
  Tensor& grad_bias;
  BatchNorm2dShape shape;
  Workspace& workspace;
  ///@}
};

/// What an implementation's backward of the evaluation forward receives.
struct BatchNorm2dEvalBackwardArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& grad_output;
  const Tensor& input;
  const Tensor& weight;
  const Tensor& running_mean;
  const Tensor& running_var;
  Tensor& grad_input;
  Tensor& grad_weight;
  Tensor& grad_bias;
  BatchNorm2dShape shape;
  BatchNormParams params;
  ///@}
};

/// The entry points of one batch_norm2d implementation (kernels/registry.h).
struct BatchNorm2dFunctions {
  ///@{
  /// The entry points, each called with the validated arguments of one call.
  void (*forward_train)(const BatchNorm2dTrainForwardArgs& args);
  void (*forward_eval)(const BatchNorm2dEvalForwardArgs& args);
  void (*backward_train)(const BatchNorm2dTrainBackwardArgs& args);
  void (*backward_eval)(const BatchNorm2dEvalBackwardArgs& args);
  ///@}
};

}  // namespace minidl::ops
