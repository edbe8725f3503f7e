// im2col and col2im on the GPU: the layout change that turns a convolution into a
// matrix product (kernels/cuda/cublas_ops.h multiplies the columns with cuBLAS).
//
// For a batch of images (N, C, H, W), a kernel KH x KW, stride and zero padding
// (sizes in cpu::Conv2dShape, kernels/cpu/conv2d.h), the columns of image n are a
// matrix of K = C*KH*KW rows and P = OH*OW columns, stored row-major, one matrix per
// image one after another:
//
//   columns (N, C*KH*KW, OH*OW)
//   columns[n, (c*KH + kh)*KW + kw, oh*OW + ow] = input[n, c, oh*stride - padding + kh, ow*stride - padding + kw]
//                                                 (0 outside the image)
//
// so conv2d's output of image n is weight (C_out, K) @ columns[n] (K, P).
// col2im is the adjoint: every input pixel gets the sum of the column elements that
// were copied from it, which is d loss / d input given d loss / d columns.
// Each call queues one kernel on stream; shapes with no element launch nothing.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/cpu/conv2d.h"

namespace minidl::cuda {

// The number of floats in the columns of the whole batch: N * C*KH*KW * OH*OW.
std::int64_t im2col_size(const cpu::Conv2dShape& shape);

// input (N, C_in, H, W) -> columns (N, C_in*KH*KW, OH*OW), overwritten.
void im2col(const float* input, float* columns, const cpu::Conv2dShape& shape, cudaStream_t stream = current_stream());

// columns (N, C_in*KH*KW, OH*OW) -> image (N, C_in, H, W), overwritten (not accumulated):
//   image[n, c, h, w] = sum of columns[n, (c, kh, kw), (oh, ow)] over every (kh, kw, oh, ow)
//                       with oh*stride - padding + kh == h and ow*stride - padding + kw == w.
void col2im(const float* columns, float* image, const cpu::Conv2dShape& shape, cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
