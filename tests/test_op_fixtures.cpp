// minidl's ops against PyTorch, the second oracle next to the finite differences:
// every case of tests/fixtures/ops/<op>.safetensors (written by scripts/make_op_fixtures.py
// with torch 1.13 in float64) is replayed through the Tensor-level op in f64 on the CPU.
//
// Tolerance: |minidl - torch| <= 1e-12 + 1e-10 * |torch| elementwise. Both sides compute
// in float64 from the same inputs and differ only in the order of their sums (and, in
// batch norm, in how divisions and square roots are grouped). A sum of n terms of size
// up to S then differs by about n * 1.1e-16 * S; here n <= 100 and S <= ~1e3 (the large
// logits), so 1e-10 relative with 1e-12 absolute for results that cancel to near 0
// leaves a wide margin while any wrong index, sign or formula is off by far more.
// Integer results (max-pool indices, the count of correct predictions) must be equal.
#include <string>

#include "minidl/core/safetensors.h"
#include "gradcheck.h"
#include "safetensors_fixture.h"
#include "minidl/kernels/ops.h"
#include "test_support.h"

using namespace minidl;

namespace {

constexpr double kRtol = 1e-10;
constexpr double kAtol = 1e-12;

// The cases of one op's fixture file, fixtures/ops/<op>.safetensors.
struct OpFixture : testing::SafetensorsFixture {
  explicit OpFixture(const std::string& op)
      : SafetensorsFixture(std::string(MINIDL_FIXTURE_DIR) + "/ops/" + op + ".safetensors") {}
};

// minidl's result against the fixture's tensor of the same name.
void require_matches(const OpFixture& fixture, int k, const Tensor& actual, const std::string& name) {
  testing::require_close(actual, fixture.tensor(k, name), kRtol, kAtol, name);
}

void require_equal(const OpFixture& fixture, int k, const Tensor& actual, const std::string& name) {
  testing::require_close(actual, fixture.tensor(k, name), 0.0, 0.0, name);
}

Tensor zeros_like(const Tensor& t) { return Tensor::zeros(t.shape(), t.dtype()); }

}  // namespace

TEST_CASE("conv2d matches pytorch on every case of its fixture") {
  OpFixture fixture("conv2d");
  for (int k = 0; k < fixture.num_cases(); ++k) {
    INFO("case " << k << ": " << fixture.description(k));
    ops::Conv2dParams params{static_cast<int>(fixture.param(k, "stride")), static_cast<int>(fixture.param(k, "padding"))};
    const Tensor& input = fixture.tensor(k, "input");
    const Tensor& weight = fixture.tensor(k, "weight");
    Tensor bias = fixture.has(k, "bias") ? fixture.tensor(k, "bias") : Tensor();

    Tensor output = Tensor::empty(ops::conv2d_output_shape(input.shape(), weight.shape(), params), DType::f64);
    ops::conv2d_forward(input, weight, bias, output, params);
    require_matches(fixture, k, output, "output");

    Tensor grad_input = zeros_like(input), grad_weight = zeros_like(weight);
    Tensor grad_bias = bias.defined() ? zeros_like(bias) : Tensor();
    ops::conv2d_backward(fixture.tensor(k, "grad_output"), input, weight, grad_input, grad_weight, grad_bias, params);
    require_matches(fixture, k, grad_input, "grad_input");
    require_matches(fixture, k, grad_weight, "grad_weight");
    if (bias.defined()) require_matches(fixture, k, grad_bias, "grad_bias");
  }
}

TEST_CASE("max_pool2d matches pytorch on every case of its fixture") {
  OpFixture fixture("max_pool2d");
  for (int k = 0; k < fixture.num_cases(); ++k) {
    INFO("case " << k << ": " << fixture.description(k));
    ops::MaxPool2dParams params{static_cast<int>(fixture.param(k, "kernel_size")),
                                static_cast<int>(fixture.param(k, "stride"))};
    const Tensor& input = fixture.tensor(k, "input");

    Shape output_shape = ops::max_pool2d_output_shape(input.shape(), params);
    Tensor output = Tensor::empty(output_shape, DType::f64);
    Tensor indices = Tensor::empty(output_shape, DType::i32);
    ops::max_pool2d_forward(input, output, indices, params);
    require_equal(fixture, k, output, "output");
    require_equal(fixture, k, indices, "indices");

    Tensor grad_input = Tensor::empty(input.shape(), DType::f64);
    ops::max_pool2d_backward(fixture.tensor(k, "grad_output"), indices, grad_input, params);
    require_matches(fixture, k, grad_input, "grad_input");
  }
}

TEST_CASE("relu matches pytorch on every case of its fixture") {
  OpFixture fixture("relu");
  for (int k = 0; k < fixture.num_cases(); ++k) {
    INFO("case " << k << ": " << fixture.description(k));
    const Tensor& input = fixture.tensor(k, "input");
    Tensor output = Tensor::empty(input.shape(), DType::f64);
    ops::relu_forward(input, output);
    require_equal(fixture, k, output, "output");

    Tensor grad_input = Tensor::empty(input.shape(), DType::f64);
    ops::relu_backward(fixture.tensor(k, "grad_output"), output, grad_input);
    require_equal(fixture, k, grad_input, "grad_input");
  }
}

TEST_CASE("batch_norm2d matches pytorch on every case of its fixture") {
  OpFixture fixture("batch_norm2d");
  for (int k = 0; k < fixture.num_cases(); ++k) {
    INFO("case " << k << ": " << fixture.description(k));
    ops::BatchNormParams params{fixture.param(k, "eps"), fixture.param(k, "momentum")};
    const Tensor& input = fixture.tensor(k, "input");
    const Tensor& weight = fixture.tensor(k, "weight");
    const Tensor& bias = fixture.tensor(k, "bias");
    Tensor output = zeros_like(input);
    Tensor grad_input = zeros_like(input), grad_weight = zeros_like(weight), grad_bias = zeros_like(bias);
    const Tensor& grad_output = fixture.tensor(k, "grad_output");

    if (fixture.param(k, "training") != 0.0) {
      // Running statistics start at PyTorch's defaults, 0 and 1.
      Tensor running_mean = zeros_like(weight);
      Tensor running_var = Tensor::full(weight.shape(), 1.0, DType::f64);
      Tensor save_mean = zeros_like(weight), save_invstd = zeros_like(weight);
      ops::batch_norm2d_forward_train(input, weight, bias, running_mean, running_var, output, save_mean, save_invstd,
                                      params);
      require_matches(fixture, k, output, "output");
      require_matches(fixture, k, running_mean, "running_mean");
      require_matches(fixture, k, running_var, "running_var");
      require_matches(fixture, k, save_mean, "save_mean");
      require_matches(fixture, k, save_invstd, "save_invstd");
      ops::batch_norm2d_backward_train(grad_output, input, weight, save_mean, save_invstd, grad_input, grad_weight,
                                       grad_bias);
    } else {
      const Tensor& running_mean = fixture.tensor(k, "running_mean");
      const Tensor& running_var = fixture.tensor(k, "running_var");
      ops::batch_norm2d_forward_eval(input, weight, bias, running_mean, running_var, output, params);
      require_matches(fixture, k, output, "output");
      ops::batch_norm2d_backward_eval(grad_output, input, weight, running_mean, running_var, grad_input, grad_weight,
                                      grad_bias, params);
    }
    require_matches(fixture, k, grad_input, "grad_input");
    require_matches(fixture, k, grad_weight, "grad_weight");
    require_matches(fixture, k, grad_bias, "grad_bias");
  }
}

TEST_CASE("linear matches pytorch on every case of its fixture") {
  OpFixture fixture("linear");
  for (int k = 0; k < fixture.num_cases(); ++k) {
    INFO("case " << k << ": " << fixture.description(k));
    const Tensor& input = fixture.tensor(k, "input");
    const Tensor& weight = fixture.tensor(k, "weight");
    Tensor bias = fixture.has(k, "bias") ? fixture.tensor(k, "bias") : Tensor();

    Tensor output = Tensor::empty({input.size(0), weight.size(0)}, DType::f64);
    ops::linear_forward(input, weight, bias, output);
    require_matches(fixture, k, output, "output");

    Tensor grad_input = zeros_like(input), grad_weight = zeros_like(weight);
    Tensor grad_bias = bias.defined() ? zeros_like(bias) : Tensor();
    ops::linear_backward(fixture.tensor(k, "grad_output"), input, weight, grad_input, grad_weight, grad_bias);
    require_matches(fixture, k, grad_input, "grad_input");
    require_matches(fixture, k, grad_weight, "grad_weight");
    if (bias.defined()) require_matches(fixture, k, grad_bias, "grad_bias");
  }
}

TEST_CASE("cross_entropy matches pytorch on every case of its fixture") {
  OpFixture fixture("cross_entropy");
  for (int k = 0; k < fixture.num_cases(); ++k) {
    INFO("case " << k << ": " << fixture.description(k));
    const Tensor& logits = fixture.tensor(k, "logits");
    Tensor loss = Tensor::empty({1}, DType::f64);
    Tensor grad_logits = zeros_like(logits);
    Tensor num_correct = Tensor::empty({1}, DType::i32);
    ops::cross_entropy_forward_backward(logits, fixture.tensor(k, "labels"), loss, grad_logits, num_correct);
    require_matches(fixture, k, loss, "loss");
    require_matches(fixture, k, grad_logits, "grad_logits");
    require_equal(fixture, k, num_correct, "num_correct");
  }
}

TEST_CASE("sgd matches torch.optim.SGD over three steps on every case of its fixture") {
  OpFixture fixture("sgd");
  for (int k = 0; k < fixture.num_cases(); ++k) {
    INFO("case " << k << ": " << fixture.description(k));
    ops::SgdParams params{fixture.param(k, "lr"), fixture.param(k, "momentum"), fixture.param(k, "dampening"),
                          fixture.param(k, "weight_decay"), fixture.param(k, "nesterov") != 0.0};
    Tensor param = fixture.tensor(k, "param").clone();
    Tensor momentum_buffer = zeros_like(param);
    for (int step = 0; step < static_cast<int>(fixture.param(k, "num_steps")); ++step) {
      INFO("step " << step);
      ops::sgd_update(param, fixture.tensor(k, "grad" + std::to_string(step)), momentum_buffer, params, step == 0);
      require_matches(fixture, k, param, "param_after" + std::to_string(step));
    }
  }
}
