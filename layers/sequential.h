/// \file
/// Sequential: the layer graph, a chain of named modules, as torch.nn.Sequential
/// built from an OrderedDict.
///
///   forward:  x -> layer_1 -> layer_2 -> ... -> layer_n
///   backward: d loss/d x <- layer_1.backward <- ... <- layer_n.backward <- d loss/d y
///
/// Adding a child prefixes its parameter and buffer names with the child's name,
/// so state_dict keys are PyTorch's ("conv1.weight", "bn1.running_mean").
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "minidl/layers/module.h"

namespace minidl::nn {

/// A chain of named modules, run in order by forward and in reverse by backward.
class Sequential : public Module {
 public:
  /// Appends a child; names must be unique and non-empty. Returns *this for chaining.
  Sequential& add(const std::string& name, std::shared_ptr<Module> module);

  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output) override;
  std::vector<Parameter*> parameters() override;
  std::vector<Buffer*> buffers() override;
  void train(bool on = true) override;
  void to(Device device) override;

  /// PyTorch's multi-line repr: "Sequential(\n  (conv1): Conv2d(...)\n ...)".
  std::string repr() const override;
  /// repr() followed by a table of each child's parameter count and the total.
  std::string summary();

  /// The child with this name; throws Error if there is none.
  Module& child(const std::string& name);
  /// The children with their names, in order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 private:
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

}  // namespace minidl::nn
