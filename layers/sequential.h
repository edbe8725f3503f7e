/// \file
/// Sequential: the layer graph, a chain of named modules, as torch.nn.Sequential
/// built from an OrderedDict.
///
///   forward:  x -> layer_1 -> layer_2 -> ... -> layer_n
///   backward: d loss/d x <- layer_1.backward <- ... <- layer_n.backward <- d loss/d y
///
/// Fusion (kernels/epilogue.h), on by default: a ReLU that follows a layer whose forward
/// can apply it (Conv2d, Linear, BatchNorm2d, where the implementation that runs fuses it)
/// is applied there, and the backward of a ReLU that a MaxPool2d follows runs inside the
/// pooling's backward. Names, parameters and results are those of the unfused graph, bit
/// for bit; set_fusion(false) runs every layer on its own.
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
  void count_replayed_forward() override;

  /// PyTorch's multi-line repr: "Sequential(\n  (conv1): Conv2d(...)\n ...)".
  std::string repr() const override;
  /// repr() followed by a table of each child's parameter count and the total.
  std::string summary();

  /// The child with this name; throws Error if there is none.
  Module& child(const std::string& name);
  /// Fuses ReLUs with their neighbours (see the top of this file) when on, the default.
  void set_fusion(bool on) { fusion_ = on; }
  /// Whether ReLUs are fused.
  bool fusion() const { return fusion_; }

  /// The children with their names, in order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 private:
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool fusion_ = true;
};

}  // namespace minidl::nn
