#include "minidl/optim/sgd.h"

#include <cmath>

#include "minidl/kernels/sgd.h"

namespace minidl::optim {

namespace {

// torch.optim.SGD's checks; each is written so that NaN fails it.
void check_options(const SgdOptions& options) {
  if (!(options.lr >= 0.0) || !std::isfinite(options.lr)) fail("SGD: invalid learning rate {}", options.lr);
  if (!(options.momentum >= 0.0) || !std::isfinite(options.momentum))
    fail("SGD: invalid momentum {}", options.momentum);
  if (!std::isfinite(options.dampening)) fail("SGD: invalid dampening {}", options.dampening);
  if (!(options.weight_decay >= 0.0) || !std::isfinite(options.weight_decay))
    fail("SGD: invalid weight_decay {}", options.weight_decay);
  if (options.nesterov && (options.momentum <= 0.0 || options.dampening != 0.0))
    fail("SGD: nesterov momentum requires momentum > 0 and dampening 0, got momentum {} and dampening {}",
         options.momentum, options.dampening);
}

}  // namespace

SGD::SGD(std::vector<nn::Parameter*> parameters, SgdOptions options)
    : parameters_(std::move(parameters)), options_(options) {
  check_options(options_);
  if (parameters_.empty()) fail("SGD: got an empty parameter list");
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    if (parameters_[i] == nullptr) fail("SGD: parameter {} is null", i);
    if (!parameters_[i]->value.defined()) fail("SGD: parameter {} ('{}') has no value", i, parameters_[i]->name);
  }
  momentum_buffers_.resize(parameters_.size());
}

void SGD::split_for_step(std::vector<Tensor>& buffers, std::vector<ops::SgdParameterTensors>& first_step,
                         std::vector<ops::SgdParameterTensors>& later_steps) {
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    nn::Parameter& parameter = *parameters_[i];
    if (!parameter.grad.defined()) continue;
    // PyTorch creates the buffer on the first step that uses momentum and sets it to d.
    const bool first = options_.momentum != 0.0 && !buffers[i].defined();
    if (first) buffers[i] = Tensor::empty(parameter.value.shape(), parameter.value.dtype(), parameter.value.device());
    (first ? first_step : later_steps).push_back({&parameter.value, &parameter.grad, &buffers[i]});
  }
}

// One update for all parameters with a grad (on CUDA one launch, kernels/sgd.h), split
// in two where some parameters take their first momentum step and others do not.
ops::SgdParams SGD::kernel_params() const {
  return {options_.lr, options_.momentum, options_.dampening, options_.weight_decay, options_.nesterov};
}

void SGD::step(const Tensor& skip_update) {
  const ops::SgdParams params = kernel_params();
  std::vector<Tensor> buffers = momentum_buffers_;
  std::vector<ops::SgdParameterTensors> first_step, later_steps;
  split_for_step(buffers, first_step, later_steps);
  // The usual step has one list, which keeps its table in workspace_ from step to step.
  if (!first_step.empty())
    ops::sgd_update(first_step, params, true, skip_update, later_steps.empty() ? &workspace_ : &first_step_workspace_);
  if (!later_steps.empty()) ops::sgd_update(later_steps, params, false, skip_update, &workspace_);
  momentum_buffers_ = std::move(buffers);  // new buffers are kept only once the update has filled them
  ++step_count_;
}

void SGD::prepare_replay() {
  const ops::SgdParams params = kernel_params();
  std::vector<Tensor> buffers = momentum_buffers_;
  std::vector<ops::SgdParameterTensors> first_step, later_steps;
  split_for_step(buffers, first_step, later_steps);
  if (!first_step.empty())
    fail("SGD::prepare_replay: a parameter has not taken its first momentum step: capture steps after it");
  ops::sgd_prepare(later_steps, params, &workspace_);
}

void SGD::zero_grad() {
  for (nn::Parameter* parameter : parameters_)
    if (parameter->grad.defined()) parameter->grad.zero_();
}

SgdState SGD::state() const { return {options_.lr, options_.momentum, initial_lr_, step_count_, momentum_buffers_}; }

void SGD::load_state(const SgdState& state) {
  if (state.momentum_buffers.size() != parameters_.size())
    fail("SGD::load_state: expected {} momentum buffers (one per parameter), got {}", parameters_.size(),
         state.momentum_buffers.size());
  std::vector<Tensor> buffers(parameters_.size());
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const Tensor& saved = state.momentum_buffers[i];
    if (!saved.defined()) continue;
    const Tensor& value = parameters_[i]->value;
    std::string name = fmt::format("momentum buffer of '{}'", parameters_[i]->name);
    check_shape(saved, value.shape(), "SGD::load_state", name.c_str());
    check_dtype(saved, value.dtype(), "SGD::load_state", name.c_str());
    buffers[i] = saved.to(value.device());
  }
  options_.lr = state.lr;
  options_.momentum = state.momentum;
  initial_lr_ = state.initial_lr;
  step_count_ = state.step_count;
  momentum_buffers_ = std::move(buffers);
}

}  // namespace minidl::optim
