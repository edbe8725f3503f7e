/// \file
/// Workspace: memory and state that an op's implementation keeps between calls at one
/// call site (a layer, an optimizer), so that a training step allocates nothing.
///
/// A CUDA kernel that splits a long sum across blocks writes partial sums to scratch
/// memory; the SGD and divergence-check kernels read a table of every parameter. A layer
/// owns a Workspace per op it calls and passes it with every call; the implementation
/// asks it for what it needs. The first calls size it (they allocate); later calls with
/// the same shapes get the same memory back, so a step captured in a CUDA graph
/// replays with memory that nothing else is handed in between.
///
/// Without a workspace (nullptr) an op uses a temporary one for the call.
#pragma once

#include <any>
#include <cstddef>
#include <typeindex>
#include <typeinfo>
#include <unordered_map>
#include <utility>

#include "minidl/core/tensor.h"

namespace minidl::ops {

/// Memory and state kept between calls at one call site; see the top of this file.
class Workspace {
 public:
  /// At least bytes of memory on device, aligned for any element type. The same
  /// memory is returned while requests fit it; a larger request or another device
  /// replaces it (its contents are then lost).
  void* memory(std::size_t bytes, Device device);

  /// The implementation's own state of type State (one per type), created with
  /// State(args...) on first use.
  template <typename State, typename... Args>
  State& state(Args&&... args) {
    std::any& slot = states_[std::type_index(typeid(State))];
    if (State* existing = std::any_cast<State>(&slot)) return *existing;
    return slot.emplace<State>(std::forward<Args>(args)...);
  }

  /// Bytes of memory held (for tests).
  std::size_t bytes() const { return memory_.defined() ? memory_.nbytes() : 0; }

 private:
  Tensor memory_;                                      // u8
  std::unordered_map<std::type_index, std::any> states_;  // state<State>(): one per type
};

}  // namespace minidl::ops
