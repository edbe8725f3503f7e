// Specification of relu: values, in-place use, gradients, f32 against f64, and argument checks.
#include <cmath>
#include <limits>
#include <vector>

#include "gradcheck.h"
#include "minidl/kernels/relu.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// relu_forward into a new output tensor.
Tensor relu(const Tensor& input) {
  Tensor output = Tensor::empty(input.shape(), input.dtype());
  ops::relu_forward(input, output);
  return output;
}

// relu_backward into a new grad_input tensor.
Tensor relu_backward(const Tensor& grad_output, const Tensor& output) {
  Tensor grad_input = Tensor::empty(grad_output.shape(), grad_output.dtype());
  ops::relu_backward(grad_output, output, grad_input);
  return grad_input;
}

// Random shapes for the gradient and precision checks.
const Shape kShapes[] = {{7}, {2, 3, 5}, {1, 4, 3, 3}, {3, 2, 5, 4}};

}  // namespace

TEST_CASE("relu zeroes negative values and keeps positive ones") {
  Tensor input = Tensor::from_vector<float>({5}, {-2.0f, -0.5f, 0.0f, 0.5f, 3.0f});
  REQUIRE(relu(input).to_vector<float>() == std::vector<float>{0.0f, 0.0f, 0.0f, 0.5f, 3.0f});
}

TEST_CASE("relu backward passes the gradient where the output is positive and not at zero") {
  Tensor output = Tensor::from_vector<float>({5}, {0.0f, 0.0f, 0.0f, 0.5f, 3.0f});
  Tensor grad_output = Tensor::from_vector<float>({5}, {1, 2, 3, 4, 5});
  REQUIRE(relu_backward(grad_output, output).to_vector<float>() == std::vector<float>{0, 0, 0, 4, 5});
}

TEST_CASE("relu lets NaN through as PyTorch does") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor output = relu(Tensor::from_vector<double>({2}, {nan, -1.0}));
  REQUIRE(std::isnan(output.data<double>()[0]));
  REQUIRE(output.data<double>()[1] == 0.0);
}

TEST_CASE("relu backward passes the gradient where the output is NaN as PyTorch's threshold_backward does") {
  // PyTorch: grad_input = output <= 0 ? 0 : grad_output, and NaN <= 0 is false.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<Device> devices = {Device::cpu()};
  if (cuda_is_available()) devices.push_back(Device::cuda());
  for (const Device device : devices) {
    INFO(device.str());
    const Tensor output = Tensor::from_vector<float>({4}, {nan, -0.0f, 0.0f, 2.0f}).to(device);
    const Tensor grad_output = Tensor::from_vector<float>({4}, {5.0f, 6.0f, 7.0f, 8.0f}).to(device);
    Tensor grad_input = Tensor::empty({4}, DType::f32, device);
    ops::relu_backward(grad_output, output, grad_input);
    REQUIRE(grad_input.to(Device::cpu()).to_vector<float>() == std::vector<float>{5.0f, 0.0f, 0.0f, 8.0f});
  }
}

TEST_CASE("relu works in place on the input and on the gradient") {
  Tensor x = Tensor::from_vector<float>({2, 2}, {-1, 2, 3, -4});
  ops::relu_forward(x, x);
  REQUIRE(x.to_vector<float>() == std::vector<float>{0, 2, 3, 0});
  Tensor grad = Tensor::from_vector<float>({2, 2}, {5, 6, 7, 8});
  ops::relu_backward(grad, x, grad);
  REQUIRE(grad.to_vector<float>() == std::vector<float>{0, 6, 7, 0});
}

TEST_CASE("relu backward matches finite differences") {
  // Away from 0 relu is linear near x, so central differences have no truncation
  // error; only rounding is left, about 1e-16 * |L| / eps, below 1e-9 here.
  constexpr double kRtol = 1e-6, kAtol = 1e-7;
  Generator generator(11);
  for (const Shape& shape : kShapes) {
    INFO("shape " << shape.str());
    Tensor input = away_from_zero(shape, generator);
    Tensor grad_output = random_tensor(shape, generator);  // R
    Tensor grad_input = relu_backward(grad_output, relu(input));
    auto loss = [&] { return dot(relu(input), grad_output); };
    require_close(grad_input, numerical_gradient(input, loss), kRtol, kAtol, "grad_input");
  }
}

TEST_CASE("relu in f32 agrees with f64") {
  // relu only copies or zeroes values, so both precisions agree exactly.
  Generator generator(12);
  for (const Shape& shape : kShapes) {
    INFO("shape " << shape.str());
    Tensor input = away_from_zero(shape, generator, DType::f32);
    Tensor grad_output = random_tensor(shape, generator, DType::f32);
    Tensor output = relu(input);
    Tensor output_64 = relu(input.to(DType::f64));
    require_close(output, output_64, 0.0, 0.0, "output");
    require_close(relu_backward(grad_output, output), relu_backward(grad_output.to(DType::f64), output_64), 0.0, 0.0,
                  "grad_input");
  }
}

TEST_CASE("relu refuses tensors of the wrong shape or dtype") {
  Tensor input = Tensor::zeros({2, 3});
  Tensor transposed = Tensor::zeros({3, 2});
  REQUIRE_THROWS_MINIDL(ops::relu_forward(input, transposed), "relu: output must have shape (2, 3), got (3, 2)");
  Tensor output_64 = Tensor::zeros({2, 3}, DType::f64);
  REQUIRE_THROWS_MINIDL(ops::relu_forward(input, output_64), "relu: output must have dtype f32, got f64");
  Tensor output = Tensor::zeros({2, 3});
  REQUIRE_THROWS_MINIDL(ops::relu_forward(Tensor::zeros({2, 3}, DType::i32), output),
                        "relu: input must have dtype f32 or f64, got i32");
  Tensor undefined;
  REQUIRE_THROWS_MINIDL(ops::relu_forward(input, undefined), "relu: output is undefined");

  REQUIRE_THROWS_MINIDL(ops::relu_backward(input, transposed, output),
                        "relu: output must have shape (2, 3), got (3, 2)");
  REQUIRE_THROWS_MINIDL(ops::relu_backward(input, output, transposed),
                        "relu: grad_input must have shape (2, 3), got (3, 2)");
  REQUIRE_THROWS_MINIDL(ops::relu_backward(input, output_64, output), "relu: output must have dtype f32, got f64");
}

TEST_CASE("relu refuses tensors on different devices") {
  if (!cuda_is_available()) {
    REQUIRE_THROWS_MINIDL(Tensor::zeros({2, 3}, DType::f32, Device::cuda()), cuda_unavailable_reason());
    return;
  }
  Tensor input = Tensor::zeros({2, 3}, DType::f32, Device::cuda());
  Tensor output = Tensor::zeros({2, 3});
  REQUIRE_THROWS_MINIDL(ops::relu_forward(input, output), "relu: output must be on cuda:0, got cpu");
}

TEST_CASE("relu on cuda tensors runs the CUDA kernels and matches the CPU reference") {
  if (skip_unless_cuda()) return;
  Generator generator(31);
  Tensor input = random_tensor({3, 5, 7}, generator, DType::f32);  // 105 elements: not a multiple of a block
  Tensor grad_output = random_tensor(input.shape(), generator, DType::f32);
  Tensor output = Tensor::empty(input.shape()), grad_input = Tensor::empty(input.shape());
  ops::relu_forward(input, output);
  ops::relu_backward(grad_output, output, grad_input);

  Device cuda = Device::cuda();
  Tensor cuda_output = Tensor::empty(input.shape(), DType::f32, cuda);
  Tensor cuda_grad_input = Tensor::empty(input.shape(), DType::f32, cuda);
  ops::relu_forward(input.to(cuda), cuda_output);
  ops::relu_backward(grad_output.to(cuda), cuda_output, cuda_grad_input);
  require_close(cuda_output, output, 0, 0, "output");
  require_close(cuda_grad_input, grad_input, 0, 0, "grad_input");

  Tensor input_64 = Tensor::zeros({2}, DType::f64, cuda), output_64 = Tensor::zeros({2}, DType::f64, cuda);
  REQUIRE_THROWS_MINIDL(ops::relu_forward(input_64, output_64), "relu on cuda: no implementation serves dtype f64");
}
