// The AvgPool2d kernels: the solution of exercise 2, part 2
// (docs/exercises/2-avg-pool2d/README.md). One thread per element of the array it
// writes, so no two threads write one element: no atomics, no shared memory, no
// barriers; threads past the end return at once. Indices in 32 bits: the tests' tensors
// are small (a library kernel checks the sizes first, as max_pool2d.cu's sizes_of does).
//   forward:  thread i computes output[i], i = (plane, oh, ow), summing its window;
//   backward: thread i computes grad_input[i], i = (plane, h, w), gathering from the
//             windows that contain (h, w), in the CPU reference's order (oh, then ow).
#include "avg_pool2d_cuda.h"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::exercises::cuda {

namespace {

constexpr unsigned kThreads = 256;

struct Sizes {
  int planes, H, W, OH, OW, K, stride;
};

Sizes sizes_of(const minidl::cpu::MaxPool2dShape& s) {
  return {static_cast<int>(s.batch * s.channels), static_cast<int>(s.height),     static_cast<int>(s.width),
          static_cast<int>(s.out_height),           static_cast<int>(s.out_width), static_cast<int>(s.kernel_size),
          static_cast<int>(s.stride)};
}

// output[plane, oh, ow] = (1 / K^2) sum of the window at (oh*stride, ow*stride)
__global__ void avg_pool2d_forward_kernel(const float* input, float* output, Sizes s) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= s.planes * s.OH * s.OW) return;
  const int plane = i / (s.OH * s.OW), oh = i / s.OW % s.OH, ow = i % s.OW;
  const float* input_plane = input + plane * s.H * s.W;
  float sum = 0.0f;
  for (int h = oh * s.stride; h < oh * s.stride + s.K; ++h)
    for (int w = ow * s.stride; w < ow * s.stride + s.K; ++w) sum += input_plane[h * s.W + w];
  output[i] = sum / static_cast<float>(s.K * s.K);
}

// grad_input[plane, h, w] = sum of grad_output[plane, oh, ow] / K^2 over the windows holding (h, w):
// oh from the first window that reaches h, ceil((h - K + 1) / stride), to floor(h / stride),
// clipped to [0, OH); likewise ow.
__global__ void avg_pool2d_backward_kernel(const float* grad_output, float* grad_input, Sizes s) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= s.planes * s.H * s.W) return;
  const int plane = i / (s.H * s.W), h = i / s.W % s.H, w = i % s.W;
  const int oh_first = h < s.K ? 0 : (h - s.K) / s.stride + 1, ow_first = w < s.K ? 0 : (w - s.K) / s.stride + 1;
  const int oh_last = h / s.stride < s.OH ? h / s.stride : s.OH - 1;
  const int ow_last = w / s.stride < s.OW ? w / s.stride : s.OW - 1;
  const float* grad_output_plane = grad_output + plane * s.OH * s.OW;
  const float window_size = static_cast<float>(s.K * s.K);
  float grad = 0.0f;
  for (int oh = oh_first; oh <= oh_last; ++oh)
    for (int ow = ow_first; ow <= ow_last; ++ow) grad += grad_output_plane[oh * s.OW + ow] / window_size;
  grad_input[i] = grad;
}

}  // namespace

void avg_pool2d_forward(const float* input, float* output, const minidl::cpu::MaxPool2dShape& shape, cudaStream_t stream) {
  const Sizes s = sizes_of(shape);
  const std::int64_t count = std::int64_t{s.planes} * s.OH * s.OW;
  if (count == 0) return;
  minidl::cuda::launch(avg_pool2d_forward_kernel,
                       {minidl::cuda::blocks_for(count, kThreads), kThreads, 0, stream,
                        minidl::cuda::elements(std::int64_t{s.planes} * s.H * s.W)},
                       input, output, s);
}

void avg_pool2d_backward(const float* grad_output, float* grad_input, const minidl::cpu::MaxPool2dShape& shape, cudaStream_t stream) {
  const Sizes s = sizes_of(shape);
  const std::int64_t count = std::int64_t{s.planes} * s.H * s.W;
  if (count == 0) return;
  minidl::cuda::launch(avg_pool2d_backward_kernel,
                       {minidl::cuda::blocks_for(count, kThreads), kThreads, 0, stream, minidl::cuda::elements(count)},
                       grad_output, grad_input, s);
}

}  // namespace minidl::exercises::cuda
