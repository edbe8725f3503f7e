// Specification of batch_norm2d (kernels/batch_norm2d.h): batch statistics in
// training, running statistics in evaluation, gradients, dtypes and errors.
#include <cmath>
#include <vector>

#include "gradcheck.h"
#include "minidl/kernels/batch_norm2d.h"
#include "test_support.h"

using namespace minidl;
using testing::dot;
using testing::numerical_gradient;
using testing::random_tensor;
using testing::require_close;

namespace {

// What the training forward writes, starting from running statistics 0 and 1 (PyTorch's initial values).
struct TrainResult {
  Tensor output, save_mean, save_invstd, running_mean, running_var;
};

TrainResult forward_train(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  const std::int64_t C = input.size(1);
  const DType dtype = input.dtype();
  TrainResult r{Tensor::empty(input.shape(), dtype), Tensor::empty({C}, dtype), Tensor::empty({C}, dtype),
                Tensor::zeros({C}, dtype), Tensor::full({C}, 1.0, dtype)};
  ops::batch_norm2d_forward_train(input, weight, bias, r.running_mean, r.running_var, r.output, r.save_mean,
                                  r.save_invstd, {});
  return r;
}

Tensor forward_eval(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                    const Tensor& running_var) {
  Tensor output = Tensor::empty(input.shape(), input.dtype());
  ops::batch_norm2d_forward_eval(input, weight, bias, running_mean, running_var, output, {});
  return output;
}

// Shapes for the gradient checks: odd sizes, batch 1 with H*W > 1, H*W = 1 with batch > 1.
const std::vector<Shape> kShapes = {Shape{2, 3, 4, 5}, Shape{1, 2, 3, 3}, Shape{3, 1, 1, 2}, Shape{5, 3, 1, 1}};

// Valid f32 arguments for an input of shape (2, 3, 4, 4); each error check spoils one.
struct Args {
  Tensor input = Tensor::zeros({2, 3, 4, 4});
  Tensor weight = Tensor::full({3}, 1.0);
  Tensor bias = Tensor::zeros({3});
  Tensor running_mean = Tensor::zeros({3});
  Tensor running_var = Tensor::full({3}, 1.0);
  Tensor output = Tensor::zeros({2, 3, 4, 4});
  Tensor save_mean = Tensor::zeros({3});
  Tensor save_invstd = Tensor::zeros({3});
  Tensor grad_input = Tensor::zeros({2, 3, 4, 4});
  Tensor grad_weight = Tensor::zeros({3});
  Tensor grad_bias = Tensor::zeros({3});

  void train() {
    ops::batch_norm2d_forward_train(input, weight, bias, running_mean, running_var, output, save_mean, save_invstd,
                                    {});
  }
  // output, of the input's shape, stands in for grad_output.
  void backward() {
    ops::batch_norm2d_backward_train(output, input, weight, save_mean, save_invstd, grad_input, grad_weight,
                                     grad_bias);
  }
};

}  // namespace

TEST_CASE("batch_norm2d training normalises each channel with the batch mean and biased variance") {
  // Channel 0 holds 1 2 3 4: mean 2.5 and biased variance 1.25 (unbiased 1.25 * 4/3 = 5/3).
  // Channel 1 holds -2 0 0 2: mean 0 and biased variance 2 (unbiased 8/3).
  Tensor input = Tensor::from_vector<double>({2, 2, 1, 2}, {1, 2, -2, 0, 3, 4, 0, 2});
  Tensor weight = Tensor::from_vector<double>({2}, {2.0, 1.0});
  Tensor bias = Tensor::from_vector<double>({2}, {0.5, 0.0});
  TrainResult r = forward_train(input, weight, bias);

  const double invstd0 = 1.0 / std::sqrt(1.25 + 1e-5), invstd1 = 1.0 / std::sqrt(2.0 + 1e-5);
  auto y0 = [&](double x) { return (x - 2.5) * invstd0 * 2.0 + 0.5; };
  auto y1 = [&](double x) { return x * invstd1; };
  std::vector<double> expected{y0(1), y0(2), y1(-2), y1(0), y0(3), y0(4), y1(0), y1(2)};
  require_close(r.output, Tensor::from_vector(input.shape(), expected), 1e-12, 1e-12, "output");
  require_close(r.save_mean, Tensor::from_vector<double>({2}, {2.5, 0.0}), 1e-12, 1e-12, "save_mean");
  require_close(r.save_invstd, Tensor::from_vector<double>({2}, {invstd0, invstd1}), 1e-12, 1e-12, "save_invstd");
  // One step with momentum 0.1 from running_mean 0 and running_var 1; running_var takes the unbiased variance.
  require_close(r.running_mean, Tensor::from_vector<double>({2}, {0.1 * 2.5, 0.0}), 1e-12, 1e-12, "running_mean");
  require_close(r.running_var, Tensor::from_vector<double>({2}, {0.9 + 0.1 * 5.0 / 3.0, 0.9 + 0.1 * 8.0 / 3.0}),
                1e-12, 1e-12, "running_var");
}

TEST_CASE("batch_norm2d evaluation normalises with the running statistics") {
  // eps = 0 keeps the arithmetic exact: channel 0 has mean 1 and std 2, channel 1 mean -1 and std 0.5.
  Tensor input = Tensor::from_vector<double>({1, 2, 1, 2}, {1, 3, 0, -1});
  Tensor weight = Tensor::from_vector<double>({2}, {2.0, 1.0});
  Tensor bias = Tensor::from_vector<double>({2}, {0.5, 0.0});
  Tensor running_mean = Tensor::from_vector<double>({2}, {1.0, -1.0});
  Tensor running_var = Tensor::from_vector<double>({2}, {4.0, 0.25});
  Tensor output = Tensor::empty(input.shape(), DType::f64);
  ops::batch_norm2d_forward_eval(input, weight, bias, running_mean, running_var, output, {.eps = 0.0});
  REQUIRE(output.to_vector<double>() == std::vector<double>{0.5, 2.5, 2.0, 0.0});
}

// Gradients of L = dot(output, R) with R random, in double; tolerance rtol 1e-6, atol 1e-7
// (central differences with eps 1e-6 are accurate to about 1e-9 here).
TEST_CASE("batch_norm2d training backward matches finite differences for input and weight and bias") {
  for (const Shape& shape : kShapes) {
    INFO("input shape " << shape.str());
    const std::int64_t C = shape[1];
    Generator generator(17);
    Tensor input = random_tensor(shape, generator, DType::f64, -2.0, 2.0);
    Tensor weight = random_tensor({C}, generator, DType::f64, 0.5, 1.5);
    Tensor bias = random_tensor({C}, generator);
    Tensor R = random_tensor(shape, generator);
    auto loss = [&] { return dot(forward_train(input, weight, bias).output, R); };

    TrainResult r = forward_train(input, weight, bias);
    Tensor grad_input = Tensor::empty(shape, DType::f64);
    Tensor grad_weight = Tensor::zeros({C}, DType::f64), grad_bias = Tensor::zeros({C}, DType::f64);
    ops::batch_norm2d_backward_train(R, input, weight, r.save_mean, r.save_invstd, grad_input, grad_weight,
                                     grad_bias);

    require_close(grad_input, numerical_gradient(input, loss), 1e-6, 1e-7, "grad_input");
    require_close(grad_weight, numerical_gradient(weight, loss), 1e-6, 1e-7, "grad_weight");
    require_close(grad_bias, numerical_gradient(bias, loss), 1e-6, 1e-7, "grad_bias");
  }
}

// Same loss and tolerances as the training check, with the running statistics as constants.
TEST_CASE("batch_norm2d evaluation backward matches finite differences for input and weight and bias") {
  for (const Shape& shape : kShapes) {
    INFO("input shape " << shape.str());
    const std::int64_t C = shape[1];
    Generator generator(23);
    Tensor input = random_tensor(shape, generator, DType::f64, -2.0, 2.0);
    Tensor weight = random_tensor({C}, generator, DType::f64, 0.5, 1.5);
    Tensor bias = random_tensor({C}, generator);
    Tensor running_mean = random_tensor({C}, generator);
    Tensor running_var = random_tensor({C}, generator, DType::f64, 0.5, 2.0);
    Tensor R = random_tensor(shape, generator);
    auto loss = [&] { return dot(forward_eval(input, weight, bias, running_mean, running_var), R); };

    Tensor grad_input = Tensor::empty(shape, DType::f64);
    Tensor grad_weight = Tensor::zeros({C}, DType::f64), grad_bias = Tensor::zeros({C}, DType::f64);
    ops::batch_norm2d_backward_eval(R, input, weight, running_mean, running_var, grad_input, grad_weight, grad_bias,
                                    {});

    require_close(grad_input, numerical_gradient(input, loss), 1e-6, 1e-7, "grad_input");
    require_close(grad_weight, numerical_gradient(weight, loss), 1e-6, 1e-7, "grad_weight");
    require_close(grad_bias, numerical_gradient(bias, loss), 1e-6, 1e-7, "grad_bias");
  }
}

TEST_CASE("batch_norm2d backward overwrites grad_input and accumulates grad_weight and grad_bias") {
  Generator generator(5);
  const Shape shape{2, 3, 2, 2};
  Tensor input = random_tensor(shape, generator), weight = random_tensor({3}, generator);
  Tensor bias = random_tensor({3}, generator), grad_output = random_tensor(shape, generator);
  TrainResult r = forward_train(input, weight, bias);
  Tensor grad_input = Tensor::full(shape, 100.0, DType::f64);
  Tensor grad_weight = Tensor::zeros({3}, DType::f64), grad_bias = Tensor::zeros({3}, DType::f64);

  ops::batch_norm2d_backward_train(grad_output, input, weight, r.save_mean, r.save_invstd, grad_input, grad_weight,
                                   grad_bias);
  Tensor once_input = grad_input.clone(), once_weight = grad_weight.clone(), once_bias = grad_bias.clone();
  ops::batch_norm2d_backward_train(grad_output, input, weight, r.save_mean, r.save_invstd, grad_input, grad_weight,
                                   grad_bias);

  require_close(grad_input, once_input, 0.0, 0.0, "grad_input");
  for (std::int64_t c = 0; c < 3; ++c) {
    REQUIRE(grad_weight.data<double>()[c] == 2.0 * once_weight.data<double>()[c]);
    REQUIRE(grad_bias.data<double>()[c] == 2.0 * once_bias.data<double>()[c]);
  }
}

// float32 against float64 on the same values: rtol 1e-4, atol 1e-5 (float rounding of inputs and results).
TEST_CASE("batch_norm2d in float32 agrees with float64") {
  Generator generator(31);
  const Shape shape{3, 4, 5, 3};
  Tensor input = random_tensor(shape, generator, DType::f64, -2.0, 2.0);
  Tensor weight = random_tensor({4}, generator, DType::f64, 0.5, 1.5), bias = random_tensor({4}, generator);
  Tensor grad_output = random_tensor(shape, generator);

  // Every output of the four functions, computed in dtype from the same values.
  auto run = [&](DType dtype) {
    auto as = [dtype](const Tensor& t) { return dtype == DType::f32 ? t.to(DType::f32) : t; };
    Tensor x = as(input), w = as(weight), b = as(bias), dy = as(grad_output);
    TrainResult r = forward_train(x, w, b);
    Tensor grad_input = Tensor::empty(shape, dtype);
    Tensor grad_weight = Tensor::zeros({4}, dtype), grad_bias = Tensor::zeros({4}, dtype);
    ops::batch_norm2d_backward_train(dy, x, w, r.save_mean, r.save_invstd, grad_input, grad_weight, grad_bias);
    Tensor eval_output = forward_eval(x, w, b, r.running_mean, r.running_var);
    Tensor eval_grad_input = Tensor::empty(shape, dtype);
    Tensor eval_grad_weight = Tensor::zeros({4}, dtype), eval_grad_bias = Tensor::zeros({4}, dtype);
    ops::batch_norm2d_backward_eval(dy, x, w, r.running_mean, r.running_var, eval_grad_input, eval_grad_weight,
                                    eval_grad_bias, {});
    return std::vector<Tensor>{r.output,    r.save_mean,     r.save_invstd,   r.running_mean,
                               r.running_var, grad_input,   grad_weight,     grad_bias,
                               eval_output, eval_grad_input, eval_grad_weight, eval_grad_bias};
  };
  const char* names[] = {"output",      "save_mean",   "save_invstd", "running_mean",
                         "running_var", "grad_input",  "grad_weight", "grad_bias",
                         "eval output", "eval grad_input", "eval grad_weight", "eval grad_bias"};
  std::vector<Tensor> f32 = run(DType::f32), f64 = run(DType::f64);
  for (std::size_t i = 0; i < f64.size(); ++i) require_close(f32[i], f64[i], 1e-4, 1e-5, names[i]);
}

TEST_CASE("batch_norm2d training refuses a single value per channel") {
  Args a;
  a.input = Tensor::zeros({1, 3, 1, 1});
  a.output = Tensor::zeros({1, 3, 1, 1});
  REQUIRE_THROWS_MINIDL(a.train(), "batch_norm2d: expected more than 1 value per channel when training, "
                                   "got input shape (1, 3, 1, 1)");
}

TEST_CASE("batch_norm2d refuses bad shapes and dtypes by name") {
  {
    Args a;
    a.input = Tensor::zeros({2, 3, 16});
    REQUIRE_THROWS_MINIDL(a.train(), "batch_norm2d: input must have 4 dimensions, got shape (2, 3, 16)");
  }
  {
    Args a;
    a.weight = Tensor::full({2}, 1.0);
    REQUIRE_THROWS_MINIDL(a.train(), "batch_norm2d: weight must have shape (3), got (2)");
  }
  {
    Args a;
    a.running_var = Tensor::full({3}, 1.0, DType::f64);
    REQUIRE_THROWS_MINIDL(a.train(), "batch_norm2d: running_var must have dtype f32, got f64");
  }
  {
    Args a;
    a.output = Tensor::zeros({2, 3, 4, 5});
    REQUIRE_THROWS_MINIDL(a.train(), "batch_norm2d: output must have shape (2, 3, 4, 4), got (2, 3, 4, 5)");
  }
  {
    Args a;
    a.input = Tensor::zeros({2, 3, 4, 4}, DType::u8);
    REQUIRE_THROWS_MINIDL(a.train(), "batch_norm2d: input must have dtype f32 or f64, got u8");
  }
  {
    Args a;
    a.grad_bias = Tensor::zeros({4});
    REQUIRE_THROWS_MINIDL(a.backward(), "batch_norm2d backward: grad_bias must have shape (3), got (4)");
  }
  {
    Args a;
    a.grad_input = Tensor();
    REQUIRE_THROWS_MINIDL(a.backward(), "batch_norm2d backward: grad_input is undefined");
  }
  {
    Args a;
    Tensor grad_input = Tensor::zeros({2, 3, 4, 4});
    REQUIRE_THROWS_MINIDL(ops::batch_norm2d_backward_eval(Tensor::zeros({2, 3, 4}), a.input, a.weight,
                                                          a.running_mean, a.running_var, grad_input, a.grad_weight,
                                                          a.grad_bias, {}),
                          "batch_norm2d backward: grad_output must have shape (2, 3, 4, 4), got (2, 3, 4)");
  }
}

TEST_CASE("batch_norm2d refuses tensors on different devices") {
  if (!cuda_is_available()) {
    REQUIRE_THROWS_MINIDL(Tensor::zeros({3}, DType::f32, Device::cuda()), cuda_unavailable_reason());
    return;
  }
  Args a;
  a.weight = a.weight.to(Device::cuda());
  REQUIRE_THROWS_MINIDL(a.train(), "batch_norm2d: weight must be on cpu, got cuda:0");
}
