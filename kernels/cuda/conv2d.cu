// conv2d kernels: three implicit-GEMM problems for the tiled GEMM of
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

// input[n, ci, ih, iw] for ih = oh*stride - padding + kh and iw likewise, 0 in the padding.
__device__ float input_tap(const float* input, const cpu::Conv2dShape& s, std::int64_t n, std::int64_t ci,
                           std::int64_t oh, std::int64_t ow, std::int64_t kh, std::int64_t kw) {
  const std::int64_t ih = oh * s.stride - s.padding + kh, iw = ow * s.stride - s.padding + kw;
  if (ih < 0 || ih >= s.height || iw < 0 || iw >= s.width) return 0.0f;
  return input[((n * s.in_channels + ci) * s.height + ih) * s.width + iw];
}

// doc:conv2d-forward
//   output[n, co, oh, ow] = bias[co] + sum_{ci, kh, kw} weight[co, ci, kh, kw] * input[n, ci, ih, iw]
// C = output as (C_out) x (N*OH*OW), A = weight as (C_out) x (C_in*KH*KW),
// B = im2col(input) as (C_in*KH*KW) x (N*OH*OW).
struct Conv2dForward {
  std::int64_t rows, cols, depth;  // C_out, N*OH*OW, C_in*KH*KW
  cpu::Conv2dShape s;
  const float* input;
  const float* weight;
  const float* bias;
  float* output;

  __device__ float a(std::int64_t co, std::int64_t k) const { return weight[co * depth + k]; }
  __device__ float b(std::int64_t k, std::int64_t p) const {
    const std::int64_t ci = k / (s.kernel_height * s.kernel_width), kh = k / s.kernel_width % s.kernel_height,
                       kw = k % s.kernel_width;
    const std::int64_t n = p / (s.out_height * s.out_width), oh = p / s.out_width % s.out_height,
                       ow = p % s.out_width;
    return input_tap(input, s, n, ci, oh, ow, kh, kw);
  }
  __device__ void store(std::int64_t co, std::int64_t p, float sum) const {
    const std::int64_t n = p / (s.out_height * s.out_width), pixel = p % (s.out_height * s.out_width);
    output[(n * s.out_channels + co) * s.out_height * s.out_width + pixel] = bias != nullptr ? sum + bias[co] : sum;
  }
};

// doc:conv2d-grad-input
//   grad_input[n, ci, ih, iw] = sum_{co, kh, kw} weight[co, ci, kh, kw] * grad_output[n, co, oh, ow]
//   over the taps with ih = oh*stride - padding + kh (and iw likewise) for a whole oh in [0, OH):
//   oh = (ih + padding - kh) / stride when that divides exactly.
// C = grad_input as (C_in) x (N*H*W), A = weight transposed as (C_in) x (C_out*KH*KW),
// B = grad_output gathered as (C_out*KH*KW) x (N*H*W), 0 where no oh, ow exists.
struct Conv2dGradInput {
  std::int64_t rows, cols, depth;  // C_in, N*H*W, C_out*KH*KW
  cpu::Conv2dShape s;
  const float* grad_output;
  const float* weight;
  float* grad_input;

  __device__ float a(std::int64_t ci, std::int64_t k) const {
    const std::int64_t kernel_size = s.kernel_height * s.kernel_width;
    const std::int64_t co = k / kernel_size, tap = k % kernel_size;
    return weight[(co * s.in_channels + ci) * kernel_size + tap];
  }
  __device__ float b(std::int64_t k, std::int64_t p) const {
    const std::int64_t co = k / (s.kernel_height * s.kernel_width), kh = k / s.kernel_width % s.kernel_height,
                       kw = k % s.kernel_width;
    const std::int64_t n = p / (s.height * s.width), ih = p / s.width % s.height, iw = p % s.width;
    const std::int64_t oh_stride = ih + s.padding - kh, ow_stride = iw + s.padding - kw;  // oh * stride, ow * stride
    if (oh_stride < 0 || oh_stride % s.stride != 0 || ow_stride < 0 || ow_stride % s.stride != 0) return 0.0f;
    const std::int64_t oh = oh_stride / s.stride, ow = ow_stride / s.stride;
    if (oh >= s.out_height || ow >= s.out_width) return 0.0f;
    return grad_output[((n * s.out_channels + co) * s.out_height + oh) * s.out_width + ow];
  }
  __device__ void store(std::int64_t ci, std::int64_t p, float sum) const {
    const std::int64_t n = p / (s.height * s.width), pixel = p % (s.height * s.width);
    grad_input[(n * s.in_channels + ci) * s.height * s.width + pixel] = sum;
  }
};

// doc:conv2d-grad-weight
//   grad_weight[co, ci, kh, kw] += sum_{n, oh, ow} grad_output[n, co, oh, ow] * input[n, ci, ih, iw]
// C = grad_weight as (C_out) x (C_in*KH*KW), A = grad_output as (C_out) x (N*OH*OW),
// B = im2col(input) transposed, (N*OH*OW) x (C_in*KH*KW). The sum runs over n, oh,
// ow in that order, in one thread: the same bits on every run.
struct Conv2dGradWeight {
  std::int64_t rows, cols, depth;  // C_out, C_in*KH*KW, N*OH*OW
  cpu::Conv2dShape s;
  const float* grad_output;
  const float* input;
  float* grad_weight;

  __device__ float a(std::int64_t co, std::int64_t q) const {
    const std::int64_t pixels = s.out_height * s.out_width, n = q / pixels, pixel = q % pixels;
    return grad_output[(n * s.out_channels + co) * pixels + pixel];
  }
  __device__ float b(std::int64_t q, std::int64_t k) const {
    const std::int64_t ci = k / (s.kernel_height * s.kernel_width), kh = k / s.kernel_width % s.kernel_height,
                       kw = k % s.kernel_width;
    const std::int64_t n = q / (s.out_height * s.out_width), oh = q / s.out_width % s.out_height,
                       ow = q % s.out_width;
    return input_tap(input, s, n, ci, oh, ow, kh, kw);
  }
  __device__ void store(std::int64_t co, std::int64_t k, float sum) const { grad_weight[co * cols + k] += sum; }
};

// doc:conv2d-grad-bias
//   grad_bias[co] += sum_{n, oh, ow} grad_output[n, co, oh, ow]
// Block co adds the N*OH*OW values of channel co: thread t takes values t, t + 256,
// ... (value q = n*OH*OW + pixel), then block_sum (shared warp totals, two barriers).
__global__ void conv2d_grad_bias_kernel(const float* grad_output, float* grad_bias, std::int64_t N,
                                        std::int64_t C_out, std::int64_t pixels) {
  const std::int64_t co = blockIdx.x;
  float sum = 0.0f;
  for (std::int64_t q = threadIdx.x; q < N * pixels; q += blockDim.x)
    sum += grad_output[(q / pixels * C_out + co) * pixels + q % pixels];
  sum = block_sum(sum);
  if (threadIdx.x == 0) grad_bias[co] += sum;
}

}  // namespace

void conv2d_forward(const float* input, const float* weight, const float* bias, float* output,
                    const cpu::Conv2dShape& shape, cudaStream_t stream) {
  const std::int64_t N = shape.batch, C_out = shape.out_channels;
  const std::int64_t depth = shape.in_channels * shape.kernel_height * shape.kernel_width;
  tiled_gemm(Conv2dForward{C_out, N * shape.out_height * shape.out_width, depth, shape, input, weight, bias, output},
             stream);
}

void conv2d_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                     float* grad_weight, float* grad_bias, const cpu::Conv2dShape& shape, cudaStream_t stream) {
  const std::int64_t N = shape.batch, C_in = shape.in_channels, C_out = shape.out_channels;
  const std::int64_t kernel_size = shape.kernel_height * shape.kernel_width;
  const std::int64_t pixels = shape.out_height * shape.out_width;
  if (grad_input != nullptr)
    tiled_gemm(Conv2dGradInput{C_in, N * shape.height * shape.width, C_out * kernel_size, shape, grad_output, weight,
                               grad_input},
               stream);
  tiled_gemm(Conv2dGradWeight{C_out, C_in * kernel_size, N * pixels, shape, grad_output, input, grad_weight}, stream);
  if (grad_bias != nullptr && C_out > 0)
    launch(conv2d_grad_bias_kernel, {static_cast<unsigned>(C_out), kThreads, 0, stream, elements(N * C_out * pixels)}, grad_output, grad_bias, N,
           C_out, pixels);
}

}  // namespace minidl::cuda
