#include "minidl/kernels/cpu/max_pool2d.h"

#include <cmath>

#include "minidl/core/error.h"

namespace minidl::cpu {

// Forward: each output element is the maximum of its kernel_size x kernel_size window,
// and its index says where in the (H, W) plane that maximum is:
//   output[n, c, oh, ow]  = max_{kh, kw} input[n, c, oh*stride + kh, ow*stride + kw]
//   indices[n, c, oh, ow] = h * W + w of that maximum
// The window is scanned in row-major order and a value replaces the maximum only
// when it is strictly greater, so the first maximum wins a tie. A NaN replaces it
// too (the comparison alone never would: NaN > x is false), so a window holding
// NaN pools to NaN, as in PyTorch.
// input (N, C, H, W), output and indices (N, C, OH, OW)
template <typename T>
void max_pool2d_forward(const T* input, T* output, std::int32_t* indices, const MaxPool2dShape& shape) {
  const std::int64_t H = shape.height, W = shape.width, OH = shape.out_height, OW = shape.out_width;
  const std::int64_t K = shape.kernel_size;
  for (std::int64_t plane = 0; plane < shape.batch * shape.channels; ++plane) {
    const T* input_plane = input + plane * H * W;
    T* output_plane = output + plane * OH * OW;
    std::int32_t* indices_plane = indices + plane * OH * OW;
    for (std::int64_t oh = 0; oh < OH; ++oh) {
      for (std::int64_t ow = 0; ow < OW; ++ow) {
        // doc:max_pool2d-forward
        std::int64_t h0 = oh * shape.stride, w0 = ow * shape.stride;
        std::int64_t max_index = h0 * W + w0;
        T max_value = input_plane[max_index];
        for (std::int64_t h = h0; h < h0 + K; ++h) {
          for (std::int64_t w = w0; w < w0 + K; ++w) {
            T value = input_plane[h * W + w];
            if (value > max_value || std::isnan(value)) {
              max_value = value;
              max_index = h * W + w;
            }
          }
        }
        output_plane[oh * OW + ow] = max_value;
        indices_plane[oh * OW + ow] = static_cast<std::int32_t>(max_index);
      }
    }
  }
}

// Backward: the output is a copy of the input element at its index, so the
// gradient flows to that element only, and the others get 0:
//   grad_input[n, c, indices[n, c, oh, ow]] += grad_output[n, c, oh, ow]
// grad_input is zeroed first (it is overwritten). The += matters when windows
// overlap (stride < kernel_size): one input element can be the maximum of several.
// grad_output and indices (N, C, OH, OW), grad_input (N, C, H, W)
template <typename T>
void max_pool2d_backward(const T* grad_output, const std::int32_t* indices, T* grad_input,
                         const MaxPool2dShape& shape) {
  const std::int64_t H = shape.height, W = shape.width, OH = shape.out_height, OW = shape.out_width;
  const std::int64_t planes = shape.batch * shape.channels;
  for (std::int64_t i = 0; i < planes * H * W; ++i) grad_input[i] = T(0);
  for (std::int64_t plane = 0; plane < planes; ++plane) {
    const T* grad_output_plane = grad_output + plane * OH * OW;
    const std::int32_t* indices_plane = indices + plane * OH * OW;
    T* grad_input_plane = grad_input + plane * H * W;
    for (std::int64_t o = 0; o < OH * OW; ++o) {
      std::int32_t index = indices_plane[o];
      if (index < 0 || index >= H * W) fail("max_pool2d: index {} is outside the {}x{} input plane", index, H, W);
      grad_input_plane[index] += grad_output_plane[o];  // doc:max_pool2d-grad-input
    }
  }
}

template void max_pool2d_forward<float>(const float*, float*, std::int32_t*, const MaxPool2dShape&);
template void max_pool2d_forward<double>(const double*, double*, std::int32_t*, const MaxPool2dShape&);
template void max_pool2d_backward<float>(const float*, const std::int32_t*, float*, const MaxPool2dShape&);
template void max_pool2d_backward<double>(const double*, const std::int32_t*, double*, const MaxPool2dShape&);

}  // namespace minidl::cpu
