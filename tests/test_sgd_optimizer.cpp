// Specification of optim::SGD: PyTorch's values (tests/fixtures/optim/sgd.json,
// written by scripts/make_optim_fixtures.py), the handling of grads and
// momentum buffers, option checks and checkpoint state.
#include <cmath>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "gradcheck.h"
#include "minidl/optim/sgd.h"
#include "json_fixture.h"
#include "test_support.h"

using namespace minidl;
using minidl::testing::require_close;

namespace {

nlohmann::json load_fixture(const std::string& name) { return testing::load_json_fixture("optim/" + name); }

Tensor vector_tensor(const std::vector<double>& values, DType dtype) {
  Shape shape{static_cast<std::int64_t>(values.size())};
  if (dtype == DType::f64) return Tensor::from_vector(shape, values);
  return Tensor::from_vector(shape, std::vector<float>(values.begin(), values.end()));
}

nn::Parameter make_parameter(const std::string& name, const std::vector<double>& values,
                             DType dtype = DType::f64) {
  return {name, vector_tensor(values, dtype), Tensor()};
}

}  // namespace

// Tolerances: in f64 minidl and PyTorch do the same few operations per element,
// so they agree to rounding (rtol 1e-12); in f32 they may round the fused and
// unfused forms differently by an ulp or two (rtol 1e-6, atol 1e-7).
TEST_CASE("SGD reproduces PyTorch's parameters step by step") {
  nlohmann::json fixture = load_fixture("sgd.json");
  REQUIRE(fixture["cases"].size() >= 5);
  for (const nlohmann::json& fixture_case : fixture["cases"]) {
    std::string name = fixture_case["name"].get<std::string>();
    INFO("case " << name);
    DType dtype = fixture_case["dtype"] == "f64" ? DType::f64 : DType::f32;
    double rtol = dtype == DType::f64 ? 1e-12 : 1e-6;
    double atol = dtype == DType::f64 ? 1e-15 : 1e-7;
    const nlohmann::json& options_json = fixture_case["options"];
    optim::SgdOptions options{.lr = options_json["lr"].get<double>(),
                              .momentum = options_json.value("momentum", 0.0),
                              .dampening = options_json.value("dampening", 0.0),
                              .weight_decay = options_json.value("weight_decay", 0.0),
                              .nesterov = options_json.value("nesterov", false)};
    nn::Parameter parameter = make_parameter("weight", fixture_case["initial"].get<std::vector<double>>(), dtype);
    optim::SGD optimizer({&parameter}, options);

    for (std::size_t step = 0; step < fixture_case["grads"].size(); ++step) {
      INFO("step " << step);
      optimizer.set_lr(fixture_case["lrs"][step].get<double>());
      parameter.grad = vector_tensor(fixture_case["grads"][step].get<std::vector<double>>(), dtype);
      optimizer.step();
      Tensor expected = vector_tensor(fixture_case["params_after"][step].get<std::vector<double>>(), dtype);
      require_close(parameter.value, expected, rtol, atol, name);
    }
  }
}

TEST_CASE("SGD skips parameters without a grad") {
  nn::Parameter with_grad = make_parameter("a", {1.0, 2.0});
  nn::Parameter without_grad = make_parameter("b", {3.0, 4.0});
  with_grad.grad = vector_tensor({0.5, -0.5}, DType::f64);
  optim::SGD optimizer({&with_grad, &without_grad}, {.lr = 0.1, .momentum = 0.9});

  optimizer.step();

  require_close(with_grad.value, vector_tensor({0.95, 2.05}, DType::f64), 1e-15, 0.0, "updated");
  REQUIRE(without_grad.value.to_vector<double>() == std::vector<double>{3.0, 4.0});
  REQUIRE(optimizer.momentum_buffers()[0].defined());
  REQUIRE_FALSE(optimizer.momentum_buffers()[1].defined());
}

TEST_CASE("zero_grad sets every defined grad to zero") {
  nn::Parameter with_grad = make_parameter("a", {1.0, 2.0});
  nn::Parameter without_grad = make_parameter("b", {3.0});
  with_grad.grad = vector_tensor({0.5, -0.5}, DType::f64);
  optim::SGD optimizer({&with_grad, &without_grad}, {.lr = 0.1});

  optimizer.zero_grad();

  REQUIRE(with_grad.grad.to_vector<double>() == std::vector<double>{0.0, 0.0});
  REQUIRE_FALSE(without_grad.grad.defined());
}

TEST_CASE("set_lr takes effect at the next step") {
  nn::Parameter parameter = make_parameter("w", {1.0});
  parameter.grad = vector_tensor({1.0}, DType::f64);
  optim::SGD optimizer({&parameter}, {.lr = 0.25});

  optimizer.step();
  REQUIRE(parameter.value.item<double>() == 0.75);
  optimizer.set_lr(0.5);
  optimizer.step();
  REQUIRE(optimizer.lr() == 0.5);
  REQUIRE(parameter.value.item<double>() == 0.25);
}

TEST_CASE("momentum buffers start at the first step on the parameter's device") {
  nn::Parameter parameter = make_parameter("w", {1.0, -1.0, 2.0});
  parameter.grad = vector_tensor({0.5, 0.25, -1.0}, DType::f64);
  optim::SGD optimizer({&parameter}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.5});
  REQUIRE_FALSE(optimizer.momentum_buffers()[0].defined());
  REQUIRE(optimizer.step_count() == 0);

  optimizer.step();

  // First step: buffer = grad + weight_decay * param (before the update).
  const Tensor& buffer = optimizer.momentum_buffers()[0];
  REQUIRE(buffer.defined());
  REQUIRE(buffer.shape() == parameter.value.shape());
  REQUIRE(buffer.dtype() == parameter.value.dtype());
  REQUIRE(buffer.device() == parameter.value.device());
  require_close(buffer, vector_tensor({1.0, -0.25, 0.0}, DType::f64), 1e-15, 0.0, "momentum buffer");
  REQUIRE(optimizer.step_count() == 1);
}

TEST_CASE("SGD without momentum keeps no momentum buffer") {
  nn::Parameter parameter = make_parameter("w", {1.0});
  parameter.grad = vector_tensor({1.0}, DType::f64);
  optim::SGD optimizer({&parameter}, {.lr = 0.1, .weight_decay = 1e-4});
  optimizer.step();
  REQUIRE_FALSE(optimizer.momentum_buffers()[0].defined());
}

TEST_CASE("SGD rejects invalid options with a message naming the value") {
  nn::Parameter parameter = make_parameter("w", {1.0});
  std::vector<nn::Parameter*> parameters{&parameter};
  double nan = std::numeric_limits<double>::quiet_NaN();
  double inf = std::numeric_limits<double>::infinity();

  REQUIRE_THROWS_MINIDL(optim::SGD(parameters, {.lr = -0.1}), "SGD: invalid learning rate -0.1");
  REQUIRE_THROWS_MINIDL(optim::SGD(parameters, {.lr = nan}), "SGD: invalid learning rate nan");
  REQUIRE_THROWS_MINIDL(optim::SGD(parameters, {.lr = inf}), "SGD: invalid learning rate inf");
  REQUIRE_THROWS_MINIDL(optim::SGD(parameters, {.lr = 0.1, .momentum = -0.5}), "SGD: invalid momentum -0.5");
  REQUIRE_THROWS_MINIDL(optim::SGD(parameters, {.lr = 0.1, .weight_decay = -1}), "SGD: invalid weight_decay -1");
  REQUIRE_THROWS_MINIDL(optim::SGD(parameters, {.lr = 0.1, .nesterov = true}),
                        "nesterov momentum requires momentum > 0 and dampening 0, got momentum 0 and dampening 0");
  REQUIRE_THROWS_MINIDL(optim::SGD(parameters, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                        "got momentum 0.9 and dampening 0.1");
  REQUIRE_THROWS_MINIDL(optim::SGD({}, {.lr = 0.1}), "SGD: got an empty parameter list");
  REQUIRE_THROWS_MINIDL(optim::SGD({&parameter, nullptr}, {.lr = 0.1}), "SGD: parameter 1 is null");

}

TEST_CASE("step rejects an lr or momentum set out of range") {
  nn::Parameter parameter = make_parameter("w", {1.0});
  parameter.grad = vector_tensor({1.0}, DType::f64);
  optim::SGD optimizer({&parameter}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  optimizer.set_lr(-1.0);
  REQUIRE_THROWS_MINIDL(optimizer.step(), "lr must be finite and >= 0, got -1");
  REQUIRE_FALSE(optimizer.momentum_buffers()[0].defined());
  optimizer.set_lr(0.1);
  optimizer.set_momentum(0.0);
  REQUIRE_THROWS_MINIDL(optimizer.step(), "nesterov requires momentum > 0");
  REQUIRE(parameter.value.item<double>() == 1.0);
}

TEST_CASE("an SGD restored from its state continues exactly like the original") {
  std::vector<double> initial{0.5, -1.5, 2.0, 0.25};
  std::vector<std::vector<double>> grads{
      {0.1, 0.2, -0.3, 0.4}, {-0.5, 0.6, 0.7, -0.8}, {0.9, -1.0, 1.1, 1.2}, {0.3, 0.3, -0.3, 0.3}, {1.0, 0.0, 0.5, -2.0}};
  optim::SgdOptions options{.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true};
  nn::Parameter original = make_parameter("w", initial);
  nn::Parameter skipped = make_parameter("never_stepped", {1.0});
  optim::SGD optimizer({&original, &skipped}, options);
  for (int step = 0; step < 2; ++step) {
    original.grad = vector_tensor(grads[step], DType::f64);
    optimizer.step();
  }
  optimizer.set_lr(0.05);

  nn::Parameter restored{"w", original.value.clone(), Tensor()};
  nn::Parameter restored_skipped = make_parameter("never_stepped", {1.0});
  optim::SGD restored_optimizer({&restored, &restored_skipped}, options);
  restored_optimizer.load_state(optimizer.state());
  REQUIRE(restored_optimizer.lr() == 0.05);
  REQUIRE(restored_optimizer.step_count() == 2);
  REQUIRE_FALSE(restored_optimizer.momentum_buffers()[1].defined());

  for (int step = 2; step < 5; ++step) {
    original.grad = vector_tensor(grads[step], DType::f64);
    restored.grad = vector_tensor(grads[step], DType::f64);
    optimizer.step();
    restored_optimizer.step();
    REQUIRE(restored.value.to_vector<double>() == original.value.to_vector<double>());
  }
}

TEST_CASE("load_state rejects momentum buffers that do not fit the parameters") {
  nn::Parameter parameter = make_parameter("w", {1.0, 2.0});
  optim::SGD optimizer({&parameter}, {.lr = 0.1, .momentum = 0.9});
  optim::SgdState state = optimizer.state();

  state.momentum_buffers = {};
  REQUIRE_THROWS_MINIDL(optimizer.load_state(state), "expected 1 momentum buffers (one per parameter), got 0");
  state.momentum_buffers = {Tensor::zeros(Shape{3}, DType::f64)};
  REQUIRE_THROWS_MINIDL(optimizer.load_state(state), "momentum buffer of 'w'");
  state.momentum_buffers = {Tensor::zeros(Shape{2}, DType::f32)};
  REQUIRE_THROWS_MINIDL(optimizer.load_state(state), "momentum buffer of 'w'");
}
