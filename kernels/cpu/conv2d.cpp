#include "minidl/kernels/cpu/conv2d.h"

namespace minidl::cpu {

// Forward: one output element is its bias plus the dot product of the kernel
// with the input window under it, summed over the input channels:
//   output[n, co, oh, ow] = bias[co] + sum_{ci, kh, kw} input[n, ci, ih, iw] * weight[co, ci, kh, kw]
//   with ih = oh*stride - padding + kh and iw = ow*stride - padding + kw.
// Taps with (ih, iw) outside the image fall in the zero padding and add nothing.
// input (N, C_in, H, W), weight (C_out, C_in, KH, KW), bias (C_out) or nullptr, output (N, C_out, OH, OW)
template <typename T>
void conv2d_forward(const T* input, const T* weight, const T* bias, T* output, const Conv2dShape& shape) {
  const std::int64_t N = shape.batch, C_in = shape.in_channels, H = shape.height, W = shape.width;
  const std::int64_t C_out = shape.out_channels, KH = shape.kernel_height, KW = shape.kernel_width;
  const std::int64_t OH = shape.out_height, OW = shape.out_width;
  for (std::int64_t n = 0; n < N; ++n) {
    for (std::int64_t co = 0; co < C_out; ++co) {
      T* output_plane = output + (n * C_out + co) * OH * OW;
      for (std::int64_t oh = 0; oh < OH; ++oh) {
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          // doc:conv2d-forward
          T sum = bias != nullptr ? bias[co] : T(0);
          for (std::int64_t ci = 0; ci < C_in; ++ci) {
            const T* input_plane = input + (n * C_in + ci) * H * W;
            const T* kernel = weight + (co * C_in + ci) * KH * KW;
            for (std::int64_t kh = 0; kh < KH; ++kh) {
              std::int64_t ih = oh * shape.stride - shape.padding + kh;
              if (ih < 0 || ih >= H) continue;
              for (std::int64_t kw = 0; kw < KW; ++kw) {
                std::int64_t iw = ow * shape.stride - shape.padding + kw;
                if (iw < 0 || iw >= W) continue;
                sum += input_plane[ih * W + iw] * kernel[kh * KW + kw];
              }
            }
          }
          output_plane[oh * OW + ow] = sum;
        }
      }
    }
  }
}

// Backward: the forward adds the product input[n, ci, ih, iw] * weight[co, ci, kh, kw]
// into output[n, co, oh, ow] once for every tap inside the image. So each such
// product sends grad_output[n, co, oh, ow] back along both of its factors:
//   grad_input[n, ci, ih, iw]   += grad_output[n, co, oh, ow] * weight[co, ci, kh, kw]
//   grad_weight[co, ci, kh, kw] += grad_output[n, co, oh, ow] * input[n, ci, ih, iw]
//   grad_bias[co]               += grad_output[n, co, oh, ow]
// The loops are those of the forward. grad_input is zeroed first (it is overwritten);
// grad_weight and grad_bias keep what they held (accumulated, like PyTorch's .grad).
// grad_output (N, C_out, OH, OW), grad_input (N, C_in, H, W) or nullptr,
// grad_weight (C_out, C_in, KH, KW), grad_bias (C_out) or nullptr
template <typename T>
void conv2d_backward(const T* grad_output, const T* input, const T* weight, T* grad_input, T* grad_weight,
                     T* grad_bias, const Conv2dShape& shape) {
  const std::int64_t N = shape.batch, C_in = shape.in_channels, H = shape.height, W = shape.width;
  const std::int64_t C_out = shape.out_channels, KH = shape.kernel_height, KW = shape.kernel_width;
  const std::int64_t OH = shape.out_height, OW = shape.out_width;
  if (grad_input != nullptr)
    for (std::int64_t i = 0; i < N * C_in * H * W; ++i) grad_input[i] = T(0);
  for (std::int64_t n = 0; n < N; ++n) {
    for (std::int64_t co = 0; co < C_out; ++co) {
      const T* grad_output_plane = grad_output + (n * C_out + co) * OH * OW;
      for (std::int64_t oh = 0; oh < OH; ++oh) {
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          T grad = grad_output_plane[oh * OW + ow];
          if (grad_bias != nullptr) grad_bias[co] += grad;  // doc:conv2d-grad-bias
          for (std::int64_t ci = 0; ci < C_in; ++ci) {
            const T* input_plane = input + (n * C_in + ci) * H * W;
            const T* kernel = weight + (co * C_in + ci) * KH * KW;
            T* grad_kernel = grad_weight + (co * C_in + ci) * KH * KW;
            T* grad_input_plane = grad_input != nullptr ? grad_input + (n * C_in + ci) * H * W : nullptr;
            for (std::int64_t kh = 0; kh < KH; ++kh) {
              std::int64_t ih = oh * shape.stride - shape.padding + kh;
              if (ih < 0 || ih >= H) continue;
              for (std::int64_t kw = 0; kw < KW; ++kw) {
                std::int64_t iw = ow * shape.stride - shape.padding + kw;
                if (iw < 0 || iw >= W) continue;
                // doc:conv2d-grad-weight
                grad_kernel[kh * KW + kw] += grad * input_plane[ih * W + iw];
                // doc:conv2d-grad-input
                if (grad_input_plane != nullptr) grad_input_plane[ih * W + iw] += grad * kernel[kh * KW + kw];
              }
            }
          }
        }
      }
    }
  }
}

template void conv2d_forward<float>(const float*, const float*, const float*, float*, const Conv2dShape&);
template void conv2d_forward<double>(const double*, const double*, const double*, double*, const Conv2dShape&);
template void conv2d_backward<float>(const float*, const float*, const float*, float*, float*, float*,
                                     const Conv2dShape&);
template void conv2d_backward<double>(const double*, const double*, const double*, double*, double*, double*,
                                      const Conv2dShape&);

}  // namespace minidl::cpu
