// conv2d, CPU reference: direct convolution in plain loops over raw pointers.
//
// This is the oracle that every other conv2d implementation is tested against,
// and the text to read first: each loop nest in conv2d.cpp is one formula of
// kernels/conv2d.h. Tensors are contiguous, row-major (NCHW); T is float or double.
#pragma once

#include <cstdint>

namespace minidl::cpu {

// The sizes of one convolution. ops::conv2d_output_shape checks them and
// computes out_height and out_width.
struct Conv2dShape {
  std::int64_t batch = 0;          // N
  std::int64_t in_channels = 0;    // C_in
  std::int64_t height = 0;         // H
  std::int64_t width = 0;          // W
  std::int64_t out_channels = 0;   // C_out
  std::int64_t kernel_height = 0;  // KH
  std::int64_t kernel_width = 0;   // KW
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  std::int64_t out_height = 0;     // OH = (H + 2*padding - KH) / stride + 1
  std::int64_t out_width = 0;      // OW = (W + 2*padding - KW) / stride + 1
};

// input (N, C_in, H, W), weight (C_out, C_in, KH, KW), bias (C_out) or nullptr
// -> output (N, C_out, OH, OW), overwritten.
template <typename T>
void conv2d_forward(const T* input, const T* weight, const T* bias, T* output, const Conv2dShape& shape);

// grad_output (N, C_out, OH, OW), input, weight as in the forward ->
// grad_input (N, C_in, H, W) overwritten, skipped when nullptr;
// grad_weight (C_out, C_in, KH, KW) accumulated (+=);
// grad_bias (C_out) accumulated (+=), skipped when nullptr.
template <typename T>
void conv2d_backward(const T* grad_output, const T* input, const T* weight, T* grad_input, T* grad_weight,
                     T* grad_bias, const Conv2dShape& shape);

}  // namespace minidl::cpu
