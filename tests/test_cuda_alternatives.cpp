// The alternative CUDA implementations against the CPU reference:
//   - im2col and col2im (kernels/cuda/im2col.h) against plain CPU loops;
//   - cuBLAS linear and conv2d (kernels/cuda/cublas_ops.h), also in the emulated
//     flavour, where cuBLAS is a host GEMM with cuBLAS's conventions;
//   - cuDNN conv2d and batch_norm2d (kernels/cudnn/), on a real GPU with cuDNN only;
//   - on a real GPU, minidl's hand-written kernels against cuBLAS and cuDNN on the
//     study's shapes at batch 10, all in true fp32 (no TF32 on any side).
// References run in double on the same f32 inputs. Outputs start as NaN, so an
// element that is never written fails the comparison.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "minidl/core/tensor.h"
#include "gradcheck.h"
#include "minidl/kernels/cpu/batch_norm2d.h"
#include "minidl/kernels/cpu/conv2d.h"
#include "minidl/kernels/cpu/linear.h"
#include "minidl/kernels/cuda/cublas_ops.h"
#include "minidl/kernels/cuda/im2col.h"
#include "test_support.h"
#if defined(MINIDL_WITH_CUDNN)
#include "minidl/kernels/cudnn/batch_norm2d.h"
#include "minidl/kernels/cudnn/conv2d.h"
#endif
#if !defined(MINIDL_CUDA_EMULATOR)
#include "minidl/kernels/cuda/batch_norm2d.h"
#include "minidl/kernels/cuda/conv2d.h"
#include "minidl/kernels/cuda/linear.h"
#endif

using namespace minidl;
using testing::require_close;

namespace {

Tensor random_f32(const Shape& shape, std::uint64_t seed, double low = -1.0, double high = 1.0) {
  Generator generator(seed);
  return testing::random_tensor(shape, generator, DType::f32, low, high);
}

Tensor on_cuda(const Tensor& host) { return host.to(Device::cuda()); }
Tensor nan_on_cuda(const Shape& shape) { return Tensor::full(shape, std::nan(""), DType::f32, Device::cuda()); }
Tensor as_f64(const Tensor& t) { return t.to(DType::f64); }

cpu::Conv2dShape conv_shape(std::int64_t N, std::int64_t C_in, std::int64_t H, std::int64_t W, std::int64_t C_out,
                            std::int64_t KH, std::int64_t KW, std::int64_t stride, std::int64_t padding) {
  cpu::Conv2dShape s;
  s.batch = N;
  s.in_channels = C_in;
  s.height = H;
  s.width = W;
  s.out_channels = C_out;
  s.kernel_height = KH;
  s.kernel_width = KW;
  s.stride = stride;
  s.padding = padding;
  s.out_height = (H + 2 * padding - KH) / stride + 1;
  s.out_width = (W + 2 * padding - KW) / stride + 1;
  return s;
}

Shape input_shape(const cpu::Conv2dShape& s) { return {s.batch, s.in_channels, s.height, s.width}; }
Shape weight_shape(const cpu::Conv2dShape& s) { return {s.out_channels, s.in_channels, s.kernel_height, s.kernel_width}; }
Shape output_shape(const cpu::Conv2dShape& s) { return {s.batch, s.out_channels, s.out_height, s.out_width}; }

// Small shapes for the emulator: padding, a stride of 2, a kernel that is not square.
std::vector<cpu::Conv2dShape> small_conv_shapes() {
  return {conv_shape(2, 3, 6, 5, 4, 3, 3, 1, 1), conv_shape(3, 2, 7, 6, 3, 2, 3, 2, 0),
          conv_shape(1, 2, 4, 4, 2, 1, 1, 1, 0)};
}

std::string describe(const cpu::Conv2dShape& s) {
  return fmt::format("input ({}, {}, {}, {}) weight ({}, {}, {}, {}) stride {} padding {}", s.batch, s.in_channels,
                     s.height, s.width, s.out_channels, s.in_channels, s.kernel_height, s.kernel_width, s.stride,
                     s.padding);
}

// Calls tap(column, pixel) for every entry of the columns of kernels/cuda/im2col.h
// (batch x K x P) that reads a pixel inside the image: columns[column] = input[pixel].
template <typename Tap>
void for_each_tap(const cpu::Conv2dShape& s, Tap tap) {
  const std::int64_t K = s.in_channels * s.kernel_height * s.kernel_width, P = s.out_height * s.out_width;
  for (std::int64_t n = 0; n < s.batch; ++n)
    for (std::int64_t c = 0; c < s.in_channels; ++c)
      for (std::int64_t kh = 0; kh < s.kernel_height; ++kh)
        for (std::int64_t kw = 0; kw < s.kernel_width; ++kw)
          for (std::int64_t oh = 0; oh < s.out_height; ++oh)
            for (std::int64_t ow = 0; ow < s.out_width; ++ow) {
              std::int64_t h = oh * s.stride - s.padding + kh, w = ow * s.stride - s.padding + kw;
              std::int64_t k = (c * s.kernel_height + kh) * s.kernel_width + kw;
              if (h >= 0 && h < s.height && w >= 0 && w < s.width)
                tap((n * K + k) * P + oh * s.out_width + ow, ((n * s.in_channels + c) * s.height + h) * s.width + w);
            }
}

// The columns, computed with plain loops.
Tensor cpu_im2col(const Tensor& input, const cpu::Conv2dShape& s) {
  const std::int64_t K = s.in_channels * s.kernel_height * s.kernel_width, P = s.out_height * s.out_width;
  Tensor columns = Tensor::zeros({s.batch, K, P}, DType::f64);
  const float* x = input.data<float>();
  double* col = columns.data<double>();
  for_each_tap(s, [&](std::int64_t column, std::int64_t pixel) { col[column] = x[pixel]; });
  return columns;
}

// col2im as the adjoint of im2col: each column element is added to the pixel it was copied from.
Tensor cpu_col2im(const Tensor& columns, const cpu::Conv2dShape& s) {
  Tensor image = Tensor::zeros(input_shape(s), DType::f64);
  const float* col = columns.data<float>();
  double* x = image.data<double>();
  for_each_tap(s, [&](std::int64_t column, std::int64_t pixel) { x[pixel] += col[column]; });
  return image;
}

// One conv2d implementation on device pointers, as kernels/cuda/cublas_ops.h and kernels/cudnn/conv2d.h have it.
using Conv2dForward = void (*)(const float*, const float*, const float*, float*, const cpu::Conv2dShape&,
                               cudaStream_t);
using Conv2dBackward = void (*)(const float*, const float*, const float*, float*, float*, float*,
                                const cpu::Conv2dShape&, cudaStream_t);

// Forward, with and without bias, against the CPU reference in double.
void check_conv2d_forward(Conv2dForward forward, const cpu::Conv2dShape& s, double tolerance) {
  INFO(describe(s));
  Tensor input = random_f32(input_shape(s), 11), weight = random_f32(weight_shape(s), 12),
         bias = random_f32({s.out_channels}, 13);
  for (bool with_bias : {true, false}) {
    INFO("with bias: " << with_bias);
    Tensor expected = Tensor::empty(output_shape(s), DType::f64);
    Tensor input64 = as_f64(input), weight64 = as_f64(weight), bias64 = as_f64(bias);
    cpu::conv2d_forward(input64.data<double>(), weight64.data<double>(), with_bias ? bias64.data<double>() : nullptr,
                        expected.data<double>(), s);
    Tensor input_device = on_cuda(input), weight_device = on_cuda(weight), bias_device = on_cuda(bias);
    Tensor output = nan_on_cuda(output_shape(s));
    forward(input_device.data<float>(), weight_device.data<float>(), with_bias ? bias_device.data<float>() : nullptr,
            output.data<float>(), s, nullptr);
    require_close(output, expected, tolerance, tolerance, "output");
  }
}

// Backward: grad_input overwritten, grad_weight and grad_bias accumulated onto random
// values; then again with grad_input and grad_bias skipped.
void check_conv2d_backward(Conv2dBackward backward, const cpu::Conv2dShape& s, double tolerance) {
  INFO(describe(s));
  Tensor input = random_f32(input_shape(s), 21), weight = random_f32(weight_shape(s), 22);
  Tensor grad_output = random_f32(output_shape(s), 23);
  Tensor grad_weight_start = random_f32(weight_shape(s), 24), grad_bias_start = random_f32({s.out_channels}, 25);

  Tensor expected_grad_input = Tensor::empty(input_shape(s), DType::f64);
  Tensor expected_grad_weight = as_f64(grad_weight_start), expected_grad_bias = as_f64(grad_bias_start);
  Tensor input64 = as_f64(input), weight64 = as_f64(weight), grad_output64 = as_f64(grad_output);
  cpu::conv2d_backward(grad_output64.data<double>(), input64.data<double>(), weight64.data<double>(),
                       expected_grad_input.data<double>(), expected_grad_weight.data<double>(),
                       expected_grad_bias.data<double>(), s);

  Tensor input_device = on_cuda(input), weight_device = on_cuda(weight), grad_output_device = on_cuda(grad_output);
  Tensor grad_input = nan_on_cuda(input_shape(s));
  Tensor grad_weight = on_cuda(grad_weight_start), grad_bias = on_cuda(grad_bias_start);
  backward(grad_output_device.data<float>(), input_device.data<float>(), weight_device.data<float>(),
           grad_input.data<float>(), grad_weight.data<float>(), grad_bias.data<float>(), s, nullptr);
  require_close(grad_input, expected_grad_input, tolerance, tolerance, "grad_input");
  require_close(grad_weight, expected_grad_weight, tolerance, tolerance, "grad_weight");
  require_close(grad_bias, expected_grad_bias, tolerance, tolerance, "grad_bias");

  Tensor grad_weight_only = on_cuda(grad_weight_start);
  backward(grad_output_device.data<float>(), input_device.data<float>(), weight_device.data<float>(), nullptr,
           grad_weight_only.data<float>(), nullptr, s, nullptr);
  require_close(grad_weight_only, expected_grad_weight, tolerance, tolerance, "grad_weight alone");
}

// The linear of kernels/cuda/cublas_ops.h on random inputs, against the CPU reference in double.
void check_cublas_linear(std::int64_t N, std::int64_t in_features, std::int64_t out_features) {
  INFO("N " << N << " in_features " << in_features << " out_features " << out_features);
  Tensor input = random_f32({N, in_features}, 31), weight = random_f32({out_features, in_features}, 32);
  Tensor bias = random_f32({out_features}, 33), grad_output = random_f32({N, out_features}, 34);
  Tensor grad_weight_start = random_f32({out_features, in_features}, 35);
  Tensor grad_bias_start = random_f32({out_features}, 36);
  Tensor input64 = as_f64(input), weight64 = as_f64(weight), bias64 = as_f64(bias);
  Tensor grad_output64 = as_f64(grad_output);
  Tensor input_device = on_cuda(input), weight_device = on_cuda(weight), bias_device = on_cuda(bias);
  Tensor grad_output_device = on_cuda(grad_output);
  const double tolerance = 1e-5;

  for (bool with_bias : {true, false}) {
    INFO("with bias: " << with_bias);
    Tensor expected = Tensor::empty({N, out_features}, DType::f64);
    cpu::linear_forward(input64.data<double>(), weight64.data<double>(), with_bias ? bias64.data<double>() : nullptr,
                        expected.data<double>(), N, in_features, out_features);
    Tensor output = nan_on_cuda({N, out_features});
    cublas::linear_forward(input_device.data<float>(), weight_device.data<float>(),
                           with_bias ? bias_device.data<float>() : nullptr, output.data<float>(), N, in_features,
                           out_features);
    require_close(output, expected, tolerance, tolerance, "output");
  }

  Tensor expected_grad_input = Tensor::empty({N, in_features}, DType::f64);
  Tensor expected_grad_weight = as_f64(grad_weight_start), expected_grad_bias = as_f64(grad_bias_start);
  cpu::linear_backward(grad_output64.data<double>(), input64.data<double>(), weight64.data<double>(),
                       expected_grad_input.data<double>(), expected_grad_weight.data<double>(),
                       expected_grad_bias.data<double>(), N, in_features, out_features);
  Tensor grad_input = nan_on_cuda({N, in_features});
  Tensor grad_weight = on_cuda(grad_weight_start), grad_bias = on_cuda(grad_bias_start);
  cublas::linear_backward(grad_output_device.data<float>(), input_device.data<float>(), weight_device.data<float>(),
                          grad_input.data<float>(), grad_weight.data<float>(), grad_bias.data<float>(), N,
                          in_features, out_features);
  require_close(grad_input, expected_grad_input, tolerance, tolerance, "grad_input");
  require_close(grad_weight, expected_grad_weight, tolerance, tolerance, "grad_weight");
  require_close(grad_bias, expected_grad_bias, tolerance, tolerance, "grad_bias");

  Tensor grad_weight_only = on_cuda(grad_weight_start);
  cublas::linear_backward(grad_output_device.data<float>(), input_device.data<float>(), weight_device.data<float>(),
                          nullptr, grad_weight_only.data<float>(), nullptr, N, in_features, out_features);
  require_close(grad_weight_only, expected_grad_weight, tolerance, tolerance, "grad_weight alone");
}

}  // namespace

TEST_CASE("cuda im2col matches a CPU im2col") {
  if (testing::skip_unless_cuda()) return;
  for (const cpu::Conv2dShape& s : small_conv_shapes()) {
    INFO(describe(s));
    Tensor input = random_f32(input_shape(s), 1);
    Tensor expected = cpu_im2col(input, s);
    Tensor input_device = on_cuda(input), columns = nan_on_cuda(expected.shape());
    REQUIRE(cuda::im2col_size(s) == expected.numel());
    cuda::im2col(input_device.data<float>(), columns.data<float>(), s);
    require_close(columns, expected, 0.0, 0.0, "columns");
  }
}

TEST_CASE("cuda col2im adds up the column elements copied from each pixel") {
  if (testing::skip_unless_cuda()) return;
  for (const cpu::Conv2dShape& s : small_conv_shapes()) {
    INFO(describe(s));
    Tensor columns = random_f32({s.batch, s.in_channels * s.kernel_height * s.kernel_width, s.out_height * s.out_width}, 2);
    Tensor expected = cpu_col2im(columns, s);
    Tensor columns_device = on_cuda(columns), image = nan_on_cuda(input_shape(s));
    cuda::col2im(columns_device.data<float>(), image.data<float>(), s);
    require_close(image, expected, 1e-6, 1e-6, "image");
  }
}

TEST_CASE("cublas linear forward and backward match the CPU reference") {
  if (testing::skip_unless_cuda()) return;
  check_cublas_linear(5, 7, 3);
  check_cublas_linear(1, 4, 6);
}

TEST_CASE("cublas conv2d forward matches the CPU reference") {
  if (testing::skip_unless_cuda()) return;
  for (const cpu::Conv2dShape& s : small_conv_shapes()) check_conv2d_forward(cublas::conv2d_forward, s, 1e-5);
}

TEST_CASE("cublas conv2d backward matches the CPU reference") {
  if (testing::skip_unless_cuda()) return;
  for (const cpu::Conv2dShape& s : small_conv_shapes()) check_conv2d_backward(cublas::conv2d_backward, s, 1e-5);
}

#if defined(MINIDL_WITH_CUDNN)

// cuDNN may pick Winograd or FFT algorithms, exact in exact arithmetic but rounding
// differently from a direct sum: a looser tolerance than cuBLAS's.
constexpr double kCudnnTolerance = 1e-4;

TEST_CASE("cudnn conv2d forward matches the CPU reference") {
  if (testing::skip_unless_cuda()) return;
  for (const cpu::Conv2dShape& s : small_conv_shapes()) check_conv2d_forward(cudnn::conv2d_forward, s, kCudnnTolerance);
  check_conv2d_forward(cudnn::conv2d_forward, conv_shape(4, 3, 32, 32, 32, 3, 3, 1, 1), kCudnnTolerance);
}

TEST_CASE("cudnn conv2d backward matches the CPU reference") {
  if (testing::skip_unless_cuda()) return;
  for (const cpu::Conv2dShape& s : small_conv_shapes())
    check_conv2d_backward(cudnn::conv2d_backward, s, kCudnnTolerance);
  check_conv2d_backward(cudnn::conv2d_backward, conv_shape(4, 32, 16, 16, 32, 3, 3, 1, 1), kCudnnTolerance);
}

TEST_CASE("cudnn batch_norm2d matches the CPU reference in training and evaluation") {
  if (testing::skip_unless_cuda()) return;
  const std::int64_t N = 4, C = 3, H = 5, W = 6, HW = H * W;
  const ops::BatchNormParams params{1e-5, 0.1};
  Tensor input = random_f32({N, C, H, W}, 41, -2.0, 3.0), weight = random_f32({C}, 42, 0.5, 1.5);
  Tensor bias = random_f32({C}, 43), running_mean = random_f32({C}, 44), running_var = random_f32({C}, 45, 0.5, 2.0);
  Tensor grad_output = random_f32({N, C, H, W}, 46);
  Tensor grad_weight_start = random_f32({C}, 47), grad_bias_start = random_f32({C}, 48);
  const double tolerance = 1e-5;

  // Training forward: output, saved statistics and the running statistics' update.
  Tensor input64 = as_f64(input), weight64 = as_f64(weight), bias64 = as_f64(bias);
  Tensor expected_mean = as_f64(running_mean), expected_var = as_f64(running_var);
  Tensor expected_output = Tensor::empty({N, C, H, W}, DType::f64);
  Tensor expected_save_mean = Tensor::empty({C}, DType::f64), expected_save_invstd = Tensor::empty({C}, DType::f64);
  cpu::batch_norm2d_forward_train(input64.data<double>(), weight64.data<double>(), bias64.data<double>(),
                                  expected_mean.data<double>(), expected_var.data<double>(),
                                  expected_output.data<double>(), expected_save_mean.data<double>(),
                                  expected_save_invstd.data<double>(), N, C, HW, params);
  Tensor input_device = on_cuda(input), weight_device = on_cuda(weight), bias_device = on_cuda(bias);
  Tensor mean_device = on_cuda(running_mean), var_device = on_cuda(running_var);
  Tensor output = nan_on_cuda({N, C, H, W}), save_mean = nan_on_cuda({C}), save_invstd = nan_on_cuda({C});
  cudnn::batch_norm2d_forward_train(input_device.data<float>(), weight_device.data<float>(), bias_device.data<float>(),
                                    mean_device.data<float>(), var_device.data<float>(), output.data<float>(),
                                    save_mean.data<float>(), save_invstd.data<float>(), N, C, HW, params);
  require_close(output, expected_output, tolerance, tolerance, "output");
  require_close(save_mean, expected_save_mean, tolerance, tolerance, "save_mean");
  require_close(save_invstd, expected_save_invstd, tolerance, tolerance, "save_invstd");
  require_close(mean_device, expected_mean, tolerance, tolerance, "running_mean");
  require_close(var_device, expected_var, tolerance, tolerance, "running_var (unbiased)");

  // Training backward, from the saved statistics.
  Tensor expected_grad_input = Tensor::empty({N, C, H, W}, DType::f64);
  Tensor expected_grad_weight = as_f64(grad_weight_start), expected_grad_bias = as_f64(grad_bias_start);
  Tensor grad_output64 = as_f64(grad_output);
  cpu::batch_norm2d_backward_train(grad_output64.data<double>(), input64.data<double>(), weight64.data<double>(),
                                   expected_save_mean.data<double>(), expected_save_invstd.data<double>(),
                                   expected_grad_input.data<double>(), expected_grad_weight.data<double>(),
                                   expected_grad_bias.data<double>(), N, C, HW);
  Tensor grad_output_device = on_cuda(grad_output), grad_input = nan_on_cuda({N, C, H, W});
  Tensor grad_weight = on_cuda(grad_weight_start), grad_bias = on_cuda(grad_bias_start);
  cudnn::batch_norm2d_backward_train(grad_output_device.data<float>(), input_device.data<float>(),
                                     weight_device.data<float>(), save_mean.data<float>(), save_invstd.data<float>(),
                                     grad_input.data<float>(), grad_weight.data<float>(), grad_bias.data<float>(), N, C,
                                     HW);
  require_close(grad_input, expected_grad_input, tolerance, tolerance, "grad_input");
  require_close(grad_weight, expected_grad_weight, tolerance, tolerance, "grad_weight");
  require_close(grad_bias, expected_grad_bias, tolerance, tolerance, "grad_bias");

  // Evaluation forward, with the running statistics as given.
  Tensor running_mean64 = as_f64(running_mean), running_var64 = as_f64(running_var);
  Tensor expected_eval = Tensor::empty({N, C, H, W}, DType::f64);
  cpu::batch_norm2d_forward_eval(input64.data<double>(), weight64.data<double>(), bias64.data<double>(),
                                 running_mean64.data<double>(), running_var64.data<double>(),
                                 expected_eval.data<double>(), N, C, HW, params);
  Tensor running_mean_device = on_cuda(running_mean), running_var_device = on_cuda(running_var);
  Tensor eval_output = nan_on_cuda({N, C, H, W});
  cudnn::batch_norm2d_forward_eval(input_device.data<float>(), weight_device.data<float>(), bias_device.data<float>(),
                                   running_mean_device.data<float>(), running_var_device.data<float>(),
                                   eval_output.data<float>(), N, C, HW, params);
  require_close(eval_output, expected_eval, tolerance, tolerance, "evaluation output");
}

#endif  // MINIDL_WITH_CUDNN

#if !defined(MINIDL_CUDA_EMULATOR)

// The study's convolutions at batch 10: 3->32 on 32x32, 32->32 on 16x16 and on 8x8.
std::vector<cpu::Conv2dShape> study_conv_shapes() {
  return {conv_shape(10, 3, 32, 32, 32, 3, 3, 1, 1), conv_shape(10, 32, 16, 16, 32, 3, 3, 1, 1),
          conv_shape(10, 32, 8, 8, 32, 3, 3, 1, 1)};
}

// The hand-written kernels and an alternative, forward and backward on one shape,
// all results compared elementwise (both sides are fp32; they differ by rounding only).
void compare_conv2d(Conv2dForward forward, Conv2dBackward backward, const cpu::Conv2dShape& s, double tolerance) {
  INFO(describe(s));
  Tensor input = on_cuda(random_f32(input_shape(s), 51)), weight = on_cuda(random_f32(weight_shape(s), 52));
  Tensor bias = on_cuda(random_f32({s.out_channels}, 53)), grad_output = on_cuda(random_f32(output_shape(s), 54));
  struct Results {
    Tensor output, grad_input, grad_weight, grad_bias;
  };
  auto run = [&](Conv2dForward f, Conv2dBackward b) {
    Results r{nan_on_cuda(output_shape(s)), nan_on_cuda(input_shape(s)),
              Tensor::zeros(weight_shape(s), DType::f32, Device::cuda()),
              Tensor::zeros({s.out_channels}, DType::f32, Device::cuda())};
    f(input.data<float>(), weight.data<float>(), bias.data<float>(), r.output.data<float>(), s, nullptr);
    b(grad_output.data<float>(), input.data<float>(), weight.data<float>(), r.grad_input.data<float>(),
      r.grad_weight.data<float>(), r.grad_bias.data<float>(), s, nullptr);
    return r;
  };
  Results kernels = run(cuda::conv2d_forward, cuda::conv2d_backward), other = run(forward, backward);
  require_close(kernels.output, other.output, tolerance, tolerance, "output");
  require_close(kernels.grad_input, other.grad_input, tolerance, tolerance, "grad_input");
  // grad_weight sums N*OH*OW products: its magnitude and rounding grow with them.
  require_close(kernels.grad_weight, other.grad_weight, tolerance, 50 * tolerance, "grad_weight");
  require_close(kernels.grad_bias, other.grad_bias, tolerance, 50 * tolerance, "grad_bias");
}

TEST_CASE("hand-written conv2d kernels agree with cuBLAS on the study's shapes") {
  if (testing::skip_unless_cuda()) return;
  for (const cpu::Conv2dShape& s : study_conv_shapes())
    compare_conv2d(cublas::conv2d_forward, cublas::conv2d_backward, s, 1e-4);
}

TEST_CASE("hand-written linear kernels agree with cuBLAS on the study's shapes") {
  if (testing::skip_unless_cuda()) return;
  const std::int64_t N = 10;
  for (auto [in_features, out_features] : {std::pair<std::int64_t, std::int64_t>{512, 64}, {64, 10}}) {
    INFO("in_features " << in_features << " out_features " << out_features);
    Tensor input = on_cuda(random_f32({N, in_features}, 61)), weight = on_cuda(random_f32({out_features, in_features}, 62));
    Tensor bias = on_cuda(random_f32({out_features}, 63)), grad_output = on_cuda(random_f32({N, out_features}, 64));
    std::vector<Tensor> results;
    for (bool hand_written : {true, false}) {
      Tensor output = nan_on_cuda({N, out_features}), grad_input = nan_on_cuda({N, in_features});
      Tensor grad_weight = Tensor::zeros({out_features, in_features}, DType::f32, Device::cuda());
      Tensor grad_bias = Tensor::zeros({out_features}, DType::f32, Device::cuda());
      auto forward = hand_written ? cuda::linear_forward : cublas::linear_forward;
      auto backward = hand_written ? cuda::linear_backward : cublas::linear_backward;
      forward(input.data<float>(), weight.data<float>(), bias.data<float>(), output.data<float>(), N, in_features,
              out_features, nullptr);
      backward(grad_output.data<float>(), input.data<float>(), weight.data<float>(), grad_input.data<float>(),
               grad_weight.data<float>(), grad_bias.data<float>(), N, in_features, out_features, nullptr);
      for (Tensor* t : {&output, &grad_input, &grad_weight, &grad_bias}) results.push_back(*t);
    }
    const char* names[] = {"output", "grad_input", "grad_weight", "grad_bias"};
    for (int i = 0; i < 4; ++i) require_close(results[i], results[4 + i], 1e-4, 1e-4, names[i]);
  }
}

#if defined(MINIDL_WITH_CUDNN)

TEST_CASE("hand-written conv2d kernels agree with cuDNN on the study's shapes") {
  if (testing::skip_unless_cuda()) return;
  for (const cpu::Conv2dShape& s : study_conv_shapes())
    compare_conv2d(cudnn::conv2d_forward, cudnn::conv2d_backward, s, 1e-4);
}

TEST_CASE("hand-written batch_norm2d kernels agree with cuDNN on the study's shapes") {
  if (testing::skip_unless_cuda()) return;
  const std::int64_t N = 10, C = 32;
  const ops::BatchNormParams params{1e-5, 0.1};
  for (std::int64_t side : {32, 16, 8}) {
    INFO("input (" << N << ", " << C << ", " << side << ", " << side << ")");
    const std::int64_t HW = side * side;
    Tensor input = on_cuda(random_f32({N, C, side, side}, 71, -2.0, 3.0));
    Tensor weight = on_cuda(random_f32({C}, 72, 0.5, 1.5)), bias = on_cuda(random_f32({C}, 73));
    Tensor grad_output = on_cuda(random_f32({N, C, side, side}, 74));
    std::vector<Tensor> results;
    for (bool hand_written : {true, false}) {
      Tensor running_mean = Tensor::zeros({C}, DType::f32, Device::cuda());
      Tensor running_var = Tensor::full({C}, 1.0, DType::f32, Device::cuda());
      Tensor output = nan_on_cuda({N, C, side, side}), save_mean = nan_on_cuda({C}), save_invstd = nan_on_cuda({C});
      Tensor grad_input = nan_on_cuda({N, C, side, side});
      Tensor grad_weight = Tensor::zeros({C}, DType::f32, Device::cuda());
      Tensor grad_bias = Tensor::zeros({C}, DType::f32, Device::cuda());
      if (hand_written) {
        cuda::batch_norm2d_forward_train(input.data<float>(), weight.data<float>(), bias.data<float>(),
                                         running_mean.data<float>(), running_var.data<float>(), output.data<float>(),
                                         save_mean.data<float>(), save_invstd.data<float>(), N, C, HW,
                                         static_cast<float>(params.eps), static_cast<float>(params.momentum));
        cuda::batch_norm2d_backward_train(grad_output.data<float>(), input.data<float>(), weight.data<float>(),
                                          save_mean.data<float>(), save_invstd.data<float>(), grad_input.data<float>(),
                                          grad_weight.data<float>(), grad_bias.data<float>(), N, C, HW);
      } else {
        cudnn::batch_norm2d_forward_train(input.data<float>(), weight.data<float>(), bias.data<float>(),
                                          running_mean.data<float>(), running_var.data<float>(), output.data<float>(),
                                          save_mean.data<float>(), save_invstd.data<float>(), N, C, HW, params);
        cudnn::batch_norm2d_backward_train(grad_output.data<float>(), input.data<float>(), weight.data<float>(),
                                           save_mean.data<float>(), save_invstd.data<float>(),
                                           grad_input.data<float>(), grad_weight.data<float>(),
                                           grad_bias.data<float>(), N, C, HW);
      }
      for (Tensor* t : {&output, &save_mean, &save_invstd, &running_mean, &running_var, &grad_input, &grad_weight,
                        &grad_bias})
        results.push_back(*t);
    }
    const char* names[] = {"output",      "save_mean",  "save_invstd", "running_mean",
                           "running_var", "grad_input", "grad_weight", "grad_bias"};
    for (int i = 0; i < 8; ++i) require_close(results[i], results[8 + i], 1e-4, 1e-4, names[i]);
  }
}

#endif  // MINIDL_WITH_CUDNN
#endif  // !MINIDL_CUDA_EMULATOR
