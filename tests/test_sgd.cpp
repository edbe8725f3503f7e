// Specification of sgd (kernels/sgd.h): torch.optim.SGD's update with weight
// decay, momentum, dampening and Nesterov momentum, dtypes and errors.
#include <limits>
#include <vector>

#include "gradcheck.h"
#include "minidl/kernels/sgd.h"
#include "test_support.h"

using namespace minidl;
using testing::random_tensor;
using testing::require_close;

namespace {

// Three steps from param 1 with the gradient held at 1; returns param after each step.
std::vector<double> three_steps(const ops::SgdParams& params, Tensor& buffer) {
  Tensor param = Tensor::full({1}, 1.0, DType::f64), grad = Tensor::full({1}, 1.0, DType::f64);
  buffer = Tensor::zeros({1}, DType::f64);
  std::vector<double> history;
  for (int step = 0; step < 3; ++step) {
    ops::sgd_update(param, grad, buffer, params, step == 0);
    history.push_back(param.item<double>());
  }
  return history;
}

void require_steps(const std::vector<double>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("after step " << i + 1);
    REQUIRE(actual[i] == Approx(expected[i]).epsilon(1e-12));
  }
}

}  // namespace

TEST_CASE("sgd without momentum steps against the gradient") {
  Tensor param = Tensor::from_vector<double>({2}, {1.0, -2.0});
  Tensor grad = Tensor::from_vector<double>({2}, {0.5, 4.0});
  Tensor no_buffer;
  ops::sgd_update(param, grad, no_buffer, {.lr = 0.1}, true);
  require_close(param, Tensor::from_vector<double>({2}, {0.95, -2.4}), 1e-15, 1e-15, "param");
  REQUIRE_FALSE(no_buffer.defined());
}

TEST_CASE("sgd with momentum follows torch by hand over three steps") {
  // lr 0.1, momentum 0.9, grad 1. buf: 1 (the first step copies d), 0.9 * 1 + 1 = 1.9, 0.9 * 1.9 + 1 = 2.71.
  Tensor buffer;
  require_steps(three_steps({.lr = 0.1, .momentum = 0.9}, buffer), {1 - 0.1, 0.9 - 0.19, 0.71 - 0.271});
  REQUIRE(buffer.item<double>() == Approx(2.71).epsilon(1e-12));
}

TEST_CASE("sgd with dampening leaves the first step undamped") {
  // lr 0.1, momentum 0.9, dampening 0.5, grad 1. buf: 1, 0.9 * 1 + 0.5 = 1.4, 0.9 * 1.4 + 0.5 = 1.76.
  Tensor buffer;
  require_steps(three_steps({.lr = 0.1, .momentum = 0.9, .dampening = 0.5}, buffer), {0.9, 0.9 - 0.14, 0.76 - 0.176});
  REQUIRE(buffer.item<double>() == Approx(1.76).epsilon(1e-12));
}

TEST_CASE("sgd with nesterov momentum steps by the gradient plus momentum times the buffer") {
  // lr 0.1, momentum 0.9, grad 1. buf: 1, 1.9, 2.71; d = 1 + 0.9 * buf: 1.9, 2.71, 3.439.
  Tensor buffer;
  require_steps(three_steps({.lr = 0.1, .momentum = 0.9, .nesterov = true}, buffer),
                {1 - 0.19, 0.81 - 0.271, 0.539 - 0.3439});
}

TEST_CASE("sgd weight decay adds weight_decay times param to the gradient") {
  // lr 0.1, momentum 0.9, weight_decay 0.1, grad 1, param from 1:
  //   step 1: d = 1 + 0.1 * 1     = 1.1,      buf = 1.1,                      param = 1 - 0.11        = 0.89
  //   step 2: d = 1 + 0.1 * 0.89  = 1.089,    buf = 0.99 + 1.089 = 2.079,     param = 0.89 - 0.2079   = 0.6821
  //   step 3: d = 1 + 0.1 * 0.6821 = 1.06821, buf = 1.8711 + 1.06821 = 2.93931, param = 0.6821 - 0.293931 = 0.388169
  Tensor buffer;
  require_steps(three_steps({.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1}, buffer), {0.89, 0.6821, 0.388169});
  REQUIRE(buffer.item<double>() == Approx(2.93931).epsilon(1e-12));
}

// float32 against float64 on the same values over three steps: rtol 1e-5, atol 1e-6.
TEST_CASE("sgd in float32 agrees with float64") {
  Generator generator(61);
  Tensor param64 = random_tensor({5, 7}, generator);
  std::vector<Tensor> grads;
  for (int step = 0; step < 3; ++step) grads.push_back(random_tensor({5, 7}, generator));
  Tensor param32 = param64.to(DType::f32);
  Tensor buffer64 = Tensor::zeros({5, 7}, DType::f64), buffer32 = Tensor::zeros({5, 7});
  const ops::SgdParams params{.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true};
  for (int step = 0; step < 3; ++step) {
    ops::sgd_update(param64, grads[step], buffer64, params, step == 0);
    ops::sgd_update(param32, grads[step].to(DType::f32), buffer32, params, step == 0);
  }
  require_close(param32, param64, 1e-5, 1e-6, "param");
  require_close(buffer32, buffer64, 1e-5, 1e-6, "momentum_buffer");
}

TEST_CASE("sgd refuses invalid hyperparameters by value") {
  Tensor param = Tensor::zeros({3}), grad = Tensor::zeros({3}), buffer = Tensor::zeros({3});
  const double inf = std::numeric_limits<double>::infinity();
  REQUIRE_THROWS_MINIDL(ops::sgd_update(param, grad, buffer, {.lr = -0.1}, true),
                        "sgd: lr must be finite and >= 0, got -0.1");
  REQUIRE_THROWS_MINIDL(ops::sgd_update(param, grad, buffer, {.lr = inf}, true),
                        "sgd: lr must be finite and >= 0, got inf");
  REQUIRE_THROWS_MINIDL(ops::sgd_update(param, grad, buffer, {.lr = 0.1, .momentum = -0.5}, true),
                        "sgd: momentum must be >= 0, got -0.5");
  REQUIRE_THROWS_MINIDL(ops::sgd_update(param, grad, buffer, {.lr = 0.1, .weight_decay = -1e-4}, true),
                        "sgd: weight_decay must be >= 0, got -0.0001");
  REQUIRE_THROWS_MINIDL(ops::sgd_update(param, grad, buffer, {.lr = 0.1, .nesterov = true}, true),
                        "sgd: nesterov requires momentum > 0 and dampening == 0, got momentum 0 and dampening 0");
  REQUIRE_THROWS_MINIDL(
      ops::sgd_update(param, grad, buffer, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}, true),
      "sgd: nesterov requires momentum > 0 and dampening == 0, got momentum 0.9 and dampening 0.1");
}

TEST_CASE("sgd refuses bad shapes and dtypes by name") {
  Tensor param = Tensor::zeros({2, 3}), buffer = Tensor::zeros({2, 3});
  Tensor wrong_grad = Tensor::zeros({3, 2});
  REQUIRE_THROWS_MINIDL(ops::sgd_update(param, wrong_grad, buffer, {}, true),
                        "sgd: grad must have shape (2, 3), got (3, 2)");
  Tensor double_grad = Tensor::zeros({2, 3}, DType::f64);
  REQUIRE_THROWS_MINIDL(ops::sgd_update(param, double_grad, buffer, {}, true),
                        "sgd: grad must have dtype f32, got f64");
  Tensor grad = Tensor::zeros({2, 3}), no_buffer;
  REQUIRE_THROWS_MINIDL(ops::sgd_update(param, grad, no_buffer, {.momentum = 0.9}, true),
                        "sgd: momentum_buffer is undefined");
  Tensor short_buffer = Tensor::zeros({5});
  REQUIRE_THROWS_MINIDL(ops::sgd_update(param, grad, short_buffer, {.momentum = 0.9}, true),
                        "sgd: momentum_buffer must have shape (2, 3), got (5)");
}

TEST_CASE("sgd refuses tensors on different devices") {
  if (!cuda_is_available()) {
    REQUIRE_THROWS_MINIDL(Tensor::zeros({3}, DType::f32, Device::cuda()), cuda_unavailable_reason());
    return;
  }
  Tensor param = Tensor::zeros({3}), grad = Tensor::zeros({3}, DType::f32, Device::cuda()), no_buffer;
  REQUIRE_THROWS_MINIDL(ops::sgd_update(param, grad, no_buffer, {}, true), "sgd: grad must be on cpu, got cuda:0");
}
