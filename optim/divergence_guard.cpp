#include "minidl/optim/divergence_guard.h"

#include "minidl/core/cuda_runtime.h"
#include "minidl/kernels/divergence_check.h"

namespace minidl::optim {

namespace {

// The positions in state_ (kernels/divergence_check.h).
constexpr int kFirstBadStep = 0;
constexpr int kBadSteps = 1;
constexpr int kStep = 2;

DivergenceReport report_of(const std::int64_t* state) {
  DivergenceReport report;
  if (state[kFirstBadStep] != -1) report.first_bad_step = state[kFirstBadStep];
  report.bad_steps = state[kBadSteps];
  return report;
}

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
  if (step != next_step_) {
    const Tensor step_value = Tensor::full({1}, static_cast<double>(step), DType::i64);
    Tensor slot = state_.slice(kStep, kStep + 1);
    slot.copy_from(step_value);
  }
  ops::divergence_check(loss, gradients, policy_ == DivergencePolicy::stop, state_, skip_update_, &workspace_);
  next_step_ = step + 1;
}

// The CUDA side of request_report: pinned memory the state is copied to, and the event
// recorded after the copy.
struct DivergenceGuard::Report {
  Report() : pinned(3 * sizeof(std::int64_t)) {}
  cuda::PinnedBuffer pinned;
  cuda::Event copied;
  bool requested = false;
};

void DivergenceGuard::request_report() {
  if (device_.is_cpu()) return;  // ready_report reads the state itself
  if (report_ == nullptr) report_ = std::make_shared<Report>();
  cuda::copy_device_to_host_queued(report_->pinned.data(), state_.raw_data(), state_.nbytes());
  report_->copied.record();
  report_->requested = true;
}

std::optional<DivergenceReport> DivergenceGuard::ready_report() {
  if (device_.is_cpu()) return poll();
  if (report_ == nullptr || !report_->requested || !report_->copied.done()) return std::nullopt;
  return report_of(static_cast<const std::int64_t*>(report_->pinned.data()));
}

DivergenceReport DivergenceGuard::poll() const {
  Tensor state = state_.to(Device::cpu());
  return report_of(state.data<std::int64_t>());
}

void DivergenceGuard::load_state(const DivergenceReport& report) {
  Tensor state = Tensor::empty({3}, DType::i64, Device::cpu());
  state.data<std::int64_t>()[kFirstBadStep] = report.first_bad_step.value_or(-1);
  state.data<std::int64_t>()[kBadSteps] = report.bad_steps;
  state.data<std::int64_t>()[kStep] = 0;  // the next check writes its step
  state_ = state.to(device_);
  skip_update_ = Tensor::zeros({1}, DType::i64, device_);
  next_step_ = -1;
}

}  // namespace minidl::optim
