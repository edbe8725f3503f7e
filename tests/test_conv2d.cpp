// Specification of conv2d: values, gradients, f32 against f64, and argument checks.
#include <vector>

#include "gradcheck.h"
#include "minidl/kernels/conv2d.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// conv2d_forward into a new output tensor.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, ops::Conv2dParams params) {
  Tensor output = Tensor::empty(ops::conv2d_output_shape(input.shape(), weight.shape(), params), input.dtype());
  ops::conv2d_forward(input, weight, bias, output, params);
  return output;
}

struct Conv2dCase {
  Shape input;
  Shape weight;
  ops::Conv2dParams params;
};

// Random shapes for the gradient and precision checks.
const Conv2dCase kCases[] = {
    {{1, 1, 5, 5}, {2, 1, 3, 3}, {.stride = 1, .padding = 0}},  // batch 1, one input channel
    {{2, 3, 5, 7}, {4, 3, 3, 3}, {.stride = 1, .padding = 1}},  // non-square input, same-size output
    {{3, 2, 6, 5}, {3, 2, 3, 2}, {.stride = 2, .padding = 1}},  // non-square kernel, stride 2
    {{1, 2, 7, 4}, {2, 2, 2, 3}, {.stride = 2, .padding = 0}},  // the stride leaves the last row and column unread
    {{2, 3, 2, 3}, {2, 3, 3, 3}, {.stride = 1, .padding = 1}},  // kernel taller than the image
};

}  // namespace

TEST_CASE("conv2d slides the kernel without flipping it and adds the bias") {
  Tensor input = Tensor::from_vector<float>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor weight = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor bias = Tensor::from_vector<float>({1}, {0.5f});
  Tensor output = conv2d(input, weight, bias, {});
  // Top left: 1*1 + 2*2 + 4*3 + 5*4 + 0.5.
  REQUIRE(output.shape() == Shape{1, 1, 2, 2});
  REQUIRE(output.to_vector<float>() == std::vector<float>{37.5f, 47.5f, 67.5f, 77.5f});
}

TEST_CASE("conv2d reads zeros in the padding and moves by the stride") {
  Tensor input = Tensor::from_vector<float>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor weight = Tensor::full({1, 1, 3, 3}, 1.0);
  Tensor output = conv2d(input, weight, Tensor(), {.stride = 2, .padding = 1});
  // Each 3x3 window, centred on a corner of the image, sums the 2x2 pixels that lie inside it.
  REQUIRE(output.shape() == Shape{1, 1, 2, 2});
  REQUIRE(output.to_vector<float>() == std::vector<float>{1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9});
}

TEST_CASE("conv2d sums over input channels and keeps batch items apart") {
  // Two images of two channels, each channel one row of two pixels.
  Tensor input = Tensor::from_vector<float>({2, 2, 1, 2}, {1, 2, 3, 4, /* image 1 */ 5, 6, 7, 8});
  // Output channel 0 is channel 0 + 10 * channel 1; output channel 1 is -channel 0.
  Tensor weight = Tensor::from_vector<float>({2, 2, 1, 1}, {1, 10, -1, 0});
  Tensor output = conv2d(input, weight, Tensor(), {});
  REQUIRE(output.shape() == Shape{2, 2, 1, 2});
  REQUIRE(output.to_vector<float>() == std::vector<float>{31, 42, -1, -2, /* image 1 */ 75, 86, -5, -6});
}

TEST_CASE("conv2d backward of a ones gradient counts how often each weight meets each input") {
  Tensor input = Tensor::from_vector<float>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor weight = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor grad_output = Tensor::full({1, 1, 2, 2}, 1.0);
  Tensor grad_input = Tensor::empty({1, 1, 3, 3});
  Tensor grad_weight = Tensor::zeros({1, 1, 2, 2});
  Tensor grad_bias = Tensor::zeros({1});
  ops::conv2d_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias, {});
  // The centre pixel is under every weight of every window, a corner under one weight of one window.
  REQUIRE(grad_input.to_vector<float>() == std::vector<float>{1, 1 + 2, 2, 1 + 3, 1 + 2 + 3 + 4, 2 + 4, 3, 3 + 4, 4});
  // Each weight meets the 2x2 block of pixels its windows put under it.
  REQUIRE(grad_weight.to_vector<float>() ==
          std::vector<float>{1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9});
  REQUIRE(grad_bias.to_vector<float>() == std::vector<float>{4});
}

TEST_CASE("conv2d backward matches finite differences") {
  // The loss L = dot(conv2d(input, weight, bias), R) is linear in each of input, weight
  // and bias, so central differences have no truncation error; only rounding is left,
  // about 1e-16 * |L| / eps = 1e-16 * 10 / 1e-6 = 1e-9 here, far inside these tolerances.
  constexpr double kRtol = 1e-6, kAtol = 1e-7;
  Generator generator(2024);
  for (const Conv2dCase& c : kCases) {
    INFO("input " << c.input.str() << " weight " << c.weight.str() << " stride " << c.params.stride << " padding "
                  << c.params.padding);
    Tensor input = random_tensor(c.input, generator);
    Tensor weight = random_tensor(c.weight, generator);
    Tensor bias = random_tensor({c.weight[0]}, generator);
    Tensor output = Tensor::empty(ops::conv2d_output_shape(c.input, c.weight, c.params), DType::f64);
    Tensor grad_output = random_tensor(output.shape(), generator);  // R
    auto loss = [&] {
      ops::conv2d_forward(input, weight, bias, output, c.params);
      return dot(output, grad_output);
    };

    Tensor grad_input = Tensor::empty(c.input, DType::f64);
    Tensor grad_weight = Tensor::zeros(c.weight, DType::f64);
    Tensor grad_bias = Tensor::zeros({c.weight[0]}, DType::f64);
    ops::conv2d_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias, c.params);

    require_close(grad_input, numerical_gradient(input, loss), kRtol, kAtol, "grad_input");
    require_close(grad_weight, numerical_gradient(weight, loss), kRtol, kAtol, "grad_weight");
    require_close(grad_bias, numerical_gradient(bias, loss), kRtol, kAtol, "grad_bias");
  }
}

TEST_CASE("conv2d backward accumulates parameter gradients and overwrites the input gradient") {
  Generator generator(5);
  const Conv2dCase& c = kCases[2];
  Tensor input = random_tensor(c.input, generator);
  Tensor weight = random_tensor(c.weight, generator);
  Tensor grad_output = random_tensor(ops::conv2d_output_shape(c.input, c.weight, c.params), generator);
  Tensor grad_input = Tensor::full(c.input, 7.0, DType::f64);
  Tensor grad_weight = Tensor::zeros(c.weight, DType::f64);
  Tensor grad_bias = Tensor::zeros({c.weight[0]}, DType::f64);

  ops::conv2d_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias, c.params);
  Tensor first_grad_input = grad_input.clone();
  Tensor first_grad_weight = grad_weight.clone();
  Tensor first_grad_bias = grad_bias.clone();
  ops::conv2d_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias, c.params);

  require_close(grad_input, first_grad_input, 0.0, 0.0, "grad_input");
  // The second call adds the same sum again, rounded differently as it starts from the first.
  auto twice = [](const Tensor& t) {
    Tensor doubled = t.clone();
    for (std::int64_t i = 0; i < t.numel(); ++i) doubled.data<double>()[i] *= 2.0;
    return doubled;
  };
  require_close(grad_weight, twice(first_grad_weight), 1e-12, 1e-12, "grad_weight");
  require_close(grad_bias, twice(first_grad_bias), 1e-12, 1e-12, "grad_bias");
}

TEST_CASE("conv2d backward skips the gradients that are undefined") {
  Generator generator(6);
  const Conv2dCase& c = kCases[1];
  Tensor input = random_tensor(c.input, generator);
  Tensor weight = random_tensor(c.weight, generator);
  Tensor grad_output = random_tensor(ops::conv2d_output_shape(c.input, c.weight, c.params), generator);
  Tensor grad_input = Tensor::empty(c.input, DType::f64);
  Tensor grad_weight = Tensor::zeros(c.weight, DType::f64);
  Tensor grad_bias = Tensor::zeros({c.weight[0]}, DType::f64);
  ops::conv2d_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias, c.params);

  Tensor no_grad_input, no_grad_bias;
  Tensor grad_weight_alone = Tensor::zeros(c.weight, DType::f64);
  ops::conv2d_backward(grad_output, input, weight, no_grad_input, grad_weight_alone, no_grad_bias, c.params);
  REQUIRE_FALSE(no_grad_input.defined());
  REQUIRE_FALSE(no_grad_bias.defined());
  require_close(grad_weight_alone, grad_weight, 0.0, 0.0, "grad_weight");
}

TEST_CASE("conv2d in f32 agrees with f64") {
  // Inputs are the same numbers in both precisions, so the difference is f32 rounding
  // in sums of at most 70 terms of size below 1: under 3e-7 here, well within these.
  constexpr double kRtol = 1e-5, kAtol = 1e-5;
  Generator generator(77);
  for (const Conv2dCase& c : kCases) {
    INFO("input " << c.input.str() << " weight " << c.weight.str());
    Tensor input = random_tensor(c.input, generator, DType::f32);
    Tensor weight = random_tensor(c.weight, generator, DType::f32);
    Tensor bias = random_tensor({c.weight[0]}, generator, DType::f32);
    Shape output_shape = ops::conv2d_output_shape(c.input, c.weight, c.params);
    Tensor grad_output = random_tensor(output_shape, generator, DType::f32);
    require_close(conv2d(input, weight, bias, c.params), conv2d(input.to(DType::f64), weight.to(DType::f64), bias.to(DType::f64), c.params),
                  kRtol, kAtol, "output");

    Tensor grad_input = Tensor::empty(c.input, DType::f32);
    Tensor grad_weight = Tensor::zeros(c.weight, DType::f32);
    Tensor grad_bias = Tensor::zeros({c.weight[0]}, DType::f32);
    ops::conv2d_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias, c.params);
    Tensor grad_input_64 = Tensor::empty(c.input, DType::f64);
    Tensor grad_weight_64 = Tensor::zeros(c.weight, DType::f64);
    Tensor grad_bias_64 = Tensor::zeros({c.weight[0]}, DType::f64);
    ops::conv2d_backward(grad_output.to(DType::f64), input.to(DType::f64), weight.to(DType::f64), grad_input_64, grad_weight_64,
                         grad_bias_64, c.params);
    require_close(grad_input, grad_input_64, kRtol, kAtol, "grad_input");
    require_close(grad_weight, grad_weight_64, kRtol, kAtol, "grad_weight");
    require_close(grad_bias, grad_bias_64, kRtol, kAtol, "grad_bias");
  }
}

TEST_CASE("conv2d refuses tensors of the wrong rank or channels or dtype") {
  Tensor weight = Tensor::zeros({8, 3, 3, 3});
  Tensor output = Tensor::zeros({1, 8, 30, 30});
  REQUIRE_THROWS_MINIDL(ops::conv2d_forward(Tensor::zeros({3, 32, 32}), weight, Tensor(), output, {}),
                        "conv2d: input must have 4 dimensions, got shape (3, 32, 32)");
  REQUIRE_THROWS_MINIDL(
      ops::conv2d_forward(Tensor::zeros({1, 3, 32, 32}), Tensor::zeros({8, 27}), Tensor(), output, {}),
      "conv2d: weight must have 4 dimensions, got shape (8, 27)");
  REQUIRE_THROWS_MINIDL(ops::conv2d_forward(Tensor::zeros({1, 4, 32, 32}), weight, Tensor(), output, {}),
                        "conv2d: input has 4 channels, weight expects 3");
  REQUIRE_THROWS_MINIDL(
      ops::conv2d_forward(Tensor::zeros({1, 3, 32, 32}), Tensor::zeros({8, 3, 3, 3}, DType::f64), Tensor(), output, {}),
      "conv2d: weight must have dtype f32, got f64");
  REQUIRE_THROWS_MINIDL(
      ops::conv2d_forward(Tensor::zeros({1, 3, 32, 32}, DType::i32), weight, Tensor(), output, {}),
      "conv2d: input must have dtype f32 or f64, got i32");
  REQUIRE_THROWS_MINIDL(ops::conv2d_forward(Tensor::zeros({1, 3, 32, 32}), Tensor(), Tensor(), output, {}),
                        "conv2d: weight is undefined");
}

TEST_CASE("conv2d refuses a bad stride or padding or a kernel larger than the padded input") {
  REQUIRE_THROWS_MINIDL(ops::conv2d_output_shape({1, 3, 8, 8}, {4, 3, 3, 3}, {.stride = 0}),
                        "conv2d: stride must be at least 1, got 0");
  REQUIRE_THROWS_MINIDL(ops::conv2d_output_shape({1, 3, 8, 8}, {4, 3, 3, 3}, {.padding = -1}),
                        "conv2d: padding must be non-negative, got -1");
  REQUIRE_THROWS_MINIDL(ops::conv2d_output_shape({1, 3, 2, 8}, {4, 3, 5, 5}, {.padding = 1}),
                        "conv2d: kernel 5x5 does not fit the input 2x8 with padding 1");
  REQUIRE_THROWS_MINIDL(ops::conv2d_output_shape({1, 3, 8, 8}, {4, 3, 0, 3}, {}),
                        "conv2d: the kernel must be at least 1x1, got weight shape (4, 3, 0, 3)");
  REQUIRE(ops::conv2d_output_shape({10, 3, 32, 32}, {16, 3, 3, 3}, {.stride = 2, .padding = 1}) ==
          Shape{10, 16, 16, 16});
}

TEST_CASE("conv2d refuses outputs and gradients of the wrong shape") {
  Tensor input = Tensor::zeros({1, 3, 5, 5});
  Tensor weight = Tensor::zeros({2, 3, 3, 3});
  Tensor bias = Tensor::zeros({2});
  Tensor output = Tensor::zeros({1, 2, 5, 5});
  REQUIRE_THROWS_MINIDL(ops::conv2d_forward(input, weight, bias, output, {}),
                        "conv2d: output must have shape (1, 2, 3, 3), got (1, 2, 5, 5)");
  Tensor undefined_output;
  REQUIRE_THROWS_MINIDL(ops::conv2d_forward(input, weight, bias, undefined_output, {}), "conv2d: output is undefined");
  Tensor good_output = Tensor::zeros({1, 2, 3, 3});
  REQUIRE_THROWS_MINIDL(ops::conv2d_forward(input, weight, Tensor::zeros({3}), good_output, {}),
                        "conv2d: bias must have shape (2), got (3)");

  Tensor grad_input = Tensor::zeros({1, 3, 5, 5});
  Tensor grad_weight = Tensor::zeros({2, 3, 3, 3});
  Tensor grad_bias = Tensor::zeros({2});
  REQUIRE_THROWS_MINIDL(ops::conv2d_backward(output, input, weight, grad_input, grad_weight, grad_bias, {}),
                        "conv2d: grad_output must have shape (1, 2, 3, 3), got (1, 2, 5, 5)");
  Tensor wrong_grad_input = Tensor::zeros({1, 3, 4, 4});
  REQUIRE_THROWS_MINIDL(ops::conv2d_backward(good_output, input, weight, wrong_grad_input, grad_weight, grad_bias, {}),
                        "conv2d: grad_input must have shape (1, 3, 5, 5), got (1, 3, 4, 4)");
  Tensor wrong_grad_weight = Tensor::zeros({2, 3, 1, 1});
  REQUIRE_THROWS_MINIDL(ops::conv2d_backward(good_output, input, weight, grad_input, wrong_grad_weight, grad_bias, {}),
                        "conv2d: grad_weight must have shape (2, 3, 3, 3), got (2, 3, 1, 1)");
  Tensor no_grad_weight;
  REQUIRE_THROWS_MINIDL(ops::conv2d_backward(good_output, input, weight, grad_input, no_grad_weight, grad_bias, {}),
                        "conv2d: grad_weight is undefined");
  Tensor wrong_grad_bias = Tensor::zeros({1, 2});
  REQUIRE_THROWS_MINIDL(ops::conv2d_backward(good_output, input, weight, grad_input, grad_weight, wrong_grad_bias, {}),
                        "conv2d: grad_bias must have shape (2), got (1, 2)");
}

TEST_CASE("conv2d refuses tensors on different devices") {
  if (!cuda_is_available()) {
    REQUIRE_THROWS_MINIDL(Tensor::zeros({1, 1, 3, 3}, DType::f32, Device::cuda()), cuda_unavailable_reason());
    return;
  }
  Tensor input = Tensor::zeros({1, 1, 3, 3}, DType::f32, Device::cuda());
  Tensor weight = Tensor::zeros({1, 1, 2, 2});
  Tensor output = Tensor::zeros({1, 1, 2, 2}, DType::f32, Device::cuda());
  REQUIRE_THROWS_MINIDL(ops::conv2d_forward(input, weight, Tensor(), output, {}),
                        "conv2d: weight must be on cuda:0, got cpu");
}
