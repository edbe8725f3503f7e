#include "minidl/layers/module.h"

#include <cmath>
#include <limits>

namespace minidl::nn {

namespace {
thread_local bool grad_mode_enabled = true;
}

NoGradGuard::NoGradGuard() : previous_(grad_mode_enabled) { grad_mode_enabled = false; }
NoGradGuard::~NoGradGuard() { grad_mode_enabled = previous_; }
bool grad_enabled() { return grad_mode_enabled; }

Tensor& reuse_or_allocate(Tensor& cached, const Shape& shape, DType dtype, Device device) {
  if (!cached.defined() || cached.shape() != shape || cached.dtype() != dtype || cached.device() != device)
    cached = Tensor::empty(shape, dtype, device);
  return cached;
}

bool Module::fuses_following_relu(const Tensor&) const { return false; }

Tensor Module::forward_fused_relu(const Tensor&) {
  fail("{}: this layer does not fuse a following ReLU (check fuses_following_relu first)", repr());
}

void Module::zero_grad() {
  for (Parameter* parameter : parameters()) parameter->grad.zero_();
}

std::int64_t Module::parameter_count() {
  std::int64_t count = 0;
  for (Parameter* parameter : parameters()) count += parameter->value.numel();
  return count;
}

void Module::to(Device device) {
  for (Parameter* parameter : parameters()) {
    parameter->value = parameter->value.to(device);
    parameter->grad = parameter->grad.to(device);
  }
  for (Buffer* buffer : buffers()) buffer->value = buffer->value.to(device);
}

std::map<std::string, Tensor> Module::state_dict() {
  std::map<std::string, Tensor> state;
  for (Parameter* parameter : parameters()) state[parameter->name] = parameter->value;
  for (Buffer* buffer : buffers()) state[buffer->name] = buffer->value;
  return state;
}

namespace {

// Names every missing key (and, when strict, every unexpected one), wrong shape or dtype.
void check_keys_shapes_dtypes(const std::map<std::string, Tensor>& state, const std::map<std::string, Tensor>& own,
                              bool strict) {
  for (const auto& [name, target] : own) {
    auto found = state.find(name);
    if (found == state.end()) fail("load_state_dict: missing key \"{}\"", name);
    const Tensor& source = found->second;
    if (source.shape() != target.shape())
      fail("load_state_dict: \"{}\" must have shape {}, got {}", name, target.shape().str(), source.shape().str());
    if (source.dtype() != target.dtype())
      fail("load_state_dict: \"{}\" must have dtype {}, got {}", name, dtype_name(target.dtype()),
           dtype_name(source.dtype()));
  }
  if (strict) {
    for (const auto& [name, source] : state)
      if (!own.contains(name)) fail("load_state_dict: unexpected key \"{}\"", name);
  }
}

// The first element of a float tensor that is not finite, or below minimum; -1 if none.
template <typename T>
std::int64_t first_out_of_range(const Tensor& host, double minimum) {
  const T* values = host.data<T>();
  for (std::int64_t i = 0; i < host.numel(); ++i) {
    const double value = static_cast<double>(values[i]);
    if (!std::isfinite(value) || value < minimum) return i;
  }
  return -1;
}

}  // namespace

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  std::map<std::string, Tensor> own = state_dict();
  // Validate everything first, so a bad file changes nothing.
  check_keys_shapes_dtypes(state, own, strict);
  for (auto& [name, target] : own) target.copy_from(state.at(name));
}

void check_state(const std::map<std::string, Tensor>& state, const std::map<std::string, Tensor>& expected) {
  check_keys_shapes_dtypes(state, expected, true);
  for (const auto& [name, tensor] : state) {
    const Tensor host = tensor.to(Device::cpu());
    const bool variance = name.ends_with("running_var");
    const double minimum = variance ? 0.0 : -std::numeric_limits<double>::infinity();
    std::int64_t bad = -1;
    if (host.dtype() == DType::f32) bad = first_out_of_range<float>(host, minimum);
    if (host.dtype() == DType::f64) bad = first_out_of_range<double>(host, minimum);
    if (host.dtype() == DType::i64) bad = first_out_of_range<std::int64_t>(host, 0.0);
    if (bad >= 0)
      fail("\"{}\" holds {} at element {}: {}", name,
           host.dtype() == DType::f32   ? fmt::format("{}", host.data<float>()[bad])
           : host.dtype() == DType::f64 ? fmt::format("{}", host.data<double>()[bad])
                                        : fmt::format("{}", host.data<std::int64_t>()[bad]),
           bad,
           host.dtype() == DType::i64 ? "a count must not be negative"
           : variance                 ? "a variance must be finite and not negative"
                                      : "every value must be finite");
  }
}

}  // namespace minidl::nn
