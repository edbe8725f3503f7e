#include "minidl/optim/divergence_guard.h"

#include "minidl/kernels/divergence_check.h"

namespace minidl::optim {

namespace {

// The positions in state_ (kernels/divergence_check.h).
constexpr int kFirstBadStep = 0;
constexpr int kBadSteps = 1;

}  // namespace

DivergenceGuard::DivergenceGuard(std::vector<nn::Parameter*> parameters, Device device, DivergencePolicy policy)
    : parameters_(std::move(parameters)), device_(device), policy_(policy) {
  for (std::size_t i = 0; i < parameters_.size(); ++i)
    if (parameters_[i] == nullptr) fail("DivergenceGuard: parameter {} is null", i);
  load_state({});
}

void DivergenceGuard::check(const Tensor& loss, std::int64_t step) {
  const char* op = "DivergenceGuard::check";
  check_device(loss, device_, op, "loss");
  if (loss.numel() != 1) fail("{}: loss must have one element, got shape {}", op, loss.shape().str());
  std::vector<const Tensor*> gradients;
  for (const nn::Parameter* parameter : parameters_) {
    if (!parameter->grad.defined()) continue;
    check_device(parameter->grad, device_, op, parameter->name.c_str());
    gradients.push_back(&parameter->grad);
  }
  ops::divergence_check(loss, gradients, step, policy_ == DivergencePolicy::stop, state_, skip_update_, &workspace_);
}

DivergenceReport DivergenceGuard::poll() const {
  Tensor state = state_.to(Device::cpu());
  const std::int64_t* values = state.data<std::int64_t>();
  DivergenceReport report;
  if (values[kFirstBadStep] != -1) report.first_bad_step = values[kFirstBadStep];
  report.bad_steps = values[kBadSteps];
  return report;
}

void DivergenceGuard::load_state(const DivergenceReport& report) {
  Tensor state = Tensor::empty({2}, DType::i64, Device::cpu());
  state.data<std::int64_t>()[kFirstBadStep] = report.first_bad_step.value_or(-1);
  state.data<std::int64_t>()[kBadSteps] = report.bad_steps;
  state_ = state.to(device_);
  skip_update_ = Tensor::zeros({1}, DType::i64, device_);
}

}  // namespace minidl::optim
