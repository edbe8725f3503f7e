// The naive convolution kernel: the solution of exercise 5, part 1
// (docs/exercises/5-naive-conv2d/README.md).
//
// Thread i computes output element i = (n, co, oh, ow): C_in * KH * KW multiply-adds,
// each reading one input and one weight element from global memory. Neighbouring
// threads (neighbouring ow) read neighbouring inputs (at stride 1) and the same weight,
// so the loads coalesce or broadcast; but every input element is read again by each of
// the C_out * KH * KW outputs that use it, where the tiled kernels read it once per tile
// into shared memory. No shared memory, no barriers. Indices in 32 bits: the tests'
// tensors are small (the registration declares kInt32Size, which the registry checks).
#include "minidl/kernels/cuda/kernel_support.cuh"
#include "naive_conv2d.h"

namespace minidl::exercises::cuda {

namespace {

constexpr unsigned kThreads = 256;

struct Sizes {
  int N, C_in, H, W, C_out, KH, KW, stride, padding, OH, OW;
};

// doc:naive-conv2d-kernel
__global__ void naive_conv2d_kernel(const float* input, const float* weight, const float* bias, float* output,
                                    Sizes s) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= s.N * s.C_out * s.OH * s.OW) return;
  const int ow = i % s.OW, oh = i / s.OW % s.OH, co = i / (s.OW * s.OH) % s.C_out, n = i / (s.OW * s.OH * s.C_out);
  float sum = bias != nullptr ? bias[co] : 0.0f;
  for (int ci = 0; ci < s.C_in; ++ci) {
    const float* input_plane = input + (n * s.C_in + ci) * s.H * s.W;
    const float* weight_plane = weight + (co * s.C_in + ci) * s.KH * s.KW;
    for (int kh = 0; kh < s.KH; ++kh) {
      const int h = oh * s.stride - s.padding + kh;
      if (h < 0 || h >= s.H) continue;  // zero padding adds nothing
      for (int kw = 0; kw < s.KW; ++kw) {
        const int w = ow * s.stride - s.padding + kw;
        if (w < 0 || w >= s.W) continue;
        sum += input_plane[h * s.W + w] * weight_plane[kh * s.KW + kw];
      }
    }
  }
  output[i] = sum;
}

}  // namespace

void naive_conv2d_forward(const float* input, const float* weight, const float* bias, float* output,
                          const minidl::cpu::Conv2dShape& shape, cudaStream_t stream) {
  const Sizes s{static_cast<int>(shape.batch),        static_cast<int>(shape.in_channels),
                static_cast<int>(shape.height),       static_cast<int>(shape.width),
                static_cast<int>(shape.out_channels), static_cast<int>(shape.kernel_height),
                static_cast<int>(shape.kernel_width), static_cast<int>(shape.stride),
                static_cast<int>(shape.padding),      static_cast<int>(shape.out_height),
                static_cast<int>(shape.out_width)};
  const std::int64_t count = std::int64_t{s.N} * s.C_out * s.OH * s.OW;
  if (count == 0) return;
  minidl::cuda::launch(naive_conv2d_kernel,
                       {minidl::cuda::blocks_for(count, kThreads), kThreads, 0, stream,
                        minidl::cuda::multiply_adds(count * s.C_in * s.KH * s.KW)},
                       input, weight, bias, output, s);
}

}  // namespace minidl::exercises::cuda
