#include "minidl/optim/divergence_guard.h"

#include <cmath>

#include "minidl/kernels/dispatch.h"
#if defined(MINIDL_WITH_CUDA)
#include "minidl/kernels/cuda/divergence_check.h"
#endif

namespace minidl::optim {

namespace {

constexpr int kFirstBadStep = 0;
constexpr int kBadSteps = 1;

// True when any of the n values is NaN or Inf.
template <typename T>
bool any_not_finite(const T* values, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(values[i])) return true;
  return false;
}

bool any_not_finite(const Tensor& tensor) {
  bool found = false;
  ops::visit_float_dtype(tensor.dtype(), [&]<typename T>(T) { found = any_not_finite(tensor.data<T>(), tensor.numel()); });
  return found;
}

}  // namespace

#if defined(MINIDL_WITH_CUDA)
struct DivergenceGuard::CudaTable {
  explicit CudaTable(const std::vector<cuda::FloatSpan>& spans) : spans(spans), table(spans) {}
  std::vector<cuda::FloatSpan> spans;  // what table holds, in host memory
  cuda::FloatSpanTable table;
};
#else
struct DivergenceGuard::CudaTable {};
#endif

DivergenceGuard::DivergenceGuard(std::vector<nn::Parameter*> parameters, Device device, DivergencePolicy policy)
    : parameters_(std::move(parameters)), device_(device), policy_(policy) {
  for (std::size_t i = 0; i < parameters_.size(); ++i)
    if (parameters_[i] == nullptr) fail("DivergenceGuard: parameter {} is null", i);
  load_state({});
}

DivergenceGuard::~DivergenceGuard() = default;

void DivergenceGuard::check(const Tensor& loss, std::int64_t step) {
  const char* op = "DivergenceGuard::check";
  check_device(loss, device_, op, "loss");
  if (loss.numel() != 1) fail("{}: loss must have one element, got shape {}", op, loss.shape().str());
  for (const nn::Parameter* parameter : parameters_)
    if (parameter->grad.defined()) check_device(parameter->grad, device_, op, parameter->name.c_str());

  if (device_.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(loss, DType::f32, "DivergenceGuard::check on cuda", "loss");
    std::vector<cuda::FloatSpan> spans;
    spans.reserve(parameters_.size());
    for (const nn::Parameter* parameter : parameters_) {
      if (!parameter->grad.defined()) continue;
      check_dtype(parameter->grad, DType::f32, "DivergenceGuard::check on cuda", parameter->name.c_str());
      spans.push_back({parameter->grad.data<float>(), parameter->grad.numel()});
    }
    if (cuda_table_ == nullptr || cuda_table_->spans != spans) cuda_table_ = std::make_unique<CudaTable>(spans);
    std::int64_t* state = state_.data<std::int64_t>();
    cuda::divergence_check(loss.data<float>(), cuda_table_->table, step, policy_ == DivergencePolicy::stop,
                           {state + kFirstBadStep, state + kBadSteps, skip_update_.data<std::int64_t>()});
    return;
#else
    ops::no_cuda_implementation(op);
#endif
  }
  // The CPU: the same rule as the kernel (kernels/cuda/divergence_check.h), on the host.
  bool bad = any_not_finite(loss);
  for (const nn::Parameter* parameter : parameters_)
    if (!bad && parameter->grad.defined()) bad = any_not_finite(parameter->grad);
  std::int64_t* state = state_.data<std::int64_t>();
  if (bad) {
    state[kBadSteps] += 1;
    if (state[kFirstBadStep] == -1) state[kFirstBadStep] = step;
  }
  skip_update_.data<std::int64_t>()[0] = policy_ == DivergencePolicy::stop ? state[kFirstBadStep] != -1 : bad;
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
