// Exercise 2 (README.md): AvgPool2d's values, its gradient against finite differences,
// and the CUDA kernels against the CPU reference (on a GPU or in the emulator).
#include <vector>

#include "avg_pool2d.h"
#include "gradcheck.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::testing;
using exercises::AvgPool2dParams;

namespace {

// avg_pool2d_forward into a new output tensor.
Tensor avg_pool2d(const Tensor& input, AvgPool2dParams params) {
  Tensor output = Tensor::empty(ops::max_pool2d_output_shape(input.shape(), params), input.dtype(), input.device());
  exercises::avg_pool2d_forward(input, output, params);
  return output;
}

// avg_pool2d_backward into a new grad_input tensor of the input's shape.
Tensor avg_pool2d_backward(const Tensor& grad_output, const Shape& input_shape, AvgPool2dParams params) {
  Tensor grad_input = Tensor::empty(input_shape, grad_output.dtype(), grad_output.device());
  exercises::avg_pool2d_backward(grad_output, grad_input, params);
  return grad_input;
}

// 0, 1, 2, ... in a tensor of this shape.
Tensor counting(const Shape& shape) {
  std::vector<float> values(static_cast<std::size_t>(shape.numel()));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  return Tensor::from_vector<float>(shape, values);
}

}  // namespace

// doc:test-avg-pool2d-values
TEST_CASE("avg_pool2d averages each window") {
  // 0 1 2 3 / 4 5 6 7 / 8 9 10 11 / 12 13 14 15 in 2x2 windows: (0+1+4+5)/4 = 2.5, ...
  Tensor output = avg_pool2d(counting({1, 1, 4, 4}), {2, 2});
  REQUIRE(output.to_vector<float>() == std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f});
  // Two planes, 3x3 windows at stride 2 on 5x5: each plane's first window's mean is its
  // center, 6 (plane 0) and 25 + 6 = 31 (plane 1).
  Tensor planes = avg_pool2d(counting({1, 2, 5, 5}), {3, 2});
  REQUIRE(planes.shape() == Shape{1, 2, 2, 2});
  REQUIRE(planes.to_vector<float>() == std::vector<float>{6, 8, 16, 18, 31, 33, 41, 43});
}

TEST_CASE("avg_pool2d backward hands each window's gradient to its elements in equal shares") {
  // 2x2 windows at stride 1 on 3x3: a corner is in one window, an edge in two, the center in four.
  Tensor grad_output = Tensor::from_vector<float>({1, 1, 2, 2}, {4, 4, 4, 4});
  REQUIRE(avg_pool2d_backward(grad_output, {1, 1, 3, 3}, {2, 1}).to_vector<float>() ==
          std::vector<float>{1, 2, 1, 2, 4, 2, 1, 2, 1});
}

// doc:test-avg-pool2d-gradcheck
TEST_CASE("avg_pool2d backward matches finite differences") {
  // avg_pool2d is linear: central differences have no truncation error, only rounding.
  Generator generator(31);
  for (AvgPool2dParams params : {AvgPool2dParams{2, 2}, AvgPool2dParams{3, 2}, AvgPool2dParams{2, 1},
                                 AvgPool2dParams{3, 1}}) {
    INFO("kernel_size " << params.kernel_size << ", stride " << params.stride);
    Tensor input = random_tensor({2, 3, 7, 6}, generator);
    Tensor grad_output = random_tensor(ops::max_pool2d_output_shape(input.shape(), params), generator);
    Tensor grad_input = avg_pool2d_backward(grad_output, input.shape(), params);
    auto loss = [&] { return dot(avg_pool2d(input, params), grad_output); };
    require_close(grad_input, numerical_gradient(input, loss), 1e-6, 1e-7, "grad_input");
  }
}

TEST_CASE("avg_pool2d refuses an output of the wrong shape") {
  Tensor input = Tensor::zeros({1, 1, 4, 4});
  Tensor output = Tensor::zeros({1, 1, 3, 3});
  REQUIRE_THROWS_MINIDL(exercises::avg_pool2d_forward(input, output, {2, 2}),
                        "avg_pool2d: output must have shape (1, 1, 2, 2), got (1, 1, 3, 3)");
}

// doc:test-avg-pool2d-cuda
TEST_CASE("avg_pool2d on cuda matches the CPU reference forward and backward") {
  if (skip_unless_cuda()) return;
  Device cuda = Device::cuda();
  Generator generator(32);
  // Windows that tile the input, overlap, or leave a last row and column out; more than
  // one block of 256 threads.
  for (AvgPool2dParams params : {AvgPool2dParams{2, 2}, AvgPool2dParams{3, 1}, AvgPool2dParams{3, 2}}) {
    INFO("kernel_size " << params.kernel_size << ", stride " << params.stride);
    Tensor input = random_tensor({2, 3, 9, 8}, generator, DType::f32);
    Tensor grad_output = random_tensor(ops::max_pool2d_output_shape(input.shape(), params), generator, DType::f32);
    // The same sums in another order at most: a few units of float's last place.
    require_close(avg_pool2d(input.to(cuda), params), avg_pool2d(input, params), 1e-6, 1e-6, "output");
    require_close(avg_pool2d_backward(grad_output.to(cuda), input.shape(), params),
                  avg_pool2d_backward(grad_output, input.shape(), params), 1e-6, 1e-6, "grad_input");
  }
}
