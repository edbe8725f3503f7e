#include "minidl/optim/sgd.h"

#include <cmath>

#include "minidl/kernels/sgd.h"
#if defined(MINIDL_WITH_CUDA)
#include "minidl/kernels/cuda/sgd.h"
#endif

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

#if defined(MINIDL_WITH_CUDA)
struct SGD::CudaTable {
  explicit CudaTable(const std::vector<cuda::SgdTensor>& tensors) : tensors(tensors), table(tensors) {}
  std::vector<cuda::SgdTensor> tensors;  // what table holds, in host memory
  cuda::SgdParameterTable table;
};
#endif

bool SGD::step_fused_on_cuda([[maybe_unused]] const Tensor& skip_update) {
#if defined(MINIDL_WITH_CUDA)
  const bool uses_momentum = options_.momentum != 0.0;
  std::size_t with_buffer = 0;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const nn::Parameter& parameter = *parameters_[i];
    if (!parameter.value.device().is_cuda() || parameter.value.dtype() != DType::f32 || !parameter.grad.defined())
      return false;
    if (momentum_buffers_[i].defined()) ++with_buffer;
  }
  // One first_step flag serves every parameter.
  if (uses_momentum && with_buffer != 0 && with_buffer != parameters_.size()) return false;
  const bool first_step = uses_momentum && with_buffer == 0;

  // The checks ops::sgd_update makes.
  ops::SgdParams params{options_.lr, options_.momentum, options_.dampening, options_.weight_decay,
                        options_.nesterov};
  ops::check_sgd_params(params);
  if (skip_update.defined()) ops::check_skip_update(skip_update, parameters_[0]->value.device());
  std::vector<Tensor> buffers = momentum_buffers_;
  std::vector<cuda::SgdTensor> tensors;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const nn::Parameter& parameter = *parameters_[i];
    const Device device = parameter.value.device();
    check_device(parameter.grad, device, "sgd", "grad");
    check_dtype(parameter.grad, DType::f32, "sgd", "grad");
    check_shape(parameter.grad, parameter.value.shape(), "sgd", "grad");
    if (first_step) buffers[i] = Tensor::empty(parameter.value.shape(), DType::f32, device);
    tensors.push_back({parameter.value.data<float>(), parameter.grad.data<float>(),
                       buffers[i].defined() ? buffers[i].data<float>() : nullptr, parameter.value.numel()});
  }
  if (cuda_table_ == nullptr || cuda_table_->tensors != tensors) cuda_table_ = std::make_shared<CudaTable>(tensors);
  cuda::SgdHyperparameters hyperparameters{static_cast<float>(params.lr), static_cast<float>(params.momentum),
                                           static_cast<float>(params.dampening),
                                           static_cast<float>(params.weight_decay), params.nesterov};
  cuda::sgd_update(cuda_table_->table, hyperparameters, first_step,
                   skip_update.defined() ? skip_update.data<std::int64_t>() : nullptr);
  momentum_buffers_ = std::move(buffers);  // new buffers are kept only once the update has filled them
  return true;
#else
  return false;
#endif
}

// One launch for all parameters where step_fused_on_cuda can, else one
// sgd_update per parameter, with the same per-parameter rule and first-step test.
void SGD::step(const Tensor& skip_update) {
  if (step_fused_on_cuda(skip_update)) {
    ++step_count_;
    return;
  }
  ops::SgdParams params{options_.lr, options_.momentum, options_.dampening, options_.weight_decay,
                        options_.nesterov};
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    nn::Parameter& parameter = *parameters_[i];
    if (!parameter.grad.defined()) continue;
    Tensor buffer = momentum_buffers_[i];
    // PyTorch creates the buffer on the first step that uses momentum and sets it to d.
    bool first_step = options_.momentum != 0.0 && !buffer.defined();
    if (first_step) buffer = Tensor::empty(parameter.value.shape(), parameter.value.dtype(), parameter.value.device());
    ops::sgd_update(parameter.value, parameter.grad, buffer, params, first_step, skip_update);
    momentum_buffers_[i] = buffer;  // a new buffer is kept only once the update has filled it
  }
  ++step_count_;
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
