// Specification of optim::DivergenceGuard: a NaN or an Inf in a step's loss or
// gradients is recorded with its step, the optimizer skips the updates the policy
// says, and on CUDA none of it makes the host wait until it polls.
#include <cmath>
#include <limits>
#include <vector>

#include "minidl/optim/divergence_guard.h"
#include "minidl/optim/sgd.h"
#include "test_support.h"
#if defined(MINIDL_CUDA_EMULATOR)
#include "minidl/core/emulator/emulator.h"
#endif

using namespace minidl;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// The CPU, and CUDA where it can be used (a GPU or the emulator).
std::vector<Device> devices() {
  std::vector<Device> result{Device::cpu()};
  if (cuda_is_available()) result.push_back(Device::cuda());
  return result;
}

// Two parameters, one larger than a block of the check's kernel.
struct Model {
  explicit Model(Device device) {
    parameters[0] = {"small", Tensor::full({3}, 1.0, DType::f32, device), Tensor::zeros({3}, DType::f32, device)};
    parameters[1] = {"large", Tensor::full({1000}, 2.0, DType::f32, device),
                     Tensor::zeros({1000}, DType::f32, device)};
  }
  std::vector<nn::Parameter*> pointers() { return {&parameters[0], &parameters[1]}; }
  // The gradient of step s: 0.01 (s + 1) everywhere, with `bad` at element 777 of "large".
  void set_gradients(int step, float bad_value = 0.0f) {
    for (nn::Parameter& parameter : parameters) {
      std::vector<float> values(static_cast<std::size_t>(parameter.value.numel()), 0.01f * (step + 1));
      if (bad_value != 0.0f && parameter.name == "large") values[777] = bad_value;
      parameter.grad = Tensor::from_vector(parameter.value.shape(), values, parameter.value.device());
    }
  }
  std::vector<Tensor> snapshot() const {
    return {parameters[0].value.to(Device::cpu()), parameters[1].value.to(Device::cpu())};
  }
  nn::Parameter parameters[2];
};

bool bitwise_equal(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!testing::bitwise_equal(a[i], b[i])) return false;
  return true;
}

Tensor scalar_loss(float value, Device device) { return Tensor::full({1}, value, DType::f32, device); }

}  // namespace

TEST_CASE("with the stop policy a NaN gradient is recorded with its step and no later update happens") {
  for (Device device : devices()) {
    INFO(device.str());
    Model model(device);
    optim::SGD optimizer(model.pointers(), {.lr = 0.5, .momentum = 0.9});
    optim::DivergenceGuard guard(model.pointers(), device);
    std::vector<Tensor> before_bad_step;
    for (int step = 0; step < 6; ++step) {
      if (step == 3) before_bad_step = model.snapshot();
      model.set_gradients(step, step == 3 ? kNaN : 0.0f);
      guard.check(scalar_loss(1.0f, device), step);
      optimizer.step(guard.skip_update());
    }
    optim::DivergenceReport report = guard.poll();
    REQUIRE(report.first_bad_step == 3);
    REQUIRE(report.bad_steps == 1);
    REQUIRE(bitwise_equal(model.snapshot(), before_bad_step));
    REQUIRE(std::isfinite(model.snapshot()[1].data<float>()[777]));
  }
}

TEST_CASE("with the skip policy only the bad steps are skipped and training goes on") {
  for (Device device : devices()) {
    INFO(device.str());
    Model guarded(device), reference(device);
    optim::SGD guarded_optimizer(guarded.pointers(), {.lr = 0.5});
    optim::SGD reference_optimizer(reference.pointers(), {.lr = 0.5});
    optim::DivergenceGuard guard(guarded.pointers(), device, optim::DivergencePolicy::skip_bad_steps);
    for (int step = 0; step < 6; ++step) {
      const bool bad = step == 2 || step == 4;
      guarded.set_gradients(step, bad ? kInf : 0.0f);
      guard.check(scalar_loss(1.0f, device), step);
      guarded_optimizer.step(guard.skip_update());
      if (bad) continue;  // the reference never sees the bad steps
      reference.set_gradients(step);
      reference_optimizer.step();
    }
    optim::DivergenceReport report = guard.poll();
    REQUIRE(report.first_bad_step == 2);
    REQUIRE(report.bad_steps == 2);
    REQUIRE(bitwise_equal(guarded.snapshot(), reference.snapshot()));
  }
}

TEST_CASE("a NaN or Inf loss counts as a bad step and finite steps report nothing") {
  for (Device device : devices()) {
    INFO(device.str());
    Model model(device);
    optim::SGD optimizer(model.pointers(), {.lr = 0.5});
    optim::DivergenceGuard guard(model.pointers(), device, optim::DivergencePolicy::skip_bad_steps);
    model.set_gradients(0);
    guard.check(scalar_loss(1.0f, device), 10);
    REQUIRE_FALSE(guard.poll().first_bad_step.has_value());
    guard.check(scalar_loss(-kInf, device), 11);
    guard.check(scalar_loss(kNaN, device), 12);
    guard.check(scalar_loss(2.0f, device), 13);
    REQUIRE(guard.skip_update().to(Device::cpu()).data<std::int64_t>()[0] == 0);
    optim::DivergenceReport report = guard.poll();
    REQUIRE(report.first_bad_step == 11);
    REQUIRE(report.bad_steps == 2);
  }
}

TEST_CASE("a divergence guard's state survives a checkpoint") {
  Model model(Device::cpu());
  optim::DivergenceGuard guard(model.pointers(), Device::cpu());
  guard.load_state({.first_bad_step = 42, .bad_steps = 7});
  model.set_gradients(0);
  guard.check(scalar_loss(1.0f, Device::cpu()), 50);
  REQUIRE(guard.poll().first_bad_step == 42);
  REQUIRE(guard.poll().bad_steps == 7);
  REQUIRE(guard.skip_update().data<std::int64_t>()[0] == 1);  // stop: still skipping
}

TEST_CASE("a divergence guard refuses a loss that is not one value or not on its device") {
  Model model(Device::cpu());
  optim::DivergenceGuard guard(model.pointers(), Device::cpu());
  REQUIRE_THROWS_MINIDL(guard.check(Tensor::zeros({2}), 0), "DivergenceGuard::check: loss must have one element");
  if (!cuda_is_available()) return;
  REQUIRE_THROWS_MINIDL(guard.check(scalar_loss(1.0f, Device::cuda()), 0), "loss must be on cpu, got cuda:0");
}

TEST_CASE("on cuda guarded steps make the host wait only when it polls") {
  if (testing::skip_unless_cuda()) return;
  Model model(Device::cuda());
  optim::SGD optimizer(model.pointers(), {.lr = 0.5});
  optim::DivergenceGuard guard(model.pointers(), Device::cuda());
  Tensor loss = scalar_loss(1.0f, Device::cuda());
  model.set_gradients(0);
  guard.check(loss, 0);  // builds the gradients' table
  optimizer.step(guard.skip_update());
#if defined(MINIDL_CUDA_EMULATOR)
  emulator::Counters before = emulator::counters();
#endif
  for (int step = 1; step < 5; ++step) {
    guard.check(loss, step);
    optimizer.step(guard.skip_update());
  }
#if defined(MINIDL_CUDA_EMULATOR)
  emulator::Counters used = emulator::counters() - before;
  REQUIRE(used.host_synchronizations == 0);
  REQUIRE(used.device_allocations == 0);
  REQUIRE(used.launches == 8);  // one check and one fused update per step
#endif
  REQUIRE_FALSE(guard.poll().first_bad_step.has_value());
}

TEST_CASE("a skipped first momentum step leaves zero buffers and the next step keeps 1 minus dampening of its gradient") {
  // docs/ops/sgd.md: unlike GradScaler, which would skip the step call altogether (the next
  // step then being PyTorch's first, buf = d), minidl creates the buffers at 0 on the skipped
  // call, so the next step's buffer is momentum * 0 + (1 - dampening) d.
  for (Device device : devices()) {
    INFO(device.str());
    Model model(device);
    optim::SGD optimizer(model.pointers(), {.lr = 0.5, .momentum = 0.9, .dampening = 0.5});
    optim::DivergenceGuard guard(model.pointers(), device, optim::DivergencePolicy::skip_bad_steps);
    model.set_gradients(0, kNaN);
    guard.check(scalar_loss(1.0f, device), 0);
    optimizer.step(guard.skip_update());
    for (const Tensor& buffer : optimizer.momentum_buffers()) {
      REQUIRE(buffer.defined());
      for (float value : buffer.to(Device::cpu()).to_vector<float>()) REQUIRE(value == 0.0f);
    }
    model.set_gradients(1);  // d = 0.02
    guard.check(scalar_loss(1.0f, device), 1);
    optimizer.step(guard.skip_update());
    // buf = 0.5 * 0.02 = 0.01 and small = 1 - 0.5 * 0.01; PyTorch's first step would give 1 - 0.5 * 0.02.
    REQUIRE(optimizer.momentum_buffers()[0].to(Device::cpu()).data<float>()[0] == Approx(0.01f));
    REQUIRE(model.snapshot()[0].data<float>()[0] == Approx(0.995f));
    REQUIRE(optimizer.step_count() == 2);
  }
}
