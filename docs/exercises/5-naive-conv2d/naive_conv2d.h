// A naive direct convolution on the GPU, registered as conv2d's implementation "naive":
// exercise 5 (README.md).
//
// One thread per output element, no shared memory: thread i computes
//   output[n, co, oh, ow] = bias[co]
//       + sum_{ci, kh, kw} input[n, ci, oh*stride - padding + kh, ow*stride - padding + kw] * weight[co, ci, kh, kw]
// (kernels/conv2d.h), reading the input and the weight straight from global memory; an
// input element outside the image reads as 0.
#pragma once

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/cpu/conv2d.h"

namespace minidl::exercises {

namespace cuda {

// naive_conv2d.cu: input (N, C_in, H, W), weight (C_out, C_in, KH, KW), bias (C_out) or
// nullptr -> output (N, C_out, OH, OW), overwritten. One launch.
void naive_conv2d_forward(const float* input, const float* weight, const float* bias, float* output,
                          const minidl::cpu::Conv2dShape& shape, cudaStream_t stream = minidl::cuda::current_stream());

}  // namespace cuda

// register_naive_conv2d.cpp: adds "naive" to conv2d's CUDA implementations in the
// registry (kernels/registry.h), last in order of preference, so it runs only when
// chosen (ops::ImplementationGuard, bench_ops --implementations naive). Call it once per
// process.
void register_naive_conv2d();

}  // namespace minidl::exercises
