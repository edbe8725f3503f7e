// The registry's rules (kernels/registry.h) and the choice API of kernels/implementation.h.
#include "minidl/kernels/registry.h"

#include <cstdlib>
#include <mutex>

#include "minidl/core/error.h"

namespace minidl::ops {

namespace {

constexpr std::array kOps = {Op::conv2d,        Op::max_pool2d, Op::relu,         Op::batch_norm2d,
                             Op::linear,        Op::cross_entropy, Op::sgd,       Op::step_metrics,
                             Op::divergence_check, Op::gather_normalize};

const char* device_name(DeviceType device) { return device == DeviceType::CPU ? "cpu" : "cuda"; }

bool serves(const ImplementationInfo& info, DType dtype) {
  for (DType served : info.dtypes)
    if (served == dtype) return true;
  return false;
}

std::string dtype_list(const std::vector<DType>& dtypes) {
  std::string text;
  for (DType dtype : dtypes) text += fmt::format("{}{}", text.empty() ? "" : ", ", dtype_name(dtype));
  return text;
}

std::string names_on(const OpRegistryBase& registry, DeviceType device) {
  std::string names;
  for (const ImplementationInfo* info : registry.list(device)) names += (names.empty() ? "" : ", ") + info->name;
  return names;
}

// The deterministic mode: 0 or 1 once set_deterministic has chosen; until then
// kDeterministicFromEnvironment, and MINIDL_DETERMINISTIC decides.
constexpr int kDeterministicFromEnvironment = -1;
std::atomic<int> g_deterministic{kDeterministicFromEnvironment};

}  // namespace

// ---- OpRegistryBase -------------------------------------------------------------------

std::vector<const ImplementationInfo*> OpRegistryBase::list(DeviceType device) const {
  std::vector<const ImplementationInfo*> on_device;
  for (const ImplementationInfo& info : infos_)
    if (info.device == device) on_device.push_back(&info);
  return on_device;
}

void OpRegistryBase::choose(DeviceType device, std::string_view name) {
  for (std::size_t i = 0; i < infos_.size(); ++i) {
    if (infos_[i].device == device && infos_[i].name == name) {
      choice_[slot(device)].store(static_cast<int>(i) + 1);
      return;
    }
  }
  std::string names = names_on(*this, device);
  if (names.empty()) fail("{} on {}: this build has no implementation (built without CUDA)", op_name(op_), device_name(device));
  fail("{} on {}: this build has no '{}' implementation (choose from {})", op_name(op_), device_name(device), name,
       names);
}

std::size_t OpRegistryBase::position(DeviceType device, DType dtype) const {
  int chosen = choice(device);
  if (chosen != 0) {
    const ImplementationInfo& info = infos_[chosen - 1];
    if (!serves(info, dtype))
      fail("{} on {}: implementation '{}' does not serve dtype {} (it serves {})", op_name(op_), device_name(device),
           info.name, dtype_name(dtype), dtype_list(info.dtypes));
    return static_cast<std::size_t>(chosen - 1);
  }
  for (std::size_t i = 0; i < infos_.size(); ++i)
    if (infos_[i].device == device && serves(infos_[i], dtype)) return i;
  if (list(device).empty())
    fail("{} on {}: this build has no implementation (built without CUDA)", op_name(op_), device_name(device));
  std::string served;
  for (const ImplementationInfo* info : list(device))
    served += fmt::format("{}{}: {}", served.empty() ? "" : "; ", info->name, dtype_list(info->dtypes));
  fail("{} on {}: no implementation serves dtype {} ({})", op_name(op_), device_name(device), dtype_name(dtype),
       served);
}

void OpRegistryBase::add_info(ImplementationInfo info) {
  for (const ImplementationInfo& existing : infos_)
    if (existing.device == info.device && existing.name == info.name)
      fail("{} on {}: implementation '{}' is registered twice", op_name(op_), device_name(info.device), info.name);
  infos_.push_back(std::move(info));
}

void OpRegistryBase::check_size(std::size_t position, std::initializer_list<const Tensor*> tensors) const {
  const ImplementationInfo& info = infos_[position];
  for (const Tensor* tensor : tensors)
    if (tensor->defined() && tensor->numel() > info.max_elements)
      fail("{} on {}: implementation '{}' indexes tensors of at most {} elements, got one of shape {} ({} elements)",
           op_name(op_), device_name(info.device), info.name, info.max_elements, tensor->shape().str(),
           tensor->numel());
}

void OpRegistryBase::check_activation(const ImplementationInfo& info, Activation activation) const {
  if (activation == Activation::relu && !info.fuses_relu)
    fail("{} on {}: implementation '{}' does not fuse a ReLU (Activation::relu)", op_name(op_),
         device_name(info.device), info.name);
}

void OpRegistryBase::check_after_relu(const ImplementationInfo& info, bool after_relu) const {
  if (after_relu && !info.fuses_relu)
    fail("{} on {}: implementation '{}' does not fuse the backward of a ReLU before it (after_relu)", op_name(op_),
         device_name(info.device), info.name);
}

OpRegistryBase& Registries::of(Op op) {
  switch (op) {
    case Op::conv2d: return conv2d;
    case Op::max_pool2d: return max_pool2d;
    case Op::relu: return relu;
    case Op::batch_norm2d: return batch_norm2d;
    case Op::linear: return linear;
    case Op::cross_entropy: return cross_entropy;
    case Op::sgd: return sgd;
    case Op::step_metrics: return step_metrics;
    case Op::divergence_check: return divergence_check;
    case Op::gather_normalize: return gather_normalize;
  }
  fail("registry: unknown op {}", static_cast<int>(op));
}

Registries& registries() {
  static Registries* const instance = [] {
    auto* filled = new Registries;  // never destroyed: ops may run from static destructors
    register_cpu_implementations(*filled);
#if defined(MINIDL_WITH_CUDA)
    register_cuda_implementations(*filled);
#endif
#if defined(MINIDL_WITH_CUDNN)
    register_cudnn_implementations(*filled);
#endif
    return filled;
  }();
  return *instance;
}

// ---- The choice API (kernels/implementation.h) ----------------------------------------

std::span<const Op> all_ops() { return kOps; }

const char* op_name(Op op) {
  switch (op) {
    case Op::conv2d: return "conv2d";
    case Op::max_pool2d: return "max_pool2d";
    case Op::relu: return "relu";
    case Op::batch_norm2d: return "batch_norm2d";
    case Op::linear: return "linear";
    case Op::cross_entropy: return "cross_entropy";
    case Op::sgd: return "sgd";
    case Op::step_metrics: return "step_metrics";
    case Op::divergence_check: return "divergence_check";
    case Op::gather_normalize: return "gather_normalize";
  }
  return "?";
}

Op parse_op(std::string_view name) {
  std::string names;
  for (Op op : kOps) {
    if (name == op_name(op)) return op;
    names += fmt::format("{}{}", names.empty() ? "" : ", ", op_name(op));
  }
  fail("unknown op '{}' (choose from {})", name, names);
}

std::vector<ImplementationInfo> implementations(Op op, DeviceType device) {
  std::vector<ImplementationInfo> infos;
  for (const ImplementationInfo* info : registries().of(op).list(device)) infos.push_back(*info);
  return infos;
}

ImplementationInfo implementation(Op op, DeviceType device, DType dtype) {
  const OpRegistryBase& registry = registries().of(op);
  return registry.info(registry.position(device, dtype));
}

bool implementation_chosen(Op op, DeviceType device) { return registries().of(op).choice(device) != 0; }

void set_implementation(Op op, DeviceType device, std::string_view name) { registries().of(op).choose(device, name); }

void set_implementation(std::string_view op_equals_name, DeviceType device) {
  std::size_t equals = op_equals_name.find('=');
  if (equals == std::string_view::npos) fail("--implementation: expected OP=NAME, got '{}'", op_equals_name);
  set_implementation(parse_op(op_equals_name.substr(0, equals)), device, op_equals_name.substr(equals + 1));
}

void reset_implementations() {
  for (Op op : kOps)
    for (DeviceType device : {DeviceType::CPU, DeviceType::CUDA}) registries().of(op).restore_choice(device, 0);
  g_deterministic.store(kDeterministicFromEnvironment);
}

void set_deterministic(bool on) { g_deterministic.store(on ? 1 : 0); }

bool deterministic() {
  int chosen = g_deterministic.load(std::memory_order_relaxed);
  if (chosen != kDeterministicFromEnvironment) return chosen == 1;
  const char* text = std::getenv("MINIDL_DETERMINISTIC");
  if (text == nullptr || std::string_view(text) == "0") return false;
  if (std::string_view(text) == "1") return true;
  fail("MINIDL_DETERMINISTIC must be 0 or 1, got '{}'", text);
}

std::string implementations_summary(DeviceType device) {
  std::string summary;
  for (Op op : kOps) {
    ImplementationInfo info = implementation(op, device);
    summary += fmt::format("{}{}={}{}", summary.empty() ? "" : " ", op_name(op), info.name, info.fuses_relu ? "+relu" : "");
  }
  return summary;
}

std::string registry_listing() {
  std::string listing;
  for (DeviceType device : {DeviceType::CPU, DeviceType::CUDA})
    for (Op op : kOps)
      for (const ImplementationInfo* info : registries().of(op).list(device)) {
        std::string limit = info->max_elements == kAnySize ? "any size" : fmt::format("max {} elements", info->max_elements);
        listing += fmt::format("{} {} {} {} {}{}: {}\n", device_name(device), op_name(op), info->name,
                               dtype_list(info->dtypes), limit, info->fuses_relu ? " fuses relu" : "", info->summary);
      }
  return listing;
}

ImplementationGuard::ImplementationGuard(Op op, DeviceType device, std::string_view name)
    : op_(op), device_(device), previous_(registries().of(op).choice(device)) {
  set_implementation(op, device, name);
}

ImplementationGuard::~ImplementationGuard() { registries().of(op_).restore_choice(device_, previous_); }

}  // namespace minidl::ops
