#include "minidl/kernels/implementation.h"

#include <array>
#include <atomic>
#include <cstdlib>

#include "minidl/core/error.h"

namespace minidl::ops {

namespace {

constexpr std::array kOps = {Op::conv2d, Op::max_pool2d, Op::relu, Op::batch_norm2d, Op::linear, Op::cross_entropy,
                             Op::sgd};
constexpr std::array kImplementations = {Implementation::reference, Implementation::gemm,
                                         Implementation::vectorized, Implementation::kernels,
                                         Implementation::cublas, Implementation::cudnn};

// What each op can run, per device kind, default first.
constexpr Implementation kCpuGemm[] = {Implementation::gemm, Implementation::reference};
constexpr Implementation kCpuVectorized[] = {Implementation::vectorized, Implementation::reference};
constexpr Implementation kCpuReference[] = {Implementation::reference};
#if defined(MINIDL_WITH_CUDA) && defined(MINIDL_WITH_CUDNN)
constexpr Implementation kCudaConv2d[] = {Implementation::kernels, Implementation::cublas, Implementation::cudnn};
constexpr Implementation kCudaBatchNorm[] = {Implementation::kernels, Implementation::cudnn};
#elif defined(MINIDL_WITH_CUDA)
constexpr Implementation kCudaConv2d[] = {Implementation::kernels, Implementation::cublas};
constexpr Implementation kCudaBatchNorm[] = {Implementation::kernels};
#endif
#if defined(MINIDL_WITH_CUDA)
constexpr Implementation kCudaLinear[] = {Implementation::kernels, Implementation::cublas};
constexpr Implementation kCudaKernels[] = {Implementation::kernels};
#endif

std::span<const Implementation> cpu_choices(Op op) {
  if (op == Op::conv2d || op == Op::linear) return kCpuGemm;
  if (op == Op::batch_norm2d || op == Op::max_pool2d) return kCpuVectorized;
  return kCpuReference;
}

std::span<const Implementation> cuda_choices(Op op) {
#if defined(MINIDL_WITH_CUDA)
  if (op == Op::conv2d) return kCudaConv2d;
  if (op == Op::batch_norm2d) return kCudaBatchNorm;
  if (op == Op::linear) return kCudaLinear;
  return kCudaKernels;
#else
  (void)op;
  return {};
#endif
}

// The current choice, [op][device]: 0 for the default, else 1 + the Implementation's value.
// Zero-initialized before any code runs; set from any thread.
std::array<std::array<std::atomic<int>, 2>, kOps.size()> g_choice;

// The deterministic mode: 0 or 1 once set_deterministic has chosen; until then
// kDeterministicFromEnvironment, and MINIDL_DETERMINISTIC decides.
constexpr int kDeterministicFromEnvironment = -1;
std::atomic<int> g_deterministic{kDeterministicFromEnvironment};

int device_slot(DeviceType device) { return device == DeviceType::CPU ? 0 : 1; }

Implementation default_implementation(Op op, DeviceType device) {
  std::span<const Implementation> choices = available_implementations(op, device);
  return choices.empty() ? Implementation::kernels : choices.front();
}

}  // namespace

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
  }
  return "?";
}

const char* implementation_name(Implementation implementation) {
  switch (implementation) {
    case Implementation::reference: return "reference";
    case Implementation::gemm: return "gemm";
    case Implementation::vectorized: return "vectorized";
    case Implementation::kernels: return "kernels";
    case Implementation::cublas: return "cublas";
    case Implementation::cudnn: return "cudnn";
  }
  return "?";
}

namespace {

// The value among values whose name_of is name; else Error naming what and the choices.
template <typename T, std::size_t N>
T parse_name(std::string_view name, const std::array<T, N>& values, const char* (*name_of)(T), const char* what) {
  std::string names;
  for (T value : values) {
    if (name == name_of(value)) return value;
    names += names.empty() ? "" : ", ";
    names += name_of(value);
  }
  fail("unknown {} '{}' (choose from {})", what, name, names);
}

}  // namespace

Op parse_op(std::string_view name) { return parse_name(name, kOps, op_name, "op"); }

Implementation parse_implementation(std::string_view name) {
  return parse_name(name, kImplementations, implementation_name, "implementation");
}

std::span<const Implementation> available_implementations(Op op, DeviceType device) {
  return device == DeviceType::CPU ? cpu_choices(op) : cuda_choices(op);
}

Implementation implementation(Op op, DeviceType device) {
  int choice = g_choice[static_cast<int>(op)][device_slot(device)].load(std::memory_order_relaxed);
  return choice == 0 ? default_implementation(op, device) : kImplementations[choice - 1];
}

void set_implementation(Op op, DeviceType device, Implementation implementation) {
  std::string choices;
  for (Implementation available : available_implementations(op, device)) {
    if (available == implementation) {
      g_choice[static_cast<int>(op)][device_slot(device)].store(1 + static_cast<int>(implementation));
      return;
    }
    choices += choices.empty() ? "" : ", ";
    choices += implementation_name(available);
  }
  const char* device_name = device == DeviceType::CPU ? "cpu" : "cuda";
  if (choices.empty()) fail("{} on {}: this build has no implementation (built without CUDA)", op_name(op), device_name);
  fail("{} on {}: this build has no '{}' implementation (choose from {})", op_name(op), device_name,
       implementation_name(implementation), choices);
}

void reset_implementations() {
  for (auto& per_device : g_choice)
    for (std::atomic<int>& choice : per_device) choice.store(0);
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
    summary += summary.empty() ? "" : " ";
    summary += op_name(op);
    summary += "=";
    summary += implementation_name(implementation(op, device));
  }
  return summary;
}

ImplementationGuard::ImplementationGuard(Op op, DeviceType device, Implementation chosen)
    : op_(op), device_(device), previous_(implementation(op, device)) {
  set_implementation(op, device, chosen);
}

ImplementationGuard::~ImplementationGuard() { set_implementation(op_, device_, previous_); }

}  // namespace minidl::ops
