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

__global__ void im2col_kernel(const float* input, float* columns, cpu::Conv2dShape shape, std::int64_t count) {
  std::int64_t i = global_thread_index();
  if (i >= count) return;
  const std::int64_t P = shape.out_height * shape.out_width;
  const std::int64_t K = shape.in_channels * shape.kernel_height * shape.kernel_width;
  std::int64_t p = i % P, k = i / P % K, n = i / (P * K);
  std::int64_t ow = p % shape.out_width, oh = p / shape.out_width;
  std::int64_t kw = k % shape.kernel_width, kh = k / shape.kernel_width % shape.kernel_height;
  std::int64_t c = k / (shape.kernel_width * shape.kernel_height);
  std::int64_t h = oh * shape.stride - shape.padding + kh, w = ow * shape.stride - shape.padding + kw;
  bool inside = h >= 0 && h < shape.height && w >= 0 && w < shape.width;
  columns[i] = inside ? input[((n * shape.in_channels + c) * shape.height + h) * shape.width + w] : 0.0f;
}

__global__ void col2im_kernel(const float* columns, float* image, cpu::Conv2dShape shape, std::int64_t count) {
  std::int64_t i = global_thread_index();
  if (i >= count) return;
  const std::int64_t P = shape.out_height * shape.out_width;
  const std::int64_t K = shape.in_channels * shape.kernel_height * shape.kernel_width;
  std::int64_t w = i % shape.width, h = i / shape.width % shape.height;
  std::int64_t c = i / (shape.width * shape.height) % shape.in_channels;
  std::int64_t n = i / (shape.width * shape.height * shape.in_channels);
  const float* image_columns = columns + n * K * P;
  float sum = 0.0f;
  for (std::int64_t kh = 0; kh < shape.kernel_height; ++kh) {
    std::int64_t row = h + shape.padding - kh;  // oh * stride
    if (row < 0 || row % shape.stride != 0 || row / shape.stride >= shape.out_height) continue;
    std::int64_t oh = row / shape.stride;
    for (std::int64_t kw = 0; kw < shape.kernel_width; ++kw) {
      std::int64_t col = w + shape.padding - kw;  // ow * stride
      if (col < 0 || col % shape.stride != 0 || col / shape.stride >= shape.out_width) continue;
      std::int64_t ow = col / shape.stride;
      std::int64_t k = (c * shape.kernel_height + kh) * shape.kernel_width + kw;
      sum += image_columns[k * P + oh * shape.out_width + ow];
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
  std::int64_t count = im2col_size(shape);
  if (count == 0) return;
  launch(im2col_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, input, columns, shape, count);
}

void col2im(const float* columns, float* image, const cpu::Conv2dShape& shape, cudaStream_t stream) {
  std::int64_t count = shape.batch * shape.in_channels * shape.height * shape.width;
  if (count == 0) return;
  launch(col2im_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, columns, image, shape, count);
}

}  // namespace minidl::cuda
