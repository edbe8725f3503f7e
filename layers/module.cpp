#include "minidl/layers/module.h"

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

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  std::map<std::string, Tensor> own = state_dict();
  // Validate everything first, so a bad file changes nothing.
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
  for (auto& [name, target] : own) target.copy_from(state.at(name));
}

}  // namespace minidl::nn
