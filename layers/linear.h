/// \file
/// Linear: torch.nn.Linear. input (N, in_features) -> output (N, out_features),
/// output = input @ weight^T + bias; weight (out_features, in_features), bias (out_features).
/// Initialised as PyTorch: weight and bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features)).
#pragma once

#include "minidl/kernels/linear.h"
#include "minidl/layers/module.h"

namespace minidl::nn {

/// A fully connected layer; see the top of this file.
class Linear : public Module {
 public:
  /// Draws the initial weight and bias from generator.
  Linear(int in_features, int out_features, Generator& generator);

  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output) override;
  std::vector<Parameter*> parameters() override { return {&weight, &bias}; }
  std::string repr() const override;
  bool fuses_following_relu(const Tensor& input) const override;
  Tensor forward_fused_relu(const Tensor& input) override;

  Parameter weight{"weight", {}, {}};  ///< (out_features, in_features)
  Parameter bias{"bias", {}, {}};      ///< (out_features)

 private:
  Tensor forward_with(const Tensor& input, ops::Activation activation);

  int in_features_, out_features_;
  Tensor input_;
  Tensor output_, grad_input_;
  ops::Workspace forward_workspace_, backward_workspace_;
};

}  // namespace minidl::nn
