// Conv2d: torch.nn.Conv2d with square kernels, zero padding and a bias.
//
//   input (N, in_channels, H, W) -> output (N, out_channels, OH, OW)
//   weight (out_channels, in_channels, k, k), bias (out_channels)
// Initialised as PyTorch: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// fan_in = in_channels * k * k (kaiming_uniform_ with a = sqrt(5) reduces to this).
// The math is in kernels/conv2d.h.
#pragma once

#include "layers/module.h"
#include "kernels/conv2d.h"

namespace minidl::nn {

struct Conv2dOptions {
  int in_channels;
  int out_channels;
  int kernel_size;
  int stride = 1;
  int padding = 0;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  Conv2d(Conv2dOptions options, Generator& generator);

  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output) override;
  std::vector<Parameter*> parameters() override;
  std::string repr() const override;

  Parameter weight{"weight", {}, {}};
  Parameter bias{"bias", {}, {}};

 private:
  Conv2dOptions options_;
  Tensor input_;  // saved for backward
  Tensor output_, grad_input_;
};

}  // namespace minidl::nn
