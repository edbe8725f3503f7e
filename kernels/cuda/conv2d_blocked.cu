// conv2d kernels, rung 2: three implicit-GEMM problems for gemm_blocked.cuh, their index
// tables, and the bias gradient as per-channel sums split across blocks
// (channel_chunks.cuh). See conv2d_blocked.h for the tables' idea.
//
//   forward      C = output (C_out) x (N*OH*OW), depth C_in*KH*KW:  weight x im2col(input)
//   grad_input   C = grad_input (C_in) x (N*H*W), depth C_out*KH*KW: weight^T x the taps of
//                grad_output that reach each input pixel
//   grad_weight  C = grad_weight (C_out) x (C_in*KH*KW), a sum over the N images of depth
//                OH*OW each: grad_output_n x im2col(input_n)^T; the images are the GEMM's
//                batch entries, so a block's depth never crosses an image.
#include "minidl/kernels/cuda/conv2d_blocked.h"

#include "minidl/kernels/cuda/block_reduce.cuh"
#include "minidl/kernels/cuda/channel_chunks.cuh"
#include "minidl/kernels/cuda/gemm_blocked.cuh"

namespace minidl::cuda {

namespace {

// Where each table starts in the tables array, in ints.
struct TableLayout {
  int input_taps;       // C_in*KH*KW entries of 3: offset in an image, dh, dw
  int output_pixels;    // OH*OW entries of 3: offset of the window's corner, its row h0, column w0
  int output_taps;      // C_out*KH*KW entries of 5, for grad_input: see grad_input_tables
  int input_pixels;     // H*W entries of 3, for grad_input
  int size;
};

TableLayout layout_of(const cpu::Conv2dShape& s) {
  TableLayout layout;
  const std::int64_t taps = s.kernel_height * s.kernel_width;
  layout.input_taps = 0;
  layout.output_pixels = static_cast<int>(3 * s.in_channels * taps);
  layout.output_taps = layout.output_pixels + static_cast<int>(3 * s.out_height * s.out_width);
  layout.input_pixels = layout.output_taps + static_cast<int>(5 * s.out_channels * taps);
  layout.size = layout.input_pixels + static_cast<int>(3 * s.height * s.width);
  return layout;
}

// doc:conv2d-blocked-forward
//   output[n, co, oh, ow] = activation(bias[co] + sum_k weight[co, k] * im2col[n][k, (oh, ow)])
// A(co, k) = weight[co*K + k], contiguous in k. B(k, col) for col = n*OH*OW + pixel: the
// input through the tables, contiguous along the columns (neighbouring output pixels).
struct Conv2dForward {
  static constexpr bool kAContiguousInK = true, kBContiguousInK = false;
  int rows, cols, depth, batches;  // C_out, N*OH*OW, C_in*KH*KW, 1
  int H, W, pixels, image_size, out_channels;
  const float* input;
  const float* weight;
  const float* bias;
  float* output;
  const int* taps;       // input_taps
  const int* corners;    // output_pixels
  ops::Activation activation;

  struct ARow { int base; };
  struct BColumn { int base, h0, w0; };
  __device__ ARow a_row(int, int co) const { return {co * depth}; }
  __device__ BColumn b_column(int, int col) const {
    const int n = col / pixels, pixel = col % pixels;
    const int* corner = corners + 3 * pixel;
    return {n * image_size + corner[0], corner[1], corner[2]};
  }
  __device__ float a(const ARow& row, int k) const { return weight[row.base + k]; }
  __device__ float b(const BColumn& column, int k) const {
    const int* tap = taps + 3 * k;
    const int h = column.h0 + tap[1], w = column.w0 + tap[2];
    if (static_cast<unsigned>(h) >= static_cast<unsigned>(H) || static_cast<unsigned>(w) >= static_cast<unsigned>(W))
      return 0.0f;
    return input[column.base + tap[0]];
  }
  __device__ void store(int co, int col, float sum) const {
    const int n = col / pixels, pixel = col % pixels;
    float value = bias != nullptr ? sum + bias[co] : sum;
    if (activation == ops::Activation::relu) value = value < 0.0f ? 0.0f : value;
    output[(n * out_channels + co) * pixels + pixel] = value;
  }
};

// doc:conv2d-blocked-grad-input
//   grad_input[n, ci, ih, iw] = sum_{co, kh, kw} weight[co, ci, kh, kw] * grad_output[n, co, oh, ow]
//   over the taps with oh*stride = ih + padding - kh (and ow likewise) inside the output.
// A(ci, k) for k = (co, kh, kw) = weight[co, ci, kh, kw]. B(k, col) for col = (n, ih, iw):
// with stride 1, grad_output[n, co, ih + padding - kh, iw + padding - kw], an outer sum of
// offsets as in the forward; with a larger stride the tap must also divide exactly.
template <bool kUnitStride>
struct Conv2dGradInput {
  static constexpr bool kAContiguousInK = true, kBContiguousInK = false;
  int rows, cols, depth, batches;  // C_in, N*H*W, C_out*KH*KW, 1
  int OH, OW, stride, kernel_taps, input_pixels, out_image_size, in_channels;
  const float* grad_output;
  const float* weight;
  float* grad_input;
  const int* taps;     // output_taps: offset (stride 1), -kh, -kw, co*OH*OW, weight offset
  const int* pixels;   // input_pixels: (ih + padding)*OW + iw + padding, ih + padding, iw + padding

  struct ARow { int base; };
  struct BColumn { int base, h, w; };
  __device__ ARow a_row(int, int ci) const { return {ci * kernel_taps}; }
  __device__ BColumn b_column(int, int col) const {
    const int n = col / input_pixels, pixel = col % input_pixels;
    const int* entry = pixels + 3 * pixel;
    return {n * out_image_size + (kUnitStride ? entry[0] : 0), entry[1], entry[2]};
  }
  __device__ float a(const ARow& row, int k) const { return weight[taps[5 * k + 4] + row.base]; }
  __device__ float b(const BColumn& column, int k) const {
    const int* tap = taps + 5 * k;
    if (kUnitStride) {
      const int oh = column.h + tap[1], ow = column.w + tap[2];
      if (static_cast<unsigned>(oh) >= static_cast<unsigned>(OH) ||
          static_cast<unsigned>(ow) >= static_cast<unsigned>(OW))
        return 0.0f;
      return grad_output[column.base + tap[0]];
    }
    const int oh_stride = column.h + tap[1], ow_stride = column.w + tap[2];  // oh * stride, ow * stride
    if (oh_stride < 0 || ow_stride < 0 || oh_stride % stride != 0 || ow_stride % stride != 0) return 0.0f;
    const int oh = oh_stride / stride, ow = ow_stride / stride;
    if (oh >= OH || ow >= OW) return 0.0f;
    return grad_output[column.base + tap[3] + oh * OW + ow];
  }
  __device__ void store(int ci, int col, float sum) const {
    const int n = col / input_pixels, pixel = col % input_pixels;
    grad_input[(n * in_channels + ci) * input_pixels + pixel] = sum;
  }
};

// doc:conv2d-blocked-grad-weight
//   grad_weight[co, k] += sum_n sum_pixel grad_output[n, co, pixel] * im2col[n][k, pixel]
// Batch entry n, depth = the output pixels of image n. A(co, pixel) = grad_output[n, co,
// pixel], contiguous in the pixel; B(pixel, k) through the tables, also walked along the
// pixels (a warp reads neighbouring positions of an input plane).
struct Conv2dGradWeight {
  static constexpr bool kAContiguousInK = true, kBContiguousInK = true;
  int rows, cols, depth, batches;  // C_out, C_in*KH*KW, OH*OW, N
  int H, W, image_size, out_channels;
  const float* grad_output;
  const float* input;
  float* grad_weight;
  const int* taps;     // input_taps
  const int* corners;  // output_pixels

  struct ARow { int base; };
  struct BColumn { int base, dh, dw; };
  __device__ ARow a_row(int n, int co) const { return {(n * out_channels + co) * depth}; }
  __device__ BColumn b_column(int n, int k) const {
    const int* tap = taps + 3 * k;
    return {n * image_size + tap[0], tap[1], tap[2]};
  }
  __device__ float a(const ARow& row, int pixel) const { return grad_output[row.base + pixel]; }
  __device__ float b(const BColumn& column, int pixel) const {
    const int* corner = corners + 3 * pixel;
    const int h = corner[1] + column.dh, w = corner[2] + column.dw;
    if (static_cast<unsigned>(h) >= static_cast<unsigned>(H) || static_cast<unsigned>(w) >= static_cast<unsigned>(W))
      return 0.0f;
    return input[column.base + corner[0]];
  }
  __device__ void store(int co, int k, float sum) const { grad_weight[co * cols + k] += sum; }
};

// doc:conv2d-blocked-grad-bias
//   grad_bias[co] += sum_{n, pixel} grad_output[n, co, pixel]
// Block (s, co) adds channel co's values in image chunk s (every thread a share, then
// block_sum) and writes partials[co * chunks + s]; then thread co adds its chunks' partials
// in order and adds the total to grad_bias[co].
constexpr unsigned kChannelThreads = 256;

__global__ void channel_partial_sums_kernel(const float* values, float* partials, int N, int C, int inner,
                                            ChannelChunks plan) {
  const int s = static_cast<int>(blockIdx.x), c = static_cast<int>(blockIdx.y);
  const ImageRange images = chunk_images(plan, N, s);
  float sum = 0.0f;
  for_each_in_channel_chunk(C, inner, c, images.first, images.end, [&](int e) { sum += values[e]; });
  sum = block_sum(sum);
  if (threadIdx.x == 0) partials[c * plan.chunks + s] = sum;
}

__global__ void add_channel_partials_kernel(const float* partials, float* grad_bias, int C, int chunks) {
  const int c = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (c >= C) return;
  float sum = 0.0f;
  for (int s = 0; s < chunks; ++s) sum += partials[c * chunks + s];
  grad_bias[c] += sum;
}

struct Sizes {
  int N, C_in, H, W, C_out, KH, KW, OH, OW, K, taps;
};

Sizes sizes_of(const cpu::Conv2dShape& s) {
  const char* op = "conv2d (blocked)";
  Sizes z;
  z.N = as_index(s.batch, op, "N");
  z.C_in = as_index(s.in_channels, op, "C_in");
  z.H = as_index(s.height, op, "H");
  z.W = as_index(s.width, op, "W");
  z.C_out = as_index(s.out_channels, op, "C_out");
  z.KH = as_index(s.kernel_height, op, "KH");
  z.KW = as_index(s.kernel_width, op, "KW");
  z.OH = as_index(s.out_height, op, "OH");
  z.OW = as_index(s.out_width, op, "OW");
  z.taps = z.KH * z.KW;
  z.K = as_index(s.in_channels * s.kernel_height * s.kernel_width, op, "C_in*KH*KW");
  return z;
}

GemmPlan forward_plan(const Sizes& z) { return plan_gemm(z.C_out, z.N * z.OH * z.OW, z.K, 1); }
GemmPlan grad_input_plan(const Sizes& z) { return plan_gemm(z.C_in, z.N * z.H * z.W, z.C_out * z.taps, 1); }
GemmPlan grad_weight_plan(const Sizes& z) { return plan_gemm(z.C_out, z.K, z.OH * z.OW, z.N); }

}  // namespace

std::vector<std::int32_t> conv2d_blocked_tables(const cpu::Conv2dShape& shape) {
  const Sizes z = sizes_of(shape);
  const TableLayout layout = layout_of(shape);
  const int stride = static_cast<int>(shape.stride), padding = static_cast<int>(shape.padding);
  std::vector<std::int32_t> tables(static_cast<std::size_t>(layout.size));
  for (int ci = 0; ci < z.C_in; ++ci)
    for (int kh = 0; kh < z.KH; ++kh)
      for (int kw = 0; kw < z.KW; ++kw) {
        std::int32_t* tap = &tables[layout.input_taps + 3 * ((ci * z.KH + kh) * z.KW + kw)];
        tap[0] = ci * z.H * z.W + kh * z.W + kw;
        tap[1] = kh;
        tap[2] = kw;
      }
  for (int oh = 0; oh < z.OH; ++oh)
    for (int ow = 0; ow < z.OW; ++ow) {
      std::int32_t* corner = &tables[layout.output_pixels + 3 * (oh * z.OW + ow)];
      const int h0 = oh * stride - padding, w0 = ow * stride - padding;
      corner[0] = h0 * z.W + w0;
      corner[1] = h0;
      corner[2] = w0;
    }
  for (int co = 0; co < z.C_out; ++co)
    for (int kh = 0; kh < z.KH; ++kh)
      for (int kw = 0; kw < z.KW; ++kw) {
        std::int32_t* tap = &tables[layout.output_taps + 5 * ((co * z.KH + kh) * z.KW + kw)];
        tap[0] = co * z.OH * z.OW - kh * z.OW - kw;  // with stride 1: oh = ih + padding - kh
        tap[1] = -kh;
        tap[2] = -kw;
        tap[3] = co * z.OH * z.OW;
        tap[4] = co * z.C_in * z.taps + kh * z.KW + kw;  // weight[co, 0, kh, kw]; + ci*KH*KW for ci
      }
  for (int ih = 0; ih < z.H; ++ih)
    for (int iw = 0; iw < z.W; ++iw) {
      std::int32_t* pixel = &tables[layout.input_pixels + 3 * (ih * z.W + iw)];
      pixel[0] = (ih + padding) * z.OW + iw + padding;
      pixel[1] = ih + padding;
      pixel[2] = iw + padding;
    }
  return tables;
}

std::int64_t conv2d_blocked_forward_scratch(const cpu::Conv2dShape& shape) {
  const Sizes z = sizes_of(shape);
  return gemm_partials_size(forward_plan(z), z.C_out, z.N * z.OH * z.OW);
}

std::int64_t conv2d_blocked_backward_scratch(const cpu::Conv2dShape& shape, bool grad_input) {
  const Sizes z = sizes_of(shape);
  const std::int64_t input_partials =
      grad_input ? gemm_partials_size(grad_input_plan(z), z.C_in, z.N * z.H * z.W) : 0;
  const std::int64_t weight_partials = gemm_partials_size(grad_weight_plan(z), z.C_out, z.K);
  const std::int64_t bias_partials = std::int64_t{z.C_out} * plan_channel_chunks(z.N, z.C_out, z.OH * z.OW).chunks;
  // The GEMMs run one after the other on one stream: they can share their partials' memory.
  return std::max(input_partials, weight_partials) + bias_partials;
}

void conv2d_blocked_forward(const float* input, const float* weight, const float* bias, float* output,
                            const cpu::Conv2dShape& shape, ops::Activation activation, const std::int32_t* tables,
                            float* scratch, cudaStream_t stream) {
  const Sizes z = sizes_of(shape);
  const TableLayout layout = layout_of(shape);
  Conv2dForward problem{z.C_out, z.N * z.OH * z.OW, z.K, 1, z.H, z.W, z.OH * z.OW, z.C_in * z.H * z.W, z.C_out,
                        input, weight, bias, output, tables + layout.input_taps, tables + layout.output_pixels,
                        activation};
  gemm_blocked(problem, forward_plan(z), scratch, stream);
}

void conv2d_blocked_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                             float* grad_weight, float* grad_bias, const cpu::Conv2dShape& shape,
                             const std::int32_t* tables, float* scratch, cudaStream_t stream) {
  const Sizes z = sizes_of(shape);
  const TableLayout layout = layout_of(shape);
  const int stride = static_cast<int>(shape.stride);
  if (grad_input != nullptr) {
    const GemmPlan plan = grad_input_plan(z);
    if (stride == 1) {
      Conv2dGradInput<true> problem{z.C_in, z.N * z.H * z.W, z.C_out * z.taps, 1, z.OH, z.OW, stride, z.taps,
                                    z.H * z.W, z.C_out * z.OH * z.OW, z.C_in, grad_output, weight, grad_input,
                                    tables + layout.output_taps, tables + layout.input_pixels};
      gemm_blocked(problem, plan, scratch, stream);
    } else {
      Conv2dGradInput<false> problem{z.C_in, z.N * z.H * z.W, z.C_out * z.taps, 1, z.OH, z.OW, stride, z.taps,
                                     z.H * z.W, z.C_out * z.OH * z.OW, z.C_in, grad_output, weight, grad_input,
                                     tables + layout.output_taps, tables + layout.input_pixels};
      gemm_blocked(problem, plan, scratch, stream);
    }
  }
  Conv2dGradWeight problem{z.C_out, z.K, z.OH * z.OW, z.N, z.H, z.W, z.C_in * z.H * z.W, z.C_out, grad_output, input,
                           grad_weight, tables + layout.input_taps, tables + layout.output_pixels};
  const GemmPlan weight_plan = grad_weight_plan(z);
  gemm_blocked(problem, weight_plan, scratch, stream);

  if (grad_bias == nullptr || z.N == 0) return;
  const std::int64_t input_partials =
      grad_input ? gemm_partials_size(grad_input_plan(z), z.C_in, z.N * z.H * z.W) : 0;
  float* bias_partials = scratch + std::max(input_partials, gemm_partials_size(weight_plan, z.C_out, z.K));
  const ChannelChunks chunks = plan_channel_chunks(z.N, z.C_out, z.OH * z.OW);
  const std::int64_t values = std::int64_t{z.N} * z.C_out * z.OH * z.OW;
  launch(channel_partial_sums_kernel,
         {dim3(chunks.chunks, z.C_out), kChannelThreads, 0, stream, elements(values)}, grad_output, bias_partials,
         z.N, z.C_out, z.OH * z.OW, chunks);
  launch(add_channel_partials_kernel,
         {blocks_for(z.C_out, kChannelThreads), kChannelThreads, 0, stream, elements(z.C_out * chunks.chunks)},
         static_cast<const float*>(bias_partials), grad_bias, z.C_out, chunks.chunks);
}

}  // namespace minidl::cuda
