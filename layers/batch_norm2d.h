/// \file
/// BatchNorm2d: torch.nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True,
/// track_running_stats=True). The math is in kernels/batch_norm2d.h.
///
/// Training mode normalises with the batch's statistics and updates the running
/// estimates (also under a NoGradGuard, as PyTorch does); evaluation mode uses the
/// running estimates. Initial state as PyTorch: weight 1, bias 0, running_mean 0,
/// running_var 1, num_batches_tracked 0.
#pragma once

#include "minidl/kernels/batch_norm2d.h"
#include "minidl/layers/module.h"

namespace minidl::nn {

/// Batch normalisation over the channels of (N, C, H, W); see the top of this file.
class BatchNorm2d : public Module {
 public:
  /// For inputs of num_features channels; eps and momentum as in kernels/batch_norm2d.h.
  explicit BatchNorm2d(int num_features, double eps = 1e-5, double momentum = 0.1);

  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output) override;
  std::vector<Parameter*> parameters() override { return {&weight, &bias}; }
  std::vector<Buffer*> buffers() override { return {&running_mean, &running_var, &num_batches_tracked}; }
  std::string repr() const override;
  /// num_batches_tracked is a host counter in PyTorch's format (i64, shape ()), and stays on the CPU.
  void to(Device device) override;
  void count_replayed_forward() override;
  bool fuses_following_relu(const Tensor& input) const override;
  Tensor forward_fused_relu(const Tensor& input) override;

  Parameter weight{"weight", {}, {}};                     ///< gamma, (C) f32
  Parameter bias{"bias", {}, {}};                         ///< beta, (C) f32
  Buffer running_mean{"running_mean", {}};                ///< (C) f32
  Buffer running_var{"running_var", {}};                  ///< (C) f32, unbiased
  Buffer num_batches_tracked{"num_batches_tracked", {}};  ///< training forwards so far, i64, shape ()

 private:
  Tensor forward_with(const Tensor& input, ops::Activation activation);

  int num_features_;
  ops::BatchNormParams params_;
  bool forward_was_training_ = true;  // which backward applies
  Tensor input_, save_mean_, save_invstd_;
  Tensor output_, grad_input_;
  ops::Workspace forward_workspace_, backward_workspace_;
};

}  // namespace minidl::nn
