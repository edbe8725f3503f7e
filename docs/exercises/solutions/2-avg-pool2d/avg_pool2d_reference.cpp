// The CPU reference of AvgPool2d: the solution of exercise 2, part 1
// (docs/exercises/2-avg-pool2d/README.md).
#include "avg_pool2d.h"

namespace minidl::exercises::cpu {

// Forward: each output is the mean of its window.
//   output[n, c, oh, ow] = (1 / K^2) sum_{kh, kw} input[n, c, oh*stride + kh, ow*stride + kw]
// The sum is kept in T and divided once, as PyTorch's CPU kernel does.
template <typename T>
void avg_pool2d_forward(const T* input, T* output, const PoolShape& shape) {
  const std::int64_t H = shape.height, W = shape.width, OH = shape.out_height, OW = shape.out_width;
  const std::int64_t K = shape.kernel_size;
  for (std::int64_t plane = 0; plane < shape.batch * shape.channels; ++plane) {
    const T* input_plane = input + plane * H * W;
    T* output_plane = output + plane * OH * OW;
    for (std::int64_t oh = 0; oh < OH; ++oh) {
      for (std::int64_t ow = 0; ow < OW; ++ow) {
        T sum = 0;
        for (std::int64_t h = oh * shape.stride; h < oh * shape.stride + K; ++h)
          for (std::int64_t w = ow * shape.stride; w < ow * shape.stride + K; ++w) sum += input_plane[h * W + w];
        output_plane[oh * OW + ow] = sum / static_cast<T>(K * K);
      }
    }
  }
}

// Backward: output[oh, ow] depends on each element of its window with the weight
// 1 / K^2, so each window hands grad_output[oh, ow] / K^2 to every element of it:
//   grad_input[n, c, h, w] = (1 / K^2) sum of grad_output[n, c, oh, ow] over the windows holding (h, w)
// grad_input is zeroed first; += because windows overlap when stride < kernel_size.
template <typename T>
void avg_pool2d_backward(const T* grad_output, T* grad_input, const PoolShape& shape) {
  const std::int64_t H = shape.height, W = shape.width, OH = shape.out_height, OW = shape.out_width;
  const std::int64_t K = shape.kernel_size, planes = shape.batch * shape.channels;
  for (std::int64_t i = 0; i < planes * H * W; ++i) grad_input[i] = T(0);
  for (std::int64_t plane = 0; plane < planes; ++plane) {
    const T* grad_output_plane = grad_output + plane * OH * OW;
    T* grad_input_plane = grad_input + plane * H * W;
    for (std::int64_t oh = 0; oh < OH; ++oh) {
      for (std::int64_t ow = 0; ow < OW; ++ow) {
        const T share = grad_output_plane[oh * OW + ow] / static_cast<T>(K * K);
        for (std::int64_t h = oh * shape.stride; h < oh * shape.stride + K; ++h)
          for (std::int64_t w = ow * shape.stride; w < ow * shape.stride + K; ++w) grad_input_plane[h * W + w] += share;
      }
    }
  }
}

template void avg_pool2d_forward<float>(const float*, float*, const PoolShape&);
template void avg_pool2d_forward<double>(const double*, double*, const PoolShape&);
template void avg_pool2d_backward<float>(const float*, float*, const PoolShape&);
template void avg_pool2d_backward<double>(const double*, double*, const PoolShape&);

}  // namespace minidl::exercises::cpu
