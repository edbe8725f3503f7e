// Specification of linear (kernels/linear.h): output = input @ weight^T + bias,
// its gradients, dtypes and errors.
#include <vector>

#include "gradcheck.h"
#include "minidl/kernels/linear.h"
#include "test_support.h"

using namespace minidl;
using testing::dot;
using testing::numerical_gradient;
using testing::random_tensor;
using testing::require_close;

namespace {

Tensor forward(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  Tensor output = Tensor::empty({input.size(0), weight.size(0)}, input.dtype());
  ops::linear_forward(input, weight, bias, output);
  return output;
}

// Gradients for grad_output; grad_input starts as garbage, grad_weight and grad_bias at zero.
struct Grads {
  Tensor input, weight, bias;
};

Grads backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight) {
  const DType dtype = input.dtype();
  Grads grads{Tensor::full(input.shape(), 123.0, dtype), Tensor::zeros(weight.shape(), dtype),
              Tensor::zeros({weight.size(0)}, dtype)};
  ops::linear_backward(grad_output, input, weight, grads.input, grads.weight, grads.bias);
  return grads;
}

}  // namespace

TEST_CASE("linear multiplies by the transposed weight and adds the bias") {
  Tensor input = Tensor::from_vector<double>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor weight = Tensor::from_vector<double>({2, 3}, {1, 0, -1, 0.5, 0.5, 0.5});
  Tensor bias = Tensor::from_vector<double>({2}, {10, -1});
  // Row 0: (1 - 3 + 10, 3 - 1); row 1: (4 - 6 + 10, 7.5 - 1).
  REQUIRE(forward(input, weight, bias).to_vector<double>() == std::vector<double>{8, 2, 8, 6.5});
  REQUIRE(forward(input, weight, Tensor()).to_vector<double>() == std::vector<double>{-2, 3, -2, 7.5});

  // With grad_output the identity: grad_input = weight, grad_weight = input, grad_bias = (1, 1).
  Grads grads = backward(Tensor::from_vector<double>({2, 2}, {1, 0, 0, 1}), input, weight);
  REQUIRE(grads.input.to_vector<double>() == weight.to_vector<double>());
  REQUIRE(grads.weight.to_vector<double>() == input.to_vector<double>());
  REQUIRE(grads.bias.to_vector<double>() == std::vector<double>{1, 1});
}

TEST_CASE("linear backward skips grad_input and grad_bias when they are undefined") {
  Tensor input = Tensor::from_vector<double>({1, 2}, {3, 4});
  Tensor weight = Tensor::from_vector<double>({1, 2}, {1, 1});
  Tensor grad_input, grad_bias;
  Tensor grad_weight = Tensor::zeros({1, 2}, DType::f64);
  ops::linear_backward(Tensor::from_vector<double>({1, 1}, {2}), input, weight, grad_input, grad_weight, grad_bias);
  REQUIRE(grad_weight.to_vector<double>() == std::vector<double>{6, 8});
  REQUIRE_FALSE(grad_input.defined());
  REQUIRE_FALSE(grad_bias.defined());
}

// Gradients of L = dot(output, R) with R random, in double; tolerance rtol 1e-6, atol 1e-7
// (L is linear in each argument, so central differences are exact up to rounding, about 1e-10).
TEST_CASE("linear backward matches finite differences for input and weight and bias") {
  struct Size {
    std::int64_t N, in_features, out_features;
  };
  for (Size size : {Size{1, 1, 1}, Size{3, 5, 7}, Size{4, 7, 2}, Size{1, 9, 4}}) {
    INFO("N " << size.N << " in " << size.in_features << " out " << size.out_features);
    Generator generator(41);
    Tensor input = random_tensor({size.N, size.in_features}, generator);
    Tensor weight = random_tensor({size.out_features, size.in_features}, generator);
    Tensor bias = random_tensor({size.out_features}, generator);
    Tensor R = random_tensor({size.N, size.out_features}, generator);
    auto loss = [&] { return dot(forward(input, weight, bias), R); };

    Grads grads = backward(R, input, weight);
    require_close(grads.input, numerical_gradient(input, loss), 1e-6, 1e-7, "grad_input");
    require_close(grads.weight, numerical_gradient(weight, loss), 1e-6, 1e-7, "grad_weight");
    require_close(grads.bias, numerical_gradient(bias, loss), 1e-6, 1e-7, "grad_bias");
  }
}

TEST_CASE("linear backward overwrites grad_input and accumulates grad_weight and grad_bias") {
  Generator generator(3);
  Tensor input = random_tensor({3, 4}, generator), weight = random_tensor({2, 4}, generator);
  Tensor grad_output = random_tensor({3, 2}, generator);
  Grads once = backward(grad_output, input, weight);
  Grads twice = backward(grad_output, input, weight);
  ops::linear_backward(grad_output, input, weight, twice.input, twice.weight, twice.bias);

  require_close(twice.input, once.input, 0.0, 0.0, "grad_input");
  for (std::int64_t i = 0; i < once.weight.numel(); ++i)
    REQUIRE(twice.weight.data<double>()[i] == 2.0 * once.weight.data<double>()[i]);
  for (std::int64_t o = 0; o < 2; ++o) REQUIRE(twice.bias.data<double>()[o] == 2.0 * once.bias.data<double>()[o]);
}

// float32 against float64 on the same values: rtol 1e-5, atol 1e-5 (sums run in double in both).
TEST_CASE("linear in float32 agrees with float64") {
  Generator generator(43);
  Tensor input = random_tensor({5, 33}, generator), weight = random_tensor({7, 33}, generator);
  Tensor bias = random_tensor({7}, generator), grad_output = random_tensor({5, 7}, generator);

  require_close(forward(input.to(DType::f32), weight.to(DType::f32), bias.to(DType::f32)), forward(input, weight, bias), 1e-5, 1e-5,
                "output");
  Grads f32 = backward(grad_output.to(DType::f32), input.to(DType::f32), weight.to(DType::f32));
  Grads f64 = backward(grad_output, input, weight);
  require_close(f32.input, f64.input, 1e-5, 1e-5, "grad_input");
  require_close(f32.weight, f64.weight, 1e-5, 1e-5, "grad_weight");
  require_close(f32.bias, f64.bias, 1e-5, 1e-5, "grad_bias");
}

TEST_CASE("linear refuses bad shapes and dtypes by name") {
  Tensor input = Tensor::zeros({4, 512}), weight = Tensor::zeros({10, 500}), bias = Tensor::zeros({10});
  Tensor output = Tensor::zeros({4, 10});
  REQUIRE_THROWS_MINIDL(ops::linear_forward(input, weight, bias, output),
                        "linear: input has 512 features, weight expects 500");

  weight = Tensor::zeros({10, 512});
  Tensor image = Tensor::zeros({4, 2, 16, 16});
  REQUIRE_THROWS_MINIDL(ops::linear_forward(image, weight, bias, output),
                        "linear: input must have 2 dimensions, got shape (4, 2, 16, 16)");
  Tensor short_bias = Tensor::zeros({9});
  REQUIRE_THROWS_MINIDL(ops::linear_forward(input, weight, short_bias, output),
                        "linear: bias must have shape (10), got (9)");
  Tensor wrong_output = Tensor::zeros({4, 11});
  REQUIRE_THROWS_MINIDL(ops::linear_forward(input, weight, bias, wrong_output),
                        "linear: output must have shape (4, 10), got (4, 11)");
  Tensor double_weight = Tensor::zeros({10, 512}, DType::f64);
  REQUIRE_THROWS_MINIDL(ops::linear_forward(input, double_weight, bias, output),
                        "linear: weight must have dtype f32, got f64");

  Tensor grad_input = Tensor::zeros({4, 512}), grad_weight = Tensor::zeros({10, 512});
  Tensor grad_bias = Tensor::zeros({10});
  Tensor wrong_grad_output = Tensor::zeros({4, 12});
  REQUIRE_THROWS_MINIDL(ops::linear_backward(wrong_grad_output, input, weight, grad_input, grad_weight, grad_bias),
                        "linear backward: grad_output must have shape (4, 10), got (4, 12)");
  Tensor wrong_grad_weight = Tensor::zeros({512, 10});
  REQUIRE_THROWS_MINIDL(ops::linear_backward(output, input, weight, grad_input, wrong_grad_weight, grad_bias),
                        "linear backward: grad_weight must have shape (10, 512), got (512, 10)");
}

TEST_CASE("linear refuses tensors on different devices") {
  if (!cuda_is_available()) {
    REQUIRE_THROWS_MINIDL(Tensor::zeros({10, 8}, DType::f32, Device::cuda()), cuda_unavailable_reason());
    return;
  }
  Tensor input = Tensor::zeros({4, 8}), weight = Tensor::zeros({10, 8}, DType::f32, Device::cuda());
  Tensor output = Tensor::zeros({4, 10});
  REQUIRE_THROWS_MINIDL(ops::linear_forward(input, weight, Tensor(), output),
                        "linear: weight must be on cpu, got cuda:0");
}
