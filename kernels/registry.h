/// \file
/// The registry of implementations: per op, every implementation this build has, in
/// order of preference, with what it serves and its entry points.
///
/// An op's entry points are a struct of function pointers declared in its header
/// (Conv2dFunctions in kernels/conv2d.h, ...), each taking the op's validated tensors.
/// Each backend lists its implementations in one function, one line each:
///   kernels/cpu/registrations.cpp     register_cpu_implementations    (every build)
///   kernels/cuda/registrations.cpp    register_cuda_implementations   (CUDA builds)
///   kernels/cudnn/registrations.cpp   register_cudnn_implementations  (builds with cuDNN)
/// The registry calls the ones this build compiled, once, on first use. A plain list
/// per backend (oneDNN's style) rather than self-registering objects: a static archive
/// keeps every registered implementation, because the registry calls the lists.
///
/// Adding an implementation touches its own file pair and one line of its backend's list:
///   registries.relu.add({"vectorized", DeviceType::CPU, {DType::f32}, kAnySize, false, "..."},
///                       {relu_forward_vectorized, relu_backward_vectorized});
///
/// The Tensor-level op (kernels/relu.cpp) validates its tensors, asks its registry for
/// the implementation that serves them, and calls it:
///   registries().relu.select(device, dtype, {&input, &output}).functions.forward({input, output});
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string_view>
#include <vector>

#include "minidl/core/tensor.h"
#include "minidl/kernels/batch_norm2d.h"
#include "minidl/kernels/conv2d.h"
#include "minidl/kernels/cross_entropy.h"
#include "minidl/kernels/divergence_check.h"
#include "minidl/kernels/epilogue.h"
#include "minidl/kernels/gather_normalize.h"
#include "minidl/kernels/implementation.h"
#include "minidl/kernels/linear.h"
#include "minidl/kernels/max_pool2d.h"
#include "minidl/kernels/relu.h"
#include "minidl/kernels/sgd.h"
#include "minidl/kernels/step_metrics.h"

namespace minidl::ops {

/// max_elements of an implementation without a size limit.
constexpr std::int64_t kAnySize = std::numeric_limits<std::int64_t>::max();
/// max_elements of an implementation that indexes in 32 bits (int).
constexpr std::int64_t kInt32Size = std::numeric_limits<std::int32_t>::max();

/// The registry of one op, whatever its entry points: the names, the choice per device,
/// and the rule that picks an implementation for a call (see kernels/implementation.h).
class OpRegistryBase {
 public:
  /// An empty registry of op.
  explicit OpRegistryBase(Op op) : op_(op) {}
  OpRegistryBase(const OpRegistryBase&) = delete;
  OpRegistryBase& operator=(const OpRegistryBase&) = delete;

  /// The op it registers.
  Op op() const { return op_; }
  /// Every implementation on device, in order of preference.
  std::vector<const ImplementationInfo*> list(DeviceType device) const;
  /// The chosen implementation's slot on device: 0 for the default rule, else 1 + its
  /// position in registration order.
  int choice(DeviceType device) const { return choice_[slot(device)].load(std::memory_order_relaxed); }
  /// Restores a slot that choice() returned.
  void restore_choice(DeviceType device, int choice) { choice_[slot(device)].store(choice); }
  /// Chooses implementation `name` on device; throws Error listing the names on device.
  void choose(DeviceType device, std::string_view name);
  /// The position of the implementation that runs on device for dtype (the choice, or
  /// the default rule). Throws Error when none does: the chosen one does not serve
  /// dtype, or no implementation does.
  std::size_t position(DeviceType device, DType dtype) const;
  /// The info at a position.
  const ImplementationInfo& info(std::size_t position) const { return infos_[position]; }
  /// Throws Error unless the implementation fuses a ReLU, when activation asks for one.
  void check_activation(const ImplementationInfo& info, Activation activation) const;
  /// Throws Error unless the implementation fuses a ReLU's backward, when after_relu asks for it.
  void check_after_relu(const ImplementationInfo& info, bool after_relu) const;

 protected:
  /// Adds an implementation; throws Error when its name is taken on its device.
  void add_info(ImplementationInfo info);
  /// Throws Error unless every defined tensor has at most the implementation's max_elements.
  void check_size(std::size_t position, std::initializer_list<const Tensor*> tensors) const;

 private:
  static int slot(DeviceType device) { return device == DeviceType::CPU ? 0 : 1; }

  Op op_;
  std::vector<ImplementationInfo> infos_;   // registration order
  std::array<std::atomic<int>, 2> choice_{};  // per device slot, see choice()
};

/// The registry of one op with entry points of type Functions.
template <typename Functions>
class OpRegistry : public OpRegistryBase {
 public:
  /// An empty registry of op.
  explicit OpRegistry(Op op) : OpRegistryBase(op) {}

  /// Registers an implementation (see the top of this file).
  void add(ImplementationInfo info, Functions functions) {
    add_info(std::move(info));
    functions_.push_back(functions);
  }

  /// An implementation picked for a call: what it is and its entry points.
  struct Selected {
    const ImplementationInfo& info;  ///< what it is
    const Functions& functions;      ///< its entry points
  };

  /// The implementation that runs on device for dtype, after checking that it serves
  /// every tensor's size; throws Error naming op, implementation and dtype.
  Selected select(DeviceType device, DType dtype, std::initializer_list<const Tensor*> tensors) const {
    std::size_t chosen = position(device, dtype);
    check_size(chosen, tensors);
    return {info(chosen), functions_[chosen]};
  }

 private:
  std::vector<Functions> functions_;  // registration order, as the infos
};

/// Every op's registry.
struct Registries {
  ///@{
  /// One registry per op, named as the op.
  OpRegistry<Conv2dFunctions> conv2d{Op::conv2d};
  OpRegistry<MaxPool2dFunctions> max_pool2d{Op::max_pool2d};
  OpRegistry<ReluFunctions> relu{Op::relu};
  OpRegistry<BatchNorm2dFunctions> batch_norm2d{Op::batch_norm2d};
  OpRegistry<LinearFunctions> linear{Op::linear};
  OpRegistry<CrossEntropyFunctions> cross_entropy{Op::cross_entropy};
  OpRegistry<SgdFunctions> sgd{Op::sgd};
  OpRegistry<StepMetricsFunctions> step_metrics{Op::step_metrics};
  OpRegistry<DivergenceCheckFunctions> divergence_check{Op::divergence_check};
  OpRegistry<GatherNormalizeFunctions> gather_normalize{Op::gather_normalize};
  ///@}

  /// The registry of op, as its base.
  OpRegistryBase& of(Op op);
};

/// The registries, filled by every backend of this build on first use.
Registries& registries();

///@{
/// Each backend's list (see the top of this file).
void register_cpu_implementations(Registries& registries);
void register_cuda_implementations(Registries& registries);
void register_cudnn_implementations(Registries& registries);
///@}

}  // namespace minidl::ops
