// max_pool2d kernels. One thread per element of the array it writes, so no thread adds
// into an element another thread writes: no atomics, no shared memory, no barriers;
// threads past the end return at once. Indices are 32-bit (the caller checks the sizes).
//
// Rung 1 (`gather`):
//   forward:  thread i computes output[i] and indices[i], i = (plane, oh, ow);
//   backward: thread i computes grad_input[i], i = (plane, h, w), by gathering from the
//             windows that contain (h, w).
// Rung 2 (`windows`): the same forward. The backward, when the windows tile the input
// (stride = kernel size, H and W multiples of it: the study's 2x2 pooling), runs a thread
// per window that writes the window's kernel_size^2 gradients: the routed one and zeros,
// with no search; otherwise rung 1's gather. Both backwards can fuse the backward of the
// ReLU before the pooling (kernels/epilogue.h): a window whose output is <= 0 routes 0.
#include "minidl/kernels/cuda/max_pool2d.h"

#include <cmath>

#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;

// The pooling's sizes in 32 bits.
struct Sizes {
  int planes, H, W, OH, OW, K, stride;
};

Sizes sizes_of(const cpu::MaxPool2dShape& s) {
  as_index(s.batch * s.channels * s.height * s.width, "max_pool2d", "N*C*H*W");
  return {static_cast<int>(s.batch * s.channels), static_cast<int>(s.height),     static_cast<int>(s.width),
          static_cast<int>(s.out_height),           static_cast<int>(s.out_width), static_cast<int>(s.kernel_size),
          static_cast<int>(s.stride)};
}

// The gradient window o routes: grad_output[o], or 0 when the pooled values were a
// ReLU's output and the window's maximum is <= 0 (the ReLU's backward, fused), NaN passing.
__device__ float routed_gradient(const float* grad_output, const float* relu_output, int o) {
  return relu_output != nullptr && relu_output[o] <= 0.0f ? 0.0f : grad_output[o];
}

// doc:max_pool2d-forward
//   output[n, c, oh, ow]  = max_{kh, kw} input[n, c, oh*stride + kh, ow*stride + kw]
//   indices[n, c, oh, ow] = h * W + w of that maximum
// The window is scanned in row-major order and replaces the maximum only with a
// strictly greater value or a NaN, so the first maximum wins a tie and NaN wins.
__global__ void max_pool2d_forward_kernel(const float* input, float* output, std::int32_t* indices, Sizes s) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= s.planes * s.OH * s.OW) return;
  const int plane = i / (s.OH * s.OW), oh = i / s.OW % s.OH, ow = i % s.OW;
  const float* input_plane = input + plane * s.H * s.W;
  const int h0 = oh * s.stride, w0 = ow * s.stride;
  int max_index = h0 * s.W + w0;
  float max_value = input_plane[max_index];
  for (int h = h0; h < h0 + s.K; ++h) {
    for (int w = w0; w < w0 + s.K; ++w) {
      const float value = input_plane[h * s.W + w];
      if (value > max_value || std::isnan(value)) {
        max_value = value;
        max_index = h * s.W + w;
      }
    }
  }
  output[i] = max_value;
  indices[i] = max_index;
}

// doc:max_pool2d-grad-input
//   grad_input[n, c, h, w] = sum of grad_output[n, c, oh, ow] over the windows (oh, ow)
//                            whose stored index is h * W + w
// The windows that can contain (h, w) are those with oh*stride <= h < oh*stride + K,
// that is oh in [ceil((h - K + 1) / stride), floor(h / stride)], clipped to [0, OH),
// and likewise ow. They are visited in the CPU reference's order (oh, then ow), so
// the sum is the reference's, bit for bit. relu_output: see routed_gradient.
__global__ void max_pool2d_gather_kernel(const float* grad_output, const std::int32_t* indices,
                                         const float* relu_output, float* grad_input, Sizes s) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= s.planes * s.H * s.W) return;
  const int plane = i / (s.H * s.W), h = i / s.W % s.H, w = i % s.W;
  // The first window row that reaches h: the smallest oh with oh*stride + K > h.
  const int oh_first = h < s.K ? 0 : (h - s.K) / s.stride + 1, ow_first = w < s.K ? 0 : (w - s.K) / s.stride + 1;
  const int oh_last = h / s.stride < s.OH ? h / s.stride : s.OH - 1;
  const int ow_last = w / s.stride < s.OW ? w / s.stride : s.OW - 1;
  const int offset = plane * s.OH * s.OW;
  float grad = 0.0f;
  for (int oh = oh_first; oh <= oh_last; ++oh)
    for (int ow = ow_first; ow <= ow_last; ++ow)
      if (indices[offset + oh * s.OW + ow] == h * s.W + w)
        grad += routed_gradient(grad_output, relu_output, offset + oh * s.OW + ow);
  grad_input[i] = grad;
}

// doc:max_pool2d-windows-grad-input
// Windows that tile the input: thread o (a window) writes its K x K elements of grad_input,
// the routed gradient at the stored index and 0 elsewhere. Each input element is in one
// window: no two threads write the same element, and every element is written.
__global__ void max_pool2d_windows_kernel(const float* grad_output, const std::int32_t* indices,
                                          const float* relu_output, float* grad_input, Sizes s) {
  const int o = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (o >= s.planes * s.OH * s.OW) return;
  const int plane = o / (s.OH * s.OW), oh = o / s.OW % s.OH, ow = o % s.OW;
  const float grad = routed_gradient(grad_output, relu_output, o);
  const int routed_to = indices[o];
  float* plane_grad = grad_input + plane * s.H * s.W;
  for (int h = oh * s.K; h < (oh + 1) * s.K; ++h)
    for (int w = ow * s.K; w < (ow + 1) * s.K; ++w) plane_grad[h * s.W + w] = h * s.W + w == routed_to ? grad : 0.0f;
}

}  // namespace

void max_pool2d_forward(const float* input, float* output, std::int32_t* indices, const cpu::MaxPool2dShape& shape,
                        cudaStream_t stream) {
  const Sizes s = sizes_of(shape);
  const std::int64_t count = std::int64_t{s.planes} * s.OH * s.OW;
  if (count == 0) return;
  launch(max_pool2d_forward_kernel,
         {blocks_for(count, kThreads), kThreads, 0, stream, elements(std::int64_t{s.planes} * s.H * s.W)}, input,
         output, indices, s);
}

void max_pool2d_backward_gather(const float* grad_output, const std::int32_t* indices, const float* relu_output,
                                float* grad_input, const cpu::MaxPool2dShape& shape, cudaStream_t stream) {
  const Sizes s = sizes_of(shape);
  const std::int64_t count = std::int64_t{s.planes} * s.H * s.W;
  if (count == 0) return;
  launch(max_pool2d_gather_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, grad_output,
         indices, relu_output, grad_input, s);
}

void max_pool2d_backward_windows(const float* grad_output, const std::int32_t* indices, const float* relu_output,
                                 float* grad_input, const cpu::MaxPool2dShape& shape, cudaStream_t stream) {
  const Sizes s = sizes_of(shape);
  const bool windows_tile = s.stride == s.K && s.H == s.OH * s.K && s.W == s.OW * s.K;
  if (!windows_tile) {
    max_pool2d_backward_gather(grad_output, indices, relu_output, grad_input, shape, stream);
    return;
  }
  const std::int64_t windows = std::int64_t{s.planes} * s.OH * s.OW;
  if (windows == 0) return;
  launch(max_pool2d_windows_kernel,
         {blocks_for(windows, kThreads), kThreads, 0, stream, elements(std::int64_t{s.planes} * s.H * s.W)},
         grad_output, indices, relu_output, grad_input, s);
}

}  // namespace minidl::cuda
