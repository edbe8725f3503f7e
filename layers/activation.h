/// \file
/// Layers without parameters: ReLU, MaxPool2d, Flatten.
#pragma once

#include "minidl/kernels/max_pool2d.h"
#include "minidl/layers/module.h"

namespace minidl::nn {

/// ReLU: y = max(x, 0), any shape (kernels/relu.h).
class ReLU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output) override;
  std::string repr() const override { return "ReLU()"; }
  /// The layer before computed this ReLU's output itself (forward_fused_relu): it is kept
  /// as if forward had made it, for the backward.
  void forward_fused_into_previous(const Tensor& output);

 private:
  Tensor output_, grad_input_;
  bool saved_ = false;  // forward ran with gradients enabled
};

/// MaxPool2d: maximum over kernel_size x kernel_size windows (kernels/max_pool2d.h).
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int kernel_size, int stride = 0);  ///< stride 0 means stride = kernel_size, as PyTorch
  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output) override;
  std::string repr() const override;
  ///@{
  /// Fusing the backward of a ReLU before the pooling (kernels/epilogue.h; nn::Sequential
  /// calls these): when the last forward's input was a ReLU's output and the implementation
  /// that runs fuses it, backward_after_relu(grad_output) is that ReLU's backward of this
  /// layer's backward, bit for bit, in one pass.
  bool fuses_preceding_relu_backward(const Tensor& grad_output) const;
  Tensor backward_after_relu(const Tensor& grad_output);
  ///@}

 private:
  Tensor backward_with(const Tensor& grad_output, bool after_relu);

  ops::MaxPool2dParams params_;
  Shape input_shape_;
  Tensor output_, indices_, grad_input_;
  bool saved_ = false;
};

/// Flatten: (N, C, H, W) -> (N, C*H*W) in (C, H, W) order, as torch.flatten(x, 1). A view: no copy.
class Flatten : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output) override;
  std::string repr() const override { return "Flatten(start_dim=1, end_dim=-1)"; }

 private:
  Shape input_shape_;
};

}  // namespace minidl::nn
