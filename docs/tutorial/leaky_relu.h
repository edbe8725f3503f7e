// LeakyReLU, the layer the tutorial adds (docs/tutorial/README.md): the CPU reference,
// the Tensor-level op and the module, as torch.nn.LeakyReLU(negative_slope=0.01).
// Its CUDA kernels are in leaky_relu.cu. Built and tested with minidl, not part of it.
//
//   forward:   y[i]      = x[i] < 0 ? negative_slope * x[i] : x[i]
//   backward:  grad_x[i] = x[i] > 0 ? grad_y[i] : negative_slope * grad_y[i]   (at 0 too, as PyTorch)
//
// Unlike ReLU's, the backward reads the input, not the output: with a negative slope
// the output's sign is not the input's, so the output cannot tell which side x was on.
#pragma once

#include <cstdint>
#include <string>

#include "minidl/core/tensor.h"
#include "minidl/layers/module.h"

namespace minidl::tutorial {

// The CPU reference: plain loops over count elements of any shape; T is float or double.
namespace cpu {

// output[i] = input[i] < 0 ? negative_slope * input[i] : input[i]; output may be input.
template <typename T>
void leaky_relu_forward(const T* input, T* output, std::int64_t count, T negative_slope);

// grad_input[i] = input[i] > 0 ? grad_output[i] : negative_slope * grad_output[i];
// input is the forward's input; grad_input may be grad_output.
template <typename T>
void leaky_relu_backward(const T* grad_output, const T* input, T* grad_input, std::int64_t count, T negative_slope);

}  // namespace cpu

// The Tensor-level op: checks devices, dtypes and shapes, then runs the CPU reference
// (f32 or f64) or the CUDA kernel (f32), by the tensors' device. output may be input.
void leaky_relu_forward(const Tensor& input, Tensor& output, double negative_slope);
// input is the forward's input; grad_input may be grad_output.
void leaky_relu_backward(const Tensor& grad_output, const Tensor& input, Tensor& grad_input, double negative_slope);

// The layer, usable in nn::Sequential. Keeps its input for backward.
class LeakyReLU : public nn::Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01);
  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output) override;
  // PyTorch's: "LeakyReLU(negative_slope=0.01)".
  std::string repr() const override;

 private:
  double negative_slope_;
  Tensor input_, output_, grad_input_;
};

}  // namespace minidl::tutorial
