// conv2d kernels, rung 1 (`tiled`): three implicit-GEMM problems for the tiled GEMM of
// kernels/cuda/tiled_gemm.cuh (a thread per element of the GEMM's result, 16 x 16
// tiles of both factors in shared memory, two barriers per step over the depth),
// and a per-channel sum for grad_bias (block_sum of kernels/cuda/block_reduce.cuh).
//
// The GEMMs index the im2col matrix without storing it: row (ci, kh, kw), column
// (n, oh, ow) of it is input[n, ci, oh*stride - padding + kh, ow*stride - padding + kw],
// 0 in the padding. Every sum has one order and no atomics: deterministic.
#include "minidl/kernels/cuda/conv2d.h"

#include "minidl/kernels/cuda/block_reduce.cuh"
#include "minidl/kernels/cuda/kernel_support.cuh"
#include "minidl/kernels/cuda/tiled_gemm.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;

// The convolution's sizes as the kernels index them, in 32 bits (sizes_of checks they fit).
struct Sizes {
  int N, C_in, H, W, C_out, KH, KW, stride, padding, OH, OW;
};

Sizes sizes_of(const cpu::Conv2dShape& s) {
  const char* op = "conv2d (tiled)";
  as_index(s.batch * s.in_channels * s.height * s.width, op, "N*C_in*H*W");
  as_index(s.batch * s.out_channels * s.out_height * s.out_width, op, "N*C_out*OH*OW");
  as_index(s.out_channels * s.in_channels * s.kernel_height * s.kernel_width, op, "C_out*C_in*KH*KW");
  return {static_cast<int>(s.batch),         static_cast<int>(s.in_channels),  static_cast<int>(s.height),
          static_cast<int>(s.width),         static_cast<int>(s.out_channels), static_cast<int>(s.kernel_height),
          static_cast<int>(s.kernel_width),  static_cast<int>(s.stride),       static_cast<int>(s.padding),
          static_cast<int>(s.out_height),    static_cast<int>(s.out_width)};
}

// input[n, ci, ih, iw] for ih = oh*stride - padding + kh and iw likewise, 0 in the padding.
__device__ float input_tap(const float* input, const Sizes& s, int n, int ci, int oh, int ow, int kh, int kw) {
  const int ih = oh * s.stride - s.padding + kh, iw = ow * s.stride - s.padding + kw;
  if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) return 0.0f;
  return input[((n * s.C_in + ci) * s.H + ih) * s.W + iw];
}

// doc:conv2d-forward
//   output[n, co, oh, ow] = bias[co] + sum_{ci, kh, kw} weight[co, ci, kh, kw] * input[n, ci, ih, iw]
// C = output as (C_out) x (N*OH*OW), A = weight as (C_out) x (C_in*KH*KW),
// B = im2col(input) as (C_in*KH*KW) x (N*OH*OW).
struct Conv2dForward {
  int rows, cols, depth;  // C_out, N*OH*OW, C_in*KH*KW
  Sizes s;
  const float* input;
  const float* weight;
  const float* bias;
  float* output;

  __device__ float a(int co, int k) const { return weight[co * depth + k]; }
  __device__ float b(int k, int p) const {
    const int ci = k / (s.KH * s.KW), kh = k / s.KW % s.KH, kw = k % s.KW;
    const int n = p / (s.OH * s.OW), oh = p / s.OW % s.OH, ow = p % s.OW;
    return input_tap(input, s, n, ci, oh, ow, kh, kw);
  }
  __device__ void store(int co, int p, float sum) const {
    const int n = p / (s.OH * s.OW), pixel = p % (s.OH * s.OW);
    output[(n * s.C_out + co) * s.OH * s.OW + pixel] = bias != nullptr ? sum + bias[co] : sum;
  }
};

// doc:conv2d-grad-input
//   grad_input[n, ci, ih, iw] = sum_{co, kh, kw} weight[co, ci, kh, kw] * grad_output[n, co, oh, ow]
//   over the taps with ih = oh*stride - padding + kh (and iw likewise) for a whole oh in [0, OH):
//   oh = (ih + padding - kh) / stride when that divides exactly.
// C = grad_input as (C_in) x (N*H*W), A = weight transposed as (C_in) x (C_out*KH*KW),
// B = grad_output gathered as (C_out*KH*KW) x (N*H*W), 0 where no oh, ow exists.
struct Conv2dGradInput {
  int rows, cols, depth;  // C_in, N*H*W, C_out*KH*KW
  Sizes s;
  const float* grad_output;
  const float* weight;
  float* grad_input;

  __device__ float a(int ci, int k) const {
    const int kernel_size = s.KH * s.KW;
    const int co = k / kernel_size, tap = k % kernel_size;
    return weight[(co * s.C_in + ci) * kernel_size + tap];
  }
  __device__ float b(int k, int p) const {
    const int co = k / (s.KH * s.KW), kh = k / s.KW % s.KH, kw = k % s.KW;
    const int n = p / (s.H * s.W), ih = p / s.W % s.H, iw = p % s.W;
    const int oh_stride = ih + s.padding - kh, ow_stride = iw + s.padding - kw;  // oh * stride, ow * stride
    if (oh_stride < 0 || oh_stride % s.stride != 0 || ow_stride < 0 || ow_stride % s.stride != 0) return 0.0f;
    const int oh = oh_stride / s.stride, ow = ow_stride / s.stride;
    if (oh >= s.OH || ow >= s.OW) return 0.0f;
    return grad_output[((n * s.C_out + co) * s.OH + oh) * s.OW + ow];
  }
  __device__ void store(int ci, int p, float sum) const {
    const int n = p / (s.H * s.W), pixel = p % (s.H * s.W);
    grad_input[(n * s.C_in + ci) * s.H * s.W + pixel] = sum;
  }
};

// doc:conv2d-grad-weight
//   grad_weight[co, ci, kh, kw] += sum_{n, oh, ow} grad_output[n, co, oh, ow] * input[n, ci, ih, iw]
// C = grad_weight as (C_out) x (C_in*KH*KW), A = grad_output as (C_out) x (N*OH*OW),
// B = im2col(input) transposed, (N*OH*OW) x (C_in*KH*KW). The sum runs over n, oh,
// ow in that order, in one thread: the same bits on every run.
struct Conv2dGradWeight {
  int rows, cols, depth;  // C_out, C_in*KH*KW, N*OH*OW
  Sizes s;
  const float* grad_output;
  const float* input;
  float* grad_weight;

  __device__ float a(int co, int q) const {
    const int pixels = s.OH * s.OW, n = q / pixels, pixel = q % pixels;
    return grad_output[(n * s.C_out + co) * pixels + pixel];
  }
  __device__ float b(int q, int k) const {
    const int ci = k / (s.KH * s.KW), kh = k / s.KW % s.KH, kw = k % s.KW;
    const int n = q / (s.OH * s.OW), oh = q / s.OW % s.OH, ow = q % s.OW;
    return input_tap(input, s, n, ci, oh, ow, kh, kw);
  }
  __device__ void store(int co, int k, float sum) const { grad_weight[co * cols + k] += sum; }
};

// doc:conv2d-grad-bias
//   grad_bias[co] += sum_{n, oh, ow} grad_output[n, co, oh, ow]
// Block co adds the N*OH*OW values of channel co: thread t takes values t, t + 256,
// ... (value q = n*OH*OW + pixel), then block_sum (shared warp totals, two barriers).
__global__ void conv2d_grad_bias_kernel(const float* grad_output, float* grad_bias, int N, int C_out, int pixels) {
  const int co = static_cast<int>(blockIdx.x);
  float sum = 0.0f;
  for (int q = static_cast<int>(threadIdx.x); q < N * pixels; q += static_cast<int>(blockDim.x))
    sum += grad_output[(q / pixels * C_out + co) * pixels + q % pixels];
  sum = block_sum(sum);
  if (threadIdx.x == 0) grad_bias[co] += sum;
}

}  // namespace

void conv2d_forward(const float* input, const float* weight, const float* bias, float* output,
                    const cpu::Conv2dShape& shape, cudaStream_t stream) {
  const Sizes s = sizes_of(shape);
  tiled_gemm(Conv2dForward{s.C_out, s.N * s.OH * s.OW, s.C_in * s.KH * s.KW, s, input, weight, bias, output}, stream);
}

void conv2d_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                     float* grad_weight, float* grad_bias, const cpu::Conv2dShape& shape, cudaStream_t stream) {
  const Sizes s = sizes_of(shape);
  const int kernel_size = s.KH * s.KW, pixels = s.OH * s.OW;
  if (grad_input != nullptr)
    tiled_gemm(Conv2dGradInput{s.C_in, s.N * s.H * s.W, s.C_out * kernel_size, s, grad_output, weight, grad_input},
               stream);
  tiled_gemm(Conv2dGradWeight{s.C_out, s.C_in * kernel_size, s.N * pixels, s, grad_output, input, grad_weight},
             stream);
  if (grad_bias != nullptr && s.C_out > 0)
    launch(conv2d_grad_bias_kernel,
           {static_cast<unsigned>(s.C_out), kThreads, 0, stream, elements(std::int64_t{s.N} * s.C_out * pixels)},
           grad_output, grad_bias, s.N, s.C_out, pixels);
}

}  // namespace minidl::cuda
