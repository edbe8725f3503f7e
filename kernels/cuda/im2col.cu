// im2col and col2im kernels: one thread per output element, no shared memory, no
// barriers, no atomics.
//
// im2col: thread i writes columns element i = ((n*K + k)*P + p), with k = (c*KH + kh)*KW + kw
//   and p = oh*OW + ow: it reads input[n, c, oh*stride - padding + kh, ow*stride - padding + kw]
//   or writes 0 where that falls in the padding. Consecutive threads write consecutive
//   p, so the writes of a warp are coalesced.
// col2im: thread i writes image element i = ((n*C + c)*H + h)*W + w. It gathers the
//   column elements copied from that pixel: for each kh, the output row oh with
//   oh*stride - padding + kh == h, when it is a whole number in [0, OH), and likewise
//   for kw. At most KH*KW terms, added in a fixed order: deterministic, and no two
//   threads write the same element (a scatter over the columns would need atomics).
#include "minidl/kernels/cuda/im2col.h"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;

// The sizes in 32 bits (sizes_of checks that the columns' elements fit).
struct Sizes {
  int N, C, H, W, KH, KW, stride, padding, OH, OW;
};

Sizes sizes_of(const cpu::Conv2dShape& s) {
  as_index(im2col_size(s), "im2col", "N*C*KH*KW*OH*OW");
  as_index(s.batch * s.in_channels * s.height * s.width, "im2col", "N*C*H*W");
  return {static_cast<int>(s.batch),        static_cast<int>(s.in_channels), static_cast<int>(s.height),
          static_cast<int>(s.width),        static_cast<int>(s.kernel_height), static_cast<int>(s.kernel_width),
          static_cast<int>(s.stride),       static_cast<int>(s.padding),   static_cast<int>(s.out_height),
          static_cast<int>(s.out_width)};
}

__global__ void im2col_kernel(const float* input, float* columns, Sizes s, int count) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= count) return;
  const int P = s.OH * s.OW, K = s.C * s.KH * s.KW;
  const int p = i % P, k = i / P % K, n = i / (P * K);
  const int ow = p % s.OW, oh = p / s.OW;
  const int kw = k % s.KW, kh = k / s.KW % s.KH, c = k / (s.KW * s.KH);
  const int h = oh * s.stride - s.padding + kh, w = ow * s.stride - s.padding + kw;
  const bool inside = h >= 0 && h < s.H && w >= 0 && w < s.W;
  columns[i] = inside ? input[((n * s.C + c) * s.H + h) * s.W + w] : 0.0f;
}

__global__ void col2im_kernel(const float* columns, float* image, Sizes s, int count) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= count) return;
  const int P = s.OH * s.OW, K = s.C * s.KH * s.KW;
  const int w = i % s.W, h = i / s.W % s.H, c = i / (s.W * s.H) % s.C, n = i / (s.W * s.H * s.C);
  const float* image_columns = columns + n * K * P;
  float sum = 0.0f;
  for (int kh = 0; kh < s.KH; ++kh) {
    const int row = h + s.padding - kh;  // oh * stride
    if (row < 0 || row % s.stride != 0 || row / s.stride >= s.OH) continue;
    const int oh = row / s.stride;
    for (int kw = 0; kw < s.KW; ++kw) {
      const int col = w + s.padding - kw;  // ow * stride
      if (col < 0 || col % s.stride != 0 || col / s.stride >= s.OW) continue;
      const int ow = col / s.stride;
      const int k = (c * s.KH + kh) * s.KW + kw;
      sum += image_columns[k * P + oh * s.OW + ow];
    }
  }
  image[i] = sum;
}

}  // namespace

std::int64_t im2col_size(const cpu::Conv2dShape& shape) {
  return shape.batch * shape.in_channels * shape.kernel_height * shape.kernel_width * shape.out_height *
         shape.out_width;
}

void im2col(const float* input, float* columns, const cpu::Conv2dShape& shape, cudaStream_t stream) {
  const Sizes s = sizes_of(shape);
  const int count = static_cast<int>(im2col_size(shape));
  if (count == 0) return;
  launch(im2col_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, input, columns, s, count);
}

void col2im(const float* columns, float* image, const cpu::Conv2dShape& shape, cudaStream_t stream) {
  const Sizes s = sizes_of(shape);
  const int count = s.N * s.C * s.H * s.W;
  if (count == 0) return;
  launch(col2im_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(im2col_size(shape))}, columns,
         image, s, count);
}

}  // namespace minidl::cuda
