// max_pool2d kernels: one thread per element of the array each one writes, so no
// thread adds into an element another thread writes: no atomics, no shared memory,
// no barriers; threads past the end return at once.
//   forward:  thread i computes output[i] and indices[i], i = (plane, oh, ow);
//   backward: thread i computes grad_input[i], i = (plane, h, w), by gathering from
//             the windows that contain (h, w).
#include "minidl/kernels/cuda/max_pool2d.h"

#include <cmath>

#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;

// doc:max_pool2d-forward
//   output[n, c, oh, ow]  = max_{kh, kw} input[n, c, oh*stride + kh, ow*stride + kw]
//   indices[n, c, oh, ow] = h * W + w of that maximum
// The window is scanned in row-major order and replaces the maximum only with a
// strictly greater value or a NaN, so the first maximum wins a tie and NaN wins.
__global__ void max_pool2d_forward_kernel(const float* input, float* output, std::int32_t* indices,
                                          cpu::MaxPool2dShape shape) {
  const std::int64_t OH = shape.out_height, OW = shape.out_width, H = shape.height, W = shape.width;
  const std::int64_t i = global_thread_index();
  if (i >= shape.batch * shape.channels * OH * OW) return;
  const std::int64_t plane = i / (OH * OW), oh = i / OW % OH, ow = i % OW;
  const float* input_plane = input + plane * H * W;
  const std::int64_t h0 = oh * shape.stride, w0 = ow * shape.stride;
  std::int64_t max_index = h0 * W + w0;
  float max_value = input_plane[max_index];
  for (std::int64_t h = h0; h < h0 + shape.kernel_size; ++h) {
    for (std::int64_t w = w0; w < w0 + shape.kernel_size; ++w) {
      float value = input_plane[h * W + w];
      if (value > max_value || std::isnan(value)) {
        max_value = value;
        max_index = h * W + w;
      }
    }
  }
  output[i] = max_value;
  indices[i] = static_cast<std::int32_t>(max_index);
}

// doc:max_pool2d-grad-input
//   grad_input[n, c, h, w] = sum of grad_output[n, c, oh, ow] over the windows (oh, ow)
//                            whose stored index is h * W + w
// The windows that can contain (h, w) are those with oh*stride <= h < oh*stride + K,
// that is oh in [ceil((h - K + 1) / stride), floor(h / stride)], clipped to [0, OH),
// and likewise ow. They are visited in the CPU reference's order (oh, then ow), so
// the sum is the reference's, bit for bit.
__global__ void max_pool2d_backward_kernel(const float* grad_output, const std::int32_t* indices, float* grad_input,
                                           cpu::MaxPool2dShape shape) {
  const std::int64_t OH = shape.out_height, OW = shape.out_width, H = shape.height, W = shape.width;
  const std::int64_t K = shape.kernel_size, stride = shape.stride;
  const std::int64_t i = global_thread_index();
  if (i >= shape.batch * shape.channels * H * W) return;
  const std::int64_t plane = i / (H * W), h = i / W % H, w = i % W;
  // The first window row that reaches h: the smallest oh with oh*stride + K > h.
  const std::int64_t oh_first = h < K ? 0 : (h - K) / stride + 1, ow_first = w < K ? 0 : (w - K) / stride + 1;
  const std::int64_t oh_last = h / stride < OH ? h / stride : OH - 1;
  const std::int64_t ow_last = w / stride < OW ? w / stride : OW - 1;
  const std::int64_t offset = plane * OH * OW;
  float grad = 0.0f;
  for (std::int64_t oh = oh_first; oh <= oh_last; ++oh)
    for (std::int64_t ow = ow_first; ow <= ow_last; ++ow)
      if (indices[offset + oh * OW + ow] == h * W + w) grad += grad_output[offset + oh * OW + ow];
  grad_input[i] = grad;
}

}  // namespace

void max_pool2d_forward(const float* input, float* output, std::int32_t* indices, const cpu::MaxPool2dShape& shape,
                        cudaStream_t stream) {
  const std::int64_t count = shape.batch * shape.channels * shape.out_height * shape.out_width;
  if (count == 0) return;
  launch(max_pool2d_forward_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, input, output, indices, shape);
}

void max_pool2d_backward(const float* grad_output, const std::int32_t* indices, float* grad_input,
                         const cpu::MaxPool2dShape& shape, cudaStream_t stream) {
  const std::int64_t count = shape.batch * shape.channels * shape.height * shape.width;
  if (count == 0) return;
  launch(max_pool2d_backward_kernel, {blocks_for(count, kThreads), kThreads, 0, stream, elements(count)}, grad_output, indices,
         grad_input, shape);
}

}  // namespace minidl::cuda
