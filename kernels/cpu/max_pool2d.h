// max_pool2d, CPU reference: the maximum of each window in plain loops over raw pointers.
//
// The oracle for every other max_pool2d implementation (see kernels/max_pool2d.h).
// Tensors are contiguous, row-major (NCHW); T is float or double; indices are i32.
#pragma once

#include <cstdint>

namespace minidl::cpu {

// The sizes of one pooling (square windows, no padding). ops::max_pool2d_output_shape
// checks them and computes out_height and out_width.
struct MaxPool2dShape {
  std::int64_t batch = 0;     // N
  std::int64_t channels = 0;  // C
  std::int64_t height = 0;    // H
  std::int64_t width = 0;     // W
  std::int64_t kernel_size = 2;
  std::int64_t stride = 2;
  std::int64_t out_height = 0;  // OH = (H - kernel_size) / stride + 1
  std::int64_t out_width = 0;   // OW = (W - kernel_size) / stride + 1
};

// input (N, C, H, W) -> output (N, C, OH, OW) and indices (N, C, OH, OW), both overwritten.
template <typename T>
void max_pool2d_forward(const T* input, T* output, std::int32_t* indices, const MaxPool2dShape& shape);

// grad_output (N, C, OH, OW), indices from the forward -> grad_input (N, C, H, W), overwritten.
// Throws Error for an index outside the (H, W) plane.
template <typename T>
void max_pool2d_backward(const T* grad_output, const std::int32_t* indices, T* grad_input,
                         const MaxPool2dShape& shape);

}  // namespace minidl::cpu
