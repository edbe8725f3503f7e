/// \file
/// Module: a layer or a graph of layers, in the style of torch.nn.Module but with
/// an explicit backward.
///
///   Tensor y = module.forward(x);             // keeps what backward needs
///   Tensor dx = module.backward(dy);          // dy = d loss / d y; accumulates parameter grads
///
/// forward() returns a tensor the module owns and overwrites on its next forward
/// (so steady-state training allocates nothing); copy it (clone()) to keep it.
/// backward() must follow the forward whose output it differentiates.
///
/// Under a NoGradGuard, forward keeps nothing for backward (inference mode).
/// train()/eval() switch modes as in PyTorch: BatchNorm2d normalises with batch
/// statistics and updates its running estimates in training mode, and uses the
/// running estimates in evaluation mode.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "minidl/core/tensor.h"
#include "minidl/layers/parameter.h"

namespace minidl::nn {

/// A tensor of the module's state that is not trained by gradients (BatchNorm's
/// running statistics); part of the state_dict.
struct Buffer {
  std::string name;  ///< the state_dict key, e.g. "running_mean"
  Tensor value;      ///< the state
};

/// A layer or a graph of layers, with an explicit backward; see the top of this file.
class Module {
 public:
  virtual ~Module() = default;

  /// The output for input, a tensor the module owns; keeps what backward needs
  /// unless a NoGradGuard is alive.
  virtual Tensor forward(const Tensor& input) = 0;
  /// Returns d loss / d input for the last forward's input.
  virtual Tensor backward(const Tensor& grad_output) = 0;

  ///@{
  /// Parameters and buffers, named as in PyTorch's state_dict ("weight", or
  /// "conv1.weight" for a child of a Sequential).
  virtual std::vector<Parameter*> parameters() { return {}; }
  virtual std::vector<Buffer*> buffers() { return {}; }
  ///@}

  /// PyTorch's one-line description, e.g. "Conv2d(3, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))".
  virtual std::string repr() const = 0;

  /// Training mode when on, evaluation mode otherwise (see the top of this file).
  virtual void train(bool on = true) { training_ = on; }
  /// Evaluation mode: train(false).
  void eval() { train(false); }
  /// True in training mode, the initial one.
  bool is_training() const { return training_; }

  /// Sets every parameter's gradient to zero.
  void zero_grad();
  /// Number of trainable values.
  std::int64_t parameter_count();

  /// A forward that a CUDA graph replayed ran its kernels but not its host code: this
  /// advances the host state that forward keeps (BatchNorm2d's num_batches_tracked in
  /// training mode), as forward would have. Most layers keep none.
  virtual void count_replayed_forward() {}

  ///@{
  /// Fusing the ReLU that follows (kernels/epilogue.h; nn::Sequential calls these): true
  /// when this layer's forward on input can apply the ReLU in the same pass, because the
  /// implementation that runs fuses it; then forward_fused_relu(input) is
  /// relu(forward(input)), bit for bit. Layers that cannot: false, and forward_fused_relu throws.
  virtual bool fuses_following_relu(const Tensor& input) const;
  virtual Tensor forward_fused_relu(const Tensor& input);
  ///@}
  /// Moves parameters, gradients and buffers to device.
  virtual void to(Device device);

  /// name -> tensor for every parameter and buffer (shared, not copied).
  std::map<std::string, Tensor> state_dict();
  /// Copies values into the parameters and buffers. Throws Error naming the key on
  /// a missing or unexpected key (unexpected keys are allowed when strict is false),
  /// a wrong shape or a wrong dtype; nothing is changed unless every key is valid.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

 protected:
  bool training_ = true;  ///< the mode train() set
};

/// Throws Error naming the key unless state is a whole state_dict of the module whose
/// state_dict() is expected, with values a network can have: exactly its keys, each
/// of its shape and dtype (what load_state_dict checks), every floating-point value
/// finite, every "running_var" not negative and every "num_batches_tracked" not
/// negative. For a file before it is loaded (a checkpoint, a saved model), so that
/// nothing is used before all of it is known to be good.
void check_state(const std::map<std::string, Tensor>& state, const std::map<std::string, Tensor>& expected);

/// While a NoGradGuard lives (on this thread), forward passes keep nothing for
/// backward: inference mode, as torch.no_grad().
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};
/// True unless a NoGradGuard is alive on this thread.
bool grad_enabled();

/// Returns `cached` when it already has this shape, dtype and device, else a new
/// tensor: layers keep their outputs and gradients across steps with this.
Tensor& reuse_or_allocate(Tensor& cached, const Shape& shape, DType dtype, Device device);

}  // namespace minidl::nn
