/// \file
/// Learning-rate schedulers, torch.optim.lr_scheduler's (PyTorch 1.13), bound to an SGD.
///
/// A scheduler keeps a counter, last_epoch, and sets the optimizer's lr from it:
///   constructing one sets last_epoch = 0 and the lr for 0 (PyTorch's constructor
///   makes this first step too);
///   each step() adds one to last_epoch and sets the lr for the new value.
/// "Epoch" is only PyTorch's name for the counter. Call step() once per epoch
/// (StepLR(optimizer, 30) then decays every 30 epochs) or once per batch (as
/// OneCycleLR expects): the scheduler only counts calls. The usual loop is
///   for (epoch) { for (batch) { ...; optimizer.step(); } scheduler.step(); }
///
/// Most schedulers here use PyTorch's recursive ("chainable") form: the new lr is
/// computed from the optimizer's current lr rather than from base_lr, so that two
/// schedulers stepped together compose (a LinearLR warm-up and an ExponentialLR
/// decay multiply their factors). Used alone, each gives its closed form up to
/// rounding; minidl repeats PyTorch's arithmetic in the same order, so the values
/// are PyTorch's to the last bit (tests/fixtures/optim/schedulers.json).
///
/// base_lr is the optimizer's initial_lr (sgd.h): the lr when the first
/// scheduler was bound to it.
#pragma once

#include <functional>
#include <vector>

#include "minidl/optim/sgd.h"

namespace minidl::optim {

/// What a checkpoint keeps of a scheduler; its settings (gamma, milestones, ...)
/// are the program's, as in PyTorch.
struct LRSchedulerState {
  int last_epoch = -1;   ///< steps made, 0 after construction
  double base_lr = 0.0;  ///< the optimizer's initial_lr
  double last_lr = 0.0;  ///< the lr the last step set
};

/// The base of the schedulers: the step counter and the optimizer it sets the lr of;
/// see the top of this file.
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;

  /// Advances last_epoch by one and sets the optimizer's lr for it.
  void step();
  /// The counter: 0 after construction, one more after each step().
  int last_epoch() const { return last_epoch_; }
  /// The lr the last step (or the constructor) set.
  double get_last_lr() const { return last_lr_; }
  /// The optimizer's initial_lr.
  double base_lr() const { return base_lr_; }

  /// What a checkpoint keeps, for load_state().
  LRSchedulerState state() const { return {last_epoch_, base_lr_, last_lr_}; }
  /// Restores a saved state; restore the optimizer's state (its lr) too.
  void load_state(const LRSchedulerState& state);

 protected:
  /// Binds to the optimizer and changes nothing yet: a derived constructor checks
  /// its arguments and then calls initial_step(), which PyTorch's base
  /// constructor does, but a C++ base constructor cannot call compute_lr.
  explicit LRScheduler(SGD& optimizer) : optimizer_(optimizer) {}
  /// Takes base_lr from the optimizer's initial_lr (setting that to the current
  /// lr when no scheduler did yet) and makes the first step, to last_epoch 0.
  void initial_step();
  /// PyTorch's get_lr(): the lr for `epoch` (last_epoch + 1 when step() calls it),
  /// from the optimizer's current lr where the form is recursive. May also set
  /// other hyper-parameters of the optimizer (OneCycleLR's momentum).
  virtual double compute_lr(int epoch) = 0;

  SGD& optimizer_;  ///< the optimizer whose lr this sets

 private:
  int last_epoch_ = -1;
  double base_lr_ = 0.0;
  double last_lr_ = 0.0;
};

/// Multiplies the lr by gamma every step_size epochs:
///   lr(e) = lr(e - 1) * gamma  when e > 0 and e % step_size == 0, else lr(e - 1)
///   (closed form base_lr * gamma^floor(e / step_size)).
class StepLR : public LRScheduler {
 public:
  /// Throws Error unless step_size >= 1 and gamma > 0.
  StepLR(SGD& optimizer, int step_size, double gamma = 0.1);

 private:
  double compute_lr(int epoch) override;
  int step_size_;
  double gamma_;
};

/// Multiplies the lr by gamma at each milestone epoch:
///   lr(e) = lr(e - 1) * gamma  when e is a milestone, else lr(e - 1)
///   (a milestone 0 applies at construction, as in PyTorch).
class MultiStepLR : public LRScheduler {
 public:
  /// Throws Error unless the milestones are >= 0 and strictly increasing and gamma > 0.
  MultiStepLR(SGD& optimizer, std::vector<int> milestones, double gamma = 0.1);

 private:
  double compute_lr(int epoch) override;
  std::vector<int> milestones_;
  double gamma_;
};

/// Multiplies the lr by gamma every epoch: lr(e) = lr(e - 1) * gamma for e > 0
/// (closed form base_lr * gamma^e).
class ExponentialLR : public LRScheduler {
 public:
  /// Throws Error unless gamma > 0.
  ExponentialLR(SGD& optimizer, double gamma);

 private:
  double compute_lr(int epoch) override;
  double gamma_;
};

/// Cosine annealing from base_lr down to eta_min over T_max epochs, then back up
/// (a cosine of period 2 T_max, SGDR without restarts). Closed form:
///   lr(e) = eta_min + (base_lr - eta_min) * (1 + cos(pi e / T_max)) / 2
/// PyTorch computes it recursively:
///   lr(e) = eta_min + (lr(e-1) - eta_min) * (1 + cos(pi e / T_max)) / (1 + cos(pi (e-1) / T_max))
/// except where the denominator is 0 (e - 1 = T_max mod 2 T_max, the minimum):
///   lr(e) = lr(e-1) + (base_lr - eta_min) * (1 - cos(pi / T_max)) / 2
class CosineAnnealingLR : public LRScheduler {
 public:
  /// Throws Error unless t_max >= 1 and eta_min >= 0.
  CosineAnnealingLR(SGD& optimizer, int t_max, double eta_min = 0.0);

 private:
  double compute_lr(int epoch) override;
  int t_max_;
  double eta_min_;
};

/// Linear warm-up (or decay): the factor of base_lr moves linearly from
/// start_factor at epoch 0 to end_factor at epoch total_iters and stays there.
/// Closed form: lr(e) = base_lr * (start + (end - start) * min(e, total_iters) / total_iters).
/// PyTorch computes it recursively:
///   lr(0) = lr * start
///   lr(e) = lr(e-1) * (1 + (end - start) / (total_iters * start + (e - 1) * (end - start)))  for 1 <= e <= total_iters
class LinearLR : public LRScheduler {
 public:
  /// Throws Error unless 0 < start_factor <= 1, 0 <= end_factor <= 1 and total_iters >= 1.
  LinearLR(SGD& optimizer, double start_factor = 1.0 / 3.0, double end_factor = 1.0, int total_iters = 5);

 private:
  double compute_lr(int epoch) override;
  double start_factor_;
  double end_factor_;
  int total_iters_;
};

/// lr(e) = base_lr * lr_lambda(e), for any factor function of the epoch.
class LambdaLR : public LRScheduler {
 public:
  /// lr_lambda(e) is the factor of base_lr at epoch e.
  LambdaLR(SGD& optimizer, std::function<double(int epoch)> lr_lambda);

 private:
  double compute_lr(int epoch) override;
  std::function<double(int)> lr_lambda_;
};

}  // namespace minidl::optim
