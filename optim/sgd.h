/// \file
/// SGD: stochastic gradient descent over a list of parameters, torch.optim.SGD's semantics.
///
/// For every parameter p whose grad g is defined, one step() does (kernels/sgd.h):
///   d = g + weight_decay * p
///   if momentum != 0:
///     buf = d                                       the parameter's first step (no buffer yet)
///     buf = momentum * buf + (1 - dampening) * d    afterwards
///     d = nesterov ? d + momentum * buf : buf
///   p -= lr * d
/// The learning rate multiplies the whole update (not the momentum buffer, as in
/// Sutskever et al.), so changing lr between steps does not rescale the buffer.
///
/// Usage, as in PyTorch:
///   optim::SGD optimizer(model.parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4});
///   optimizer.zero_grad(); model.backward(...); optimizer.step();
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "minidl/core/tensor.h"
#include "minidl/kernels/sgd.h"
#include "minidl/kernels/workspace.h"
#include "minidl/layers/parameter.h"

namespace minidl::optim {

/// torch.optim.SGD's arguments; lr has no default, as in PyTorch.
struct SgdOptions {
  double lr;                  ///< the learning rate
  double momentum = 0.0;      ///< 0: no momentum buffer
  double dampening = 0.0;     ///< scales down the gradient's share of the buffer
  double weight_decay = 0.0;  ///< L2 penalty, added to the gradient
  bool nesterov = false;      ///< Nesterov momentum
};

/// Everything a checkpoint needs to resume an SGD exactly (PyTorch keeps the same
/// in optimizer.state_dict(): lr, momentum and initial_lr in its param_group,
/// momentum_buffer per parameter).
struct SgdState {
  double lr = 0.0;                       ///< the current lr
  double momentum = 0.0;                 ///< the current momentum
  std::optional<double> initial_lr;      ///< see SGD::initial_lr()
  std::int64_t step_count = 0;           ///< step() calls so far
  std::vector<Tensor> momentum_buffers;  ///< one per parameter, undefined where none exists yet
};

/// Stochastic gradient descent over a list of parameters; see the top of this file.
class SGD {
 public:
  /// Throws Error, naming the value, for an invalid option (as torch.optim.SGD):
  /// lr < 0 or not finite, momentum < 0, weight_decay < 0, nesterov without
  /// momentum > 0 and dampening == 0; also for no parameters or a null one.
  /// The parameters must outlive the optimizer.
  SGD(std::vector<nn::Parameter*> parameters, SgdOptions options);

  /// Updates every parameter whose grad is defined; parameters without a grad
  /// are skipped and keep their momentum buffer as it is.
  /// skip_update, when given, is a divergence guard's verdict (divergence_guard.h):
  /// an i64 tensor of one element on the parameters' device; while it holds a
  /// non-zero value the step changes no parameter (read by the update itself, so
  /// on CUDA the host does not wait for it). step_count() counts the call either way.
  void step(const Tensor& skip_update = Tensor());
  /// Sets every defined grad to zero (PyTorch's zero_grad(set_to_none=False)).
  void zero_grad();

  ///@{
  /// A CUDA graph that captured step() replays its kernels, not its host code. Before a
  /// replay, prepare_replay() queues what the step reads from the device and has changed
  /// since (the learning rate a scheduler set); after it, count_replayed_step() counts the
  /// step as step() would have.
  void prepare_replay();
  void count_replayed_step() { ++step_count_; }
  ///@}

  ///@{
  /// lr and momentum can be changed between steps (schedulers do; OneCycleLR
  /// cycles the momentum). Like assigning PyTorch's param_group["lr"], the
  /// setters take any value: OneCycleLR's last value may extrapolate below 0, and
  /// no step follows it. step() rejects an lr or momentum it cannot use.
  double lr() const { return options_.lr; }
  void set_lr(double lr) { options_.lr = lr; }
  double momentum() const { return options_.momentum; }
  void set_momentum(double momentum) { options_.momentum = momentum; }
  ///@}
  /// The options, with the current lr and momentum.
  const SgdOptions& options() const { return options_; }

  ///@{
  /// The lr the first scheduler bound to this optimizer started from (PyTorch's
  /// param_group["initial_lr"]): empty until a scheduler sets it; OneCycleLR
  /// replaces it by max_lr / div_factor. Every later scheduler takes it as its
  /// base lr, so two schedulers stepped together (a warm-up and a decay) both
  /// scale the same starting lr.
  std::optional<double> initial_lr() const { return initial_lr_; }
  void set_initial_lr(double initial_lr) { initial_lr_ = initial_lr; }
  ///@}

  /// The parameters it updates, in the order given.
  const std::vector<nn::Parameter*>& parameters() const { return parameters_; }
  /// One per parameter, in the order of parameters(); undefined until that
  /// parameter's first step with momentum != 0.
  const std::vector<Tensor>& momentum_buffers() const { return momentum_buffers_; }
  /// Number of step() calls so far.
  std::int64_t step_count() const { return step_count_; }

  /// The state shares the momentum buffers' storage (as PyTorch's state_dict()
  /// does): save it before the next step, or clone the buffers to keep a snapshot.
  SgdState state() const;
  /// Restores a state saved by state() for the same parameters. Throws Error when
  /// the number of buffers differs or a buffer does not match its parameter's
  /// shape and dtype; buffers are copied to the parameter's device.
  void load_state(const SgdState& state);

 private:
  // The options as the update kernel takes them.
  ops::SgdParams kernel_params() const;
  // The parameters with a grad, in two lists: on their first momentum step (a buffer is
  // made for each in buffers) and past it.
  void split_for_step(std::vector<Tensor>& buffers, std::vector<ops::SgdParameterTensors>& first_step,
                      std::vector<ops::SgdParameterTensors>& later_steps);

  std::vector<nn::Parameter*> parameters_;
  SgdOptions options_;
  std::optional<double> initial_lr_;
  std::vector<Tensor> momentum_buffers_;
  std::int64_t step_count_ = 0;
  // The update's workspaces (kernels/workspace.h): workspace_ for a step whose parameters
  // are all on their first momentum step or all past it, as every step of a usual run;
  // the other for those on their first step when a step has both.
  ops::Workspace first_step_workspace_, workspace_;
};

}  // namespace minidl::optim
