// MaxPool2d with padding, exercise 3 (README.md), as torch.nn.MaxPool2d(kernel_size,
// stride, padding): the input is padded with -inf on every side, so a padded element
// never wins, and an index names the maximum's place in the unpadded (H, W) plane.
//
//   input (N, C, H, W) -> output (N, C, OH, OW), OH = (H + 2*padding - kernel_size) / stride + 1, likewise OW
//   output[n, c, oh, ow]  = max over h in [oh*stride - padding, oh*stride - padding + K) ∩ [0, H),
//                                and w likewise, of input[n, c, h, w]
//   indices[n, c, oh, ow] = h * W + w of that maximum (the first on ties, NaN wins)
//   0 <= padding <= kernel_size / 2, so every window holds at least one element of the input.
// The backward routes each gradient to the element its index names: max pooling's, unchanged.
#pragma once

#include <cstdint>

#include "minidl/core/tensor.h"

namespace minidl::exercises {

// The window's size, its step and the -inf padding on every side, the same along H and W.
struct PaddedMaxPool2dParams {
  int kernel_size = 2;
  int stride = 2;
  int padding = 0;
};

// The sizes of one padded pooling.
struct PaddedMaxPool2dShape {
  std::int64_t batch = 0, channels = 0, height = 0, width = 0;  // N, C, H, W
  std::int64_t kernel_size = 2, stride = 2, padding = 0;
  std::int64_t out_height = 0, out_width = 0;  // OH, OW
};

// Written in max_pool2d_padding_reference.cpp (the exercise): the sizes of a pooling of
// this input shape. Throws Error unless the input has 4 dimensions, kernel_size and
// stride are at least 1, 0 <= padding <= kernel_size / 2, and the window fits the padded
// input.
PaddedMaxPool2dShape padded_max_pool2d_shape(const Shape& input, PaddedMaxPool2dParams params);

namespace cpu {

// Written in max_pool2d_padding_reference.cpp (the exercise): input (N, C, H, W) ->
// output and indices (N, C, OH, OW), overwritten. T is float or double.
template <typename T>
void padded_max_pool2d_forward(const T* input, T* output, std::int32_t* indices, const PaddedMaxPool2dShape& shape);

}  // namespace cpu

// The Tensor-level op (max_pool2d_padding.cpp), CPU only: output (f32 or f64) and
// indices (i32) have the output shape (N, C, OH, OW).
void padded_max_pool2d_forward(const Tensor& input, Tensor& output, Tensor& indices, PaddedMaxPool2dParams params);
// grad_input has the input's shape and is overwritten.
void padded_max_pool2d_backward(const Tensor& grad_output, const Tensor& indices, Tensor& grad_input,
                                PaddedMaxPool2dParams params);

}  // namespace minidl::exercises
