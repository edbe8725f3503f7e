// Specification of max_pool2d: values and indices, ties and NaN, gradients,
// f32 against f64, and argument checks.
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "gradcheck.h"
#include "minidl/kernels/max_pool2d.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

struct Pooled {
  Tensor output;
  Tensor indices;
};

// max_pool2d_forward into new output and indices tensors.
Pooled max_pool2d(const Tensor& input, ops::MaxPool2dParams params) {
  Shape shape = ops::max_pool2d_output_shape(input.shape(), params);
  Pooled pooled{Tensor::empty(shape, input.dtype()), Tensor::empty(shape, DType::i32)};
  ops::max_pool2d_forward(input, pooled.output, pooled.indices, params);
  return pooled;
}

// max_pool2d_backward into a new grad_input tensor of the input's shape.
Tensor max_pool2d_backward(const Tensor& grad_output, const Tensor& indices, const Shape& input_shape,
                           ops::MaxPool2dParams params) {
  Tensor grad_input = Tensor::empty(input_shape, grad_output.dtype());
  ops::max_pool2d_backward(grad_output, indices, grad_input, params);
  return grad_input;
}

// The values -1 + 2i/count for i < count, in random order (Fisher-Yates). They are
// 2/count apart, so no window has a tie and no finite-difference step (1e-6) can
// change which element is a window's maximum.
Tensor distinct_values(const Shape& shape, Generator& generator, DType dtype = DType::f64) {
  std::int64_t count = shape.numel();
  std::vector<double> values;
  for (std::int64_t i = 0; i < count; ++i) values.push_back(-1.0 + 2.0 * static_cast<double>(i) / count);
  for (std::int64_t i = count - 1; i > 0; --i) std::swap(values[i], values[generator.next_below(i + 1)]);
  if (dtype == DType::f64) return Tensor::from_vector(shape, values);
  return Tensor::from_vector(shape, std::vector<float>(values.begin(), values.end()));
}

struct MaxPool2dCase {
  Shape input;
  ops::MaxPool2dParams params;
};

// Random shapes for the gradient and precision checks.
const MaxPool2dCase kCases[] = {
    {{1, 1, 4, 4}, {.kernel_size = 2, .stride = 2}},  // batch 1, the windows tile the input
    {{2, 3, 5, 7}, {.kernel_size = 2, .stride = 2}},  // odd sizes: the last row and column are not read
    {{1, 2, 6, 5}, {.kernel_size = 3, .stride = 2}},  // overlapping windows
    {{3, 1, 5, 4}, {.kernel_size = 2, .stride = 1}},  // overlapping windows, stride 1
    {{2, 2, 3, 3}, {.kernel_size = 3, .stride = 3}},  // one window covers the whole plane
};

}  // namespace

TEST_CASE("max_pool2d takes the maximum of each window and records where it was") {
  // Channel 1 is channel 0 negated.
  Tensor input = Tensor::from_vector<float>({1, 2, 4, 4}, { 1,  5,  2,  0,
                                                            3,  4,  8,  6,
                                                           -1, -2,  0,  7,
                                                           -3, -4,  9,  1,
                                                           /* channel 1 */
                                                           -1, -5, -2,  0,
                                                           -3, -4, -8, -6,
                                                            1,  2,  0, -7,
                                                            3,  4, -9, -1});
  Pooled pooled = max_pool2d(input, {.kernel_size = 2, .stride = 2});
  REQUIRE(pooled.output.shape() == Shape{1, 2, 2, 2});
  REQUIRE(pooled.output.to_vector<float>() == std::vector<float>{5, 8, -1, 9, /* channel 1 */ -1, 0, 4, 0});
  // Indices are h * W + w within each channel's plane.
  REQUIRE(pooled.indices.to_vector<std::int32_t>() ==
          std::vector<std::int32_t>{1, 6, 8, 14, /* channel 1 */ 0, 3, 13, 10});
}

TEST_CASE("max_pool2d picks the first maximum on ties and lets NaN win") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor input = Tensor::from_vector<float>({1, 1, 2, 4}, {2, 2, 1, nan,
                                                           2, 1, 3, 0});
  Pooled pooled = max_pool2d(input, {.kernel_size = 2, .stride = 2});
  std::vector<float> output = pooled.output.to_vector<float>();
  REQUIRE(output[0] == 2.0f);
  REQUIRE(std::isnan(output[1]));
  // The 3 after the NaN does not replace it.
  REQUIRE(pooled.indices.to_vector<std::int32_t>() == std::vector<std::int32_t>{0, 3});
}

TEST_CASE("max_pool2d backward routes the gradient to the first maximum") {
  Tensor input = Tensor::from_vector<float>({1, 1, 2, 4}, {3, 3, 0, 1,
                                                           3, 0, 1, 1});
  Pooled pooled = max_pool2d(input, {.kernel_size = 2, .stride = 2});
  Tensor grad_output = Tensor::from_vector<float>({1, 1, 1, 2}, {10, 20});
  Tensor grad_input = Tensor::full({1, 1, 2, 4}, 7.0);  // overwritten, not added to
  ops::max_pool2d_backward(grad_output, pooled.indices, grad_input, {.kernel_size = 2, .stride = 2});
  REQUIRE(grad_input.to_vector<float>() == std::vector<float>{10, 0, 0, 20,
                                                              0, 0, 0, 0});
}

TEST_CASE("max_pool2d backward adds the gradients of overlapping windows") {
  Tensor input = Tensor::from_vector<float>({1, 1, 3, 3}, {1, 2, 1,
                                                           2, 9, 2,
                                                           1, 2, 1});
  ops::MaxPool2dParams params{.kernel_size = 2, .stride = 1};
  Pooled pooled = max_pool2d(input, params);
  REQUIRE(pooled.output.to_vector<float>() == std::vector<float>{9, 9, 9, 9});
  REQUIRE(pooled.indices.to_vector<std::int32_t>() == std::vector<std::int32_t>{4, 4, 4, 4});
  Tensor grad_output = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor grad_input = max_pool2d_backward(grad_output, pooled.indices, input.shape(), params);
  REQUIRE(grad_input.to_vector<float>() == std::vector<float>{0, 0, 0,
                                                              0, 10, 0,
                                                              0, 0, 0});
}

TEST_CASE("max_pool2d backward matches finite differences") {
  // Away from ties max-pooling is linear near x (it copies input elements), so central
  // differences have no truncation error; only rounding is left, about 1e-16 * |L| / eps,
  // below 1e-9 here.
  constexpr double kRtol = 1e-6, kAtol = 1e-7;
  Generator generator(31);
  for (const MaxPool2dCase& c : kCases) {
    INFO("input " << c.input.str() << " kernel_size " << c.params.kernel_size << " stride " << c.params.stride);
    Tensor input = distinct_values(c.input, generator);
    Pooled pooled = max_pool2d(input, c.params);
    Tensor grad_output = random_tensor(pooled.output.shape(), generator);  // R
    Tensor grad_input = max_pool2d_backward(grad_output, pooled.indices, c.input, c.params);
    auto loss = [&] { return dot(max_pool2d(input, c.params).output, grad_output); };
    require_close(grad_input, numerical_gradient(input, loss), kRtol, kAtol, "grad_input");
  }
}

TEST_CASE("max_pool2d in f32 agrees with f64") {
  // The forward only copies values, so both precisions agree exactly. grad_input adds
  // at most 4 values below 1 (where windows overlap): f32 rounding stays below 1e-6.
  constexpr double kRtol = 1e-6, kAtol = 1e-6;
  Generator generator(32);
  for (const MaxPool2dCase& c : kCases) {
    INFO("input " << c.input.str() << " kernel_size " << c.params.kernel_size << " stride " << c.params.stride);
    Tensor input = distinct_values(c.input, generator, DType::f32);
    Pooled pooled = max_pool2d(input, c.params);
    Pooled pooled_64 = max_pool2d(input.to(DType::f64), c.params);
    require_close(pooled.output, pooled_64.output, 0.0, 0.0, "output");
    require_close(pooled.indices, pooled_64.indices, 0.0, 0.0, "indices");

    Tensor grad_output = random_tensor(pooled.output.shape(), generator, DType::f32);
    require_close(max_pool2d_backward(grad_output, pooled.indices, c.input, c.params),
                  max_pool2d_backward(grad_output.to(DType::f64), pooled.indices, c.input, c.params), kRtol, kAtol,
                  "grad_input");
  }
}

TEST_CASE("max_pool2d refuses a bad input or window") {
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_output_shape({3, 4, 4}, {}),
                        "max_pool2d: input must have 4 dimensions, got shape (3, 4, 4)");
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_output_shape({1, 1, 2, 5}, {.kernel_size = 3, .stride = 1}),
                        "max_pool2d: kernel 3x3 does not fit the input 2x5");
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_output_shape({1, 1, 4, 4}, {.kernel_size = 2, .stride = 0}),
                        "max_pool2d: stride must be at least 1, got 0");
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_output_shape({1, 1, 4, 4}, {.kernel_size = 0, .stride = 1}),
                        "max_pool2d: kernel_size must be at least 1, got 0");
  REQUIRE(ops::max_pool2d_output_shape({10, 16, 32, 32}, {.kernel_size = 2, .stride = 2}) == Shape{10, 16, 16, 16});
  REQUIRE(ops::max_pool2d_output_shape({1, 1, 7, 5}, {.kernel_size = 3, .stride = 2}) == Shape{1, 1, 3, 2});
}

TEST_CASE("max_pool2d refuses outputs and indices of the wrong shape or dtype") {
  Tensor input = Tensor::zeros({1, 1, 4, 4});
  Tensor output = Tensor::zeros({1, 1, 2, 2});
  Tensor indices = Tensor::zeros({1, 1, 2, 2}, DType::i32);
  Tensor big_output = Tensor::zeros({1, 1, 4, 4});
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_forward(input, big_output, indices, {}),
                        "max_pool2d: output must have shape (1, 1, 2, 2), got (1, 1, 4, 4)");
  Tensor output_64 = Tensor::zeros({1, 1, 2, 2}, DType::f64);
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_forward(input, output_64, indices, {}),
                        "max_pool2d: output must have dtype f32, got f64");
  Tensor indices_64 = Tensor::zeros({1, 1, 2, 2}, DType::i64);
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_forward(input, output, indices_64, {}),
                        "max_pool2d: indices must have dtype i32, got i64");
  Tensor flat_indices = Tensor::zeros({4}, DType::i32);
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_forward(input, output, flat_indices, {}),
                        "max_pool2d: indices must have shape (1, 1, 2, 2), got (4)");

  Tensor grad_input = Tensor::zeros({1, 1, 4, 4});
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_backward(big_output, indices, grad_input, {}),
                        "max_pool2d: grad_output must have shape (1, 1, 2, 2), got (1, 1, 4, 4)");
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_backward(output, indices_64, grad_input, {}),
                        "max_pool2d: indices must have dtype i32, got i64");
  Tensor flat_grad_input = Tensor::zeros({16});
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_backward(output, indices, flat_grad_input, {}),
                        "max_pool2d: grad_input must have 4 dimensions, got shape (16)");
  Tensor bad_indices = Tensor::from_vector<std::int32_t>({1, 1, 2, 2}, {0, 1, 16, 2});
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_backward(output, bad_indices, grad_input, {}),
                        "max_pool2d: index 16 is outside the 4x4 input plane");
}

TEST_CASE("max_pool2d refuses tensors on different devices") {
  if (!cuda_is_available()) {
    REQUIRE_THROWS_MINIDL(Tensor::zeros({1, 1, 4, 4}, DType::f32, Device::cuda()), cuda_unavailable_reason());
    return;
  }
  Tensor input = Tensor::zeros({1, 1, 4, 4}, DType::f32, Device::cuda());
  Tensor output = Tensor::zeros({1, 1, 2, 2}, DType::f32, Device::cuda());
  Tensor indices = Tensor::zeros({1, 1, 2, 2}, DType::i32);
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_forward(input, output, indices, {}),
                        "max_pool2d: indices must be on cuda:0, got cpu");
}
