#include "minidl/kernels/cpu/conv2d_gemm.h"

#include <algorithm>
#include <vector>

#include "minidl/core/parallel.h"
#include "minidl/kernels/cpu/gemm.h"

namespace minidl::cpu {

namespace {

// The output columns ow whose tap kw lands inside the image (0 <= iw < W, with
// iw = ow*stride - padding + kw) are [first, last): the others read the padding.
struct ColumnRange {
  std::int64_t first, last;
};
ColumnRange inside_columns(const Conv2dShape& shape, std::int64_t kw) {
  const std::int64_t s = shape.stride, offset = kw - shape.padding;  // iw = ow*s + offset
  const std::int64_t first = offset >= 0 ? 0 : (-offset + s - 1) / s;
  const std::int64_t last = shape.width - 1 - offset < 0 ? 0 : (shape.width - 1 - offset) / s + 1;
  return {std::min(first, shape.out_width), std::min(std::max(last, first), shape.out_width)};
}

// Rows [row_begin, row_end) of image's col matrix (see the header) into col,
// row r at col + (r - row_begin) * OH*OW.
// doc:conv2d-im2col
void im2col(const float* image, const Conv2dShape& shape, std::int64_t row_begin, std::int64_t row_end,
            float* col) {
  const std::int64_t H = shape.height, W = shape.width, KH = shape.kernel_height, KW = shape.kernel_width;
  const std::int64_t OH = shape.out_height, OW = shape.out_width, s = shape.stride;
  for (std::int64_t row = row_begin; row < row_end; ++row) {
    const std::int64_t ci = row / (KH * KW), kh = row / KW % KH, kw = row % KW;
    const ColumnRange inside = inside_columns(shape, kw);
    const float* plane = image + ci * H * W;
    for (std::int64_t oh = 0; oh < OH; ++oh) {
      float* out = col + (row - row_begin) * OH * OW + oh * OW;
      const std::int64_t ih = oh * s - shape.padding + kh;
      if (ih < 0 || ih >= H) {
        std::fill(out, out + OW, 0.0f);
        continue;
      }
      const std::int64_t tap0 = ih * W + kw - shape.padding;  // plane[tap0 + ow * s] is column ow's tap
      std::fill(out, out + inside.first, 0.0f);
      if (s == 1)  // the taps of a row are contiguous: a loop the compiler vectorizes
        for (std::int64_t ow = inside.first; ow < inside.last; ++ow) out[ow] = plane[tap0 + ow];
      else
        for (std::int64_t ow = inside.first; ow < inside.last; ++ow) out[ow] = plane[tap0 + ow * s];
      std::fill(out + inside.last, out + OW, 0.0f);
    }
  }
}

// The adjoint of im2col: every entry of col goes back to the input pixel it was
// read from, and pixels read by several taps sum their gradients:
//   grad_image[ci, ih, iw] = sum over the (row, column) of col that read it of grad_col[row, column]
// doc:conv2d-col2im
void col2im(const float* grad_col, const Conv2dShape& shape, float* grad_image) {
  const std::int64_t C_in = shape.in_channels, H = shape.height, W = shape.width, s = shape.stride;
  const std::int64_t KH = shape.kernel_height, KW = shape.kernel_width, OH = shape.out_height, OW = shape.out_width;
  std::fill(grad_image, grad_image + C_in * H * W, 0.0f);
  for (std::int64_t row = 0; row < C_in * KH * KW; ++row) {
    const std::int64_t ci = row / (KH * KW), kh = row / KW % KH, kw = row % KW;
    const ColumnRange inside = inside_columns(shape, kw);
    for (std::int64_t oh = 0; oh < OH; ++oh) {
      const std::int64_t ih = oh * s - shape.padding + kh;
      if (ih < 0 || ih >= H) continue;
      float* plane = grad_image + ci * H * W;
      const std::int64_t tap0 = ih * W + kw - shape.padding;  // plane[tap0 + ow * s] took column ow's tap
      const float* in = grad_col + row * OH * OW + oh * OW;
      for (std::int64_t ow = inside.first; ow < inside.last; ++ow) plane[tap0 + ow * s] += in[ow];
    }
  }
}

// A per-thread scratch matrix, grown to the largest size asked for and kept:
// after the first step no call allocates.
float* scratch(std::vector<float>& buffer, std::int64_t count) {
  if (static_cast<std::int64_t>(buffer.size()) < count) buffer.resize(count);
  return buffer.data();
}

thread_local std::vector<float> t_col;

}  // namespace

// doc:conv2d-forward-gemm
void conv2d_forward_gemm(const float* input, const float* weight, const float* bias, float* output,
                         const Conv2dShape& shape, ops::Activation activation) {
  const std::int64_t K = shape.in_channels * shape.kernel_height * shape.kernel_width;
  const std::int64_t P = shape.out_height * shape.out_width, C_out = shape.out_channels;
  const std::int64_t image_size = shape.in_channels * shape.height * shape.width;
  parallel_for(shape.batch, [&](std::int64_t first, std::int64_t last) {
    float* col = scratch(t_col, K * P);
    for (std::int64_t n = first; n < last; ++n) {
      im2col(input + n * image_size, shape, 0, K, col);
      // output[n] = act(weight · col + bias): the bias and the ReLU in the GEMM's epilogue,
      // not in passes of their own over the output.
      gemm(C_out, P, K, row_major(weight, K), row_major(col, P), output + n * C_out * P, P, /*accumulate=*/false,
           {.row_bias = bias, .relu = activation == ops::Activation::relu});
    }
  });
}

void conv2d_backward_gemm(const float* grad_output, const float* input, const float* weight, float* grad_input,
                          float* grad_weight, float* grad_bias, const Conv2dShape& shape) {
  const std::int64_t K = shape.in_channels * shape.kernel_height * shape.kernel_width;
  const std::int64_t P = shape.out_height * shape.out_width, C_out = shape.out_channels, N = shape.batch;
  const std::int64_t image_size = shape.in_channels * shape.height * shape.width;

  // doc:conv2d-grad-input-gemm
  if (grad_input != nullptr) {
    parallel_for(N, [&](std::int64_t first, std::int64_t last) {
      float* grad_col = scratch(t_col, K * P);
      for (std::int64_t n = first; n < last; ++n) {
        gemm(K, P, C_out, transposed(weight, K), row_major(grad_output + n * C_out * P, P), grad_col, P,
             /*accumulate=*/false);
        col2im(grad_col, shape, grad_input + n * image_size);
      }
    });
  }

  // doc:conv2d-grad-weight-gemm
  // Thread ranges are whole 16-row panels of col (16 columns of grad_weight).
  constexpr std::int64_t kRowsPerTask = 16;
  parallel_for((K + kRowsPerTask - 1) / kRowsPerTask, [&](std::int64_t first, std::int64_t last) {
    const std::int64_t row_begin = first * kRowsPerTask, row_end = std::min(K, last * kRowsPerTask);
    const std::int64_t rows = row_end - row_begin;
    float* col = scratch(t_col, rows * P);
    for (std::int64_t n = 0; n < N; ++n) {
      im2col(input + n * image_size, shape, row_begin, row_end, col);
      gemm(C_out, rows, P, row_major(grad_output + n * C_out * P, P), transposed(col, P), grad_weight + row_begin, K,
           /*accumulate=*/true);
    }
  });

  // doc:conv2d-grad-bias-gemm
  // grad_bias[co] += sum over images and positions of grad_output[n, co, :].
  if (grad_bias != nullptr) {
    parallel_for(C_out, [&](std::int64_t first, std::int64_t last) {
      // Eight running sums, added together at the end: the compiler keeps them in one
      // vector register (a single sum would serialize every addition).
      constexpr int kLanes = 8;
      for (std::int64_t co = first; co < last; ++co) {
        float lanes[kLanes] = {};
        for (std::int64_t n = 0; n < N; ++n) {
          const float* plane = grad_output + (n * C_out + co) * P;
          std::int64_t p = 0;
          for (; p + kLanes <= P; p += kLanes)
            for (int lane = 0; lane < kLanes; ++lane) lanes[lane] += plane[p + lane];
          for (; p < P; ++p) lanes[p % kLanes] += plane[p];
        }
        float sum = 0.0f;
        for (float lane : lanes) sum += lane;
        grad_bias[co] += sum;
      }
    });
  }
}

}  // namespace minidl::cpu
