/// \file
/// OneCycleLR: the 1cycle policy of Smith & Topin, "Super-Convergence" (2017),
/// as torch.optim.lr_scheduler.OneCycleLR (PyTorch 1.13). Stepped once per batch.
///
/// With initial_lr = max_lr / div_factor and min_lr = initial_lr / final_div_factor,
/// the lr is annealed (cosine or linear) through phases that end at these steps:
///   two phases (default):  initial_lr -> max_lr   until pct_start * total_steps - 1,
///                          max_lr -> min_lr       until total_steps - 1;
///   three_phase:           initial_lr -> max_lr   until pct_start * total_steps - 1,
///                          max_lr -> initial_lr   until 2 * pct_start * total_steps - 2,
///                          initial_lr -> min_lr   until total_steps - 1.
/// Within a phase from step a to step b, at step s with pct = (s - a) / (b - a):
///   cos:     value = end + (start - end) / 2 * (cos(pi * pct) + 1)
///   linear:  value = (end - start) * pct + start
/// With cycle_momentum the optimizer's momentum moves the other way, in the same
/// phases: max_momentum -> base_momentum -> max_momentum (three_phase: then stays
/// at max_momentum). Unlike the other schedulers the lr does not depend on the
/// optimizer's current lr (not chainable), and it replaces the optimizer's
/// initial_lr by max_lr / div_factor, as PyTorch does.
///
/// The schedule holds total_steps + 1 values, for last_epoch 0..total_steps (the
/// last one continues the final phase one step past its end, as in PyTorch); a
/// further step() throws Error, "Tried to step N times".
#pragma once

#include <vector>

#include "minidl/optim/scheduler.h"

namespace minidl::optim {

/// How OneCycleLR moves within a phase: along a cosine or a straight line.
enum class AnnealStrategy { cos, linear };

/// PyTorch's arguments in PyTorch's order, so that designated initializers read
/// like the Python call: OneCycleLR(optimizer, {.max_lr = 0.1, .total_steps = 5000}).
struct OneCycleOptions {
  double max_lr;                                         ///< the peak lr
  int total_steps;                                       ///< steps in the cycle
  double pct_start = 0.3;                                ///< share of the steps spent rising to max_lr
  AnnealStrategy anneal_strategy = AnnealStrategy::cos;  ///< the shape of each phase
  bool cycle_momentum = true;                            ///< move the momentum opposite to the lr
  double base_momentum = 0.85;                           ///< the momentum at max_lr
  double max_momentum = 0.95;                            ///< the momentum at the low lrs
  double div_factor = 25.0;                              ///< initial_lr = max_lr / div_factor
  double final_div_factor = 1e4;                         ///< min_lr = initial_lr / final_div_factor
  bool three_phase = false;                              ///< a third phase down to min_lr, see above
};

/// The 1cycle learning-rate policy; see the top of this file.
class OneCycleLR : public LRScheduler {
 public:
  /// Throws Error unless max_lr > 0, total_steps >= 1, 0 <= pct_start <= 1,
  /// div_factor > 0, final_div_factor > 0 and the momenta are >= 0.
  OneCycleLR(SGD& optimizer, const OneCycleOptions& options);

 private:
  struct Phase {
    double end_step;
    double start_lr, end_lr;
    double start_momentum, end_momentum;
  };

  double compute_lr(int step) override;
  double anneal(double start, double end, double pct) const;

  OneCycleOptions options_;
  std::vector<Phase> phases_;
};

}  // namespace minidl::optim
