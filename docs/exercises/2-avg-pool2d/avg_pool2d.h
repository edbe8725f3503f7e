// AvgPool2d, exercise 2 (README.md): the mean of each kernel_size x kernel_size window,
// as torch.nn.AvgPool2d(kernel_size, stride) (no padding, floor mode).
//
//   input (N, C, H, W) -> output (N, C, OH, OW), OH = (H - kernel_size) / stride + 1, likewise OW
//   forward:  output[n, c, oh, ow] = (1 / K^2) sum_{kh, kw} input[n, c, oh*stride + kh, ow*stride + kw]
//   backward: grad_input[n, c, h, w] = (1 / K^2) sum of grad_output[n, c, oh, ow]
//                                      over the windows (oh, ow) that contain (h, w)
//
// The sizes are max pooling's (cpu::MaxPool2dShape, ops::max_pool2d_output_shape): only
// what is computed over a window differs.
#pragma once

#include <cstdint>

#include "minidl/core/tensor.h"
#include "minidl/kernels/cpu/max_pool2d.h"
#include "minidl/kernels/max_pool2d.h"

namespace minidl::exercises {

// The window's size and step, the same along H and W.
using AvgPool2dParams = ops::MaxPool2dParams;
// The sizes of one pooling: max pooling's.
using PoolShape = cpu::MaxPool2dShape;

// The CPU reference (avg_pool2d_reference.cpp): plain loops; T is float or double.
namespace cpu {

// input (N, C, H, W) -> output (N, C, OH, OW), overwritten.
template <typename T>
void avg_pool2d_forward(const T* input, T* output, const PoolShape& shape);

// grad_output (N, C, OH, OW) -> grad_input (N, C, H, W), overwritten.
template <typename T>
void avg_pool2d_backward(const T* grad_output, T* grad_input, const PoolShape& shape);

}  // namespace cpu

// The Tensor-level op (avg_pool2d.cpp): checks devices, dtypes and shapes, then runs the
// CPU reference (f32 or f64) or the CUDA kernels (f32), by the tensors' device.
void avg_pool2d_forward(const Tensor& input, Tensor& output, AvgPool2dParams params);
// grad_input has the forward's input shape and is overwritten.
void avg_pool2d_backward(const Tensor& grad_output, Tensor& grad_input, AvgPool2dParams params);

}  // namespace minidl::exercises
