/// \file
/// Conv2d: torch.nn.Conv2d with square kernels, zero padding and a bias.
///
///   input (N, in_channels, H, W) -> output (N, out_channels, OH, OW)
///   weight (out_channels, in_channels, k, k), bias (out_channels)
/// Initialised as PyTorch: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
/// fan_in = in_channels * k * k (kaiming_uniform_ with a = sqrt(5) reduces to this).
/// The math is in kernels/conv2d.h.
#pragma once

#include "minidl/layers/module.h"
#include "minidl/kernels/conv2d.h"

namespace minidl::nn {

/// Conv2d's arguments, as torch.nn.Conv2d's.
struct Conv2dOptions {
  int in_channels;   ///< channels of the input
  int out_channels;  ///< channels of the output
  int kernel_size;   ///< k of the k x k kernel
  int stride = 1;    ///< step between windows
  int padding = 0;   ///< zeros added on every side
  bool bias = true;  ///< false: no bias parameter
  /// false: backward computes the parameter gradients only and returns an undefined
  /// tensor, for a first layer whose input is data (as PyTorch skips the gradient of
  /// an input that does not require one).
  bool input_grad = true;
};

/// A 2-D convolution layer; see the top of this file.
class Conv2d : public Module {
 public:
  /// Draws the initial weight and bias from generator.
  Conv2d(Conv2dOptions options, Generator& generator);

  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output) override;
  std::vector<Parameter*> parameters() override;
  std::string repr() const override;
  bool fuses_following_relu(const Tensor& input) const override;
  Tensor forward_fused_relu(const Tensor& input) override;

  Parameter weight{"weight", {}, {}};  ///< (out_channels, in_channels, k, k)
  Parameter bias{"bias", {}, {}};      ///< (out_channels); undefined without a bias

 private:
  Tensor forward_with(const Tensor& input, ops::Activation activation);

  Conv2dOptions options_;
  Tensor input_;  // saved for backward
  Tensor output_, grad_input_;
  ops::Workspace forward_workspace_, backward_workspace_;
};

}  // namespace minidl::nn
