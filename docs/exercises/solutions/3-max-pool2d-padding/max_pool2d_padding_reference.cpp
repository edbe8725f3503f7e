// MaxPool2d with padding: the solution of exercise 3
// (docs/exercises/3-max-pool2d-padding/README.md).
#include <algorithm>
#include <cmath>

#include "max_pool2d_padding.h"

namespace minidl::exercises {

// OH = (H + 2*padding - K) / stride + 1, likewise OW. PyTorch refuses padding above K / 2:
// a window could then lie entirely in the padding and pool -inf.
PaddedMaxPool2dShape padded_max_pool2d_shape(const Shape& input, PaddedMaxPool2dParams params) {
  if (input.rank() != 4) fail("max_pool2d: input must have 4 dimensions, got shape {}", input.str());
  if (params.kernel_size < 1) fail("max_pool2d: kernel_size must be at least 1, got {}", params.kernel_size);
  if (params.stride < 1) fail("max_pool2d: stride must be at least 1, got {}", params.stride);
  if (params.padding < 0 || params.padding > params.kernel_size / 2)
    fail("max_pool2d: padding must be between 0 and half the kernel size {}, got {}", params.kernel_size,
         params.padding);
  const std::int64_t padded_height = input[2] + 2 * params.padding, padded_width = input[3] + 2 * params.padding;
  if (params.kernel_size > padded_height || params.kernel_size > padded_width)
    fail("max_pool2d: kernel {}x{} does not fit the input {}x{} with padding {}", params.kernel_size,
         params.kernel_size, input[2], input[3], params.padding);
  PaddedMaxPool2dShape shape;
  shape.batch = input[0];
  shape.channels = input[1];
  shape.height = input[2];
  shape.width = input[3];
  shape.kernel_size = params.kernel_size;
  shape.stride = params.stride;
  shape.padding = params.padding;
  shape.out_height = (padded_height - params.kernel_size) / params.stride + 1;
  shape.out_width = (padded_width - params.kernel_size) / params.stride + 1;
  return shape;
}

namespace cpu {

// Forward: the window of (oh, ow) starts at (oh*stride - padding, ow*stride - padding) in
// input coordinates; its rows and columns outside [0, H) and [0, W) are padding, -inf,
// which never wins a comparison, so the loops just skip them:
//   output[n, c, oh, ow]  = max over the window's rows h in [h0, h0 + K) ∩ [0, H), columns likewise
//   indices[n, c, oh, ow] = h * W + w of that maximum, in the unpadded plane
// As without padding: row-major order, a strictly greater value or a NaN replaces the
// maximum, so the first maximum wins a tie and NaN wins. The maximum starts at the
// window's first element of the input (every window has one, as padding <= K / 2).
template <typename T>
void padded_max_pool2d_forward(const T* input, T* output, std::int32_t* indices, const PaddedMaxPool2dShape& shape) {
  const std::int64_t H = shape.height, W = shape.width, OH = shape.out_height, OW = shape.out_width;
  const std::int64_t K = shape.kernel_size;
  for (std::int64_t plane = 0; plane < shape.batch * shape.channels; ++plane) {
    const T* input_plane = input + plane * H * W;
    T* output_plane = output + plane * OH * OW;
    std::int32_t* indices_plane = indices + plane * OH * OW;
    for (std::int64_t oh = 0; oh < OH; ++oh) {
      for (std::int64_t ow = 0; ow < OW; ++ow) {
        const std::int64_t h0 = oh * shape.stride - shape.padding, w0 = ow * shape.stride - shape.padding;
        const std::int64_t h_begin = std::max<std::int64_t>(h0, 0), h_end = std::min(h0 + K, H);
        const std::int64_t w_begin = std::max<std::int64_t>(w0, 0), w_end = std::min(w0 + K, W);
        std::int64_t max_index = h_begin * W + w_begin;
        T max_value = input_plane[max_index];
        for (std::int64_t h = h_begin; h < h_end; ++h) {
          for (std::int64_t w = w_begin; w < w_end; ++w) {
            const T value = input_plane[h * W + w];
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

template void padded_max_pool2d_forward<float>(const float*, float*, std::int32_t*, const PaddedMaxPool2dShape&);
template void padded_max_pool2d_forward<double>(const double*, double*, std::int32_t*, const PaddedMaxPool2dShape&);

}  // namespace cpu

}  // namespace minidl::exercises
