#include "minidl/optim/one_cycle_lr.h"

#include <cmath>
#include <numbers>

namespace minidl::optim {

namespace {

// Where PyTorch raises ZeroDivisionError: a phase that ends at the step it starts from.
[[noreturn]] void fail_empty_phase(std::size_t phase_number, const OneCycleOptions& options) {
  fail("OneCycleLR: phase {} of the schedule has no steps (pct_start {}, total_steps {})", phase_number,
       options.pct_start, options.total_steps);
}

}  // namespace

OneCycleLR::OneCycleLR(SGD& optimizer, const OneCycleOptions& options) : LRScheduler(optimizer), options_(options) {
  if (!(options.max_lr > 0.0) || !std::isfinite(options.max_lr))
    fail("OneCycleLR: max_lr must be positive, got {}", options.max_lr);
  if (options.total_steps < 1)
    fail("OneCycleLR: Expected positive integer total_steps, but got {}", options.total_steps);
  if (!(options.pct_start >= 0.0 && options.pct_start <= 1.0))
    fail("OneCycleLR: Expected float between 0 and 1 pct_start, but got {}", options.pct_start);
  if (!(options.div_factor > 0.0)) fail("OneCycleLR: div_factor must be positive, got {}", options.div_factor);
  if (!(options.final_div_factor > 0.0))
    fail("OneCycleLR: final_div_factor must be positive, got {}", options.final_div_factor);
  if (options.cycle_momentum && !(options.base_momentum >= 0.0 && options.max_momentum >= 0.0))
    fail("OneCycleLR: base_momentum and max_momentum must be >= 0, got {} and {}", options.base_momentum,
         options.max_momentum);

  double initial_lr = options.max_lr / options.div_factor;
  double min_lr = initial_lr / options.final_div_factor;
  double max_lr = options.max_lr;
  double base_momentum = options.base_momentum, max_momentum = options.max_momentum;
  double warmup_steps = options.pct_start * options.total_steps;
  double last_step = options.total_steps - 1;
  if (options.three_phase) {
    phases_ = {{warmup_steps - 1, initial_lr, max_lr, max_momentum, base_momentum},
               {2 * options.pct_start * options.total_steps - 2, max_lr, initial_lr, base_momentum, max_momentum},
               {last_step, initial_lr, min_lr, max_momentum, max_momentum}};
  } else {
    phases_ = {{warmup_steps - 1, initial_lr, max_lr, max_momentum, base_momentum},
               {last_step, max_lr, min_lr, base_momentum, max_momentum}};
  }

  // The first step, in the constructor, divides by the length of phase 1: check it
  // before changing the optimizer. Other phases are checked when reached.
  if (phases_.front().end_step == 0.0) fail_empty_phase(1, options);

  optimizer.set_initial_lr(initial_lr);
  if (options.cycle_momentum) optimizer.set_momentum(max_momentum);
  initial_step();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy == AnnealStrategy::cos) {
    double cos_out = std::cos(std::numbers::pi * pct) + 1.0;
    return end + (start - end) / 2.0 * cos_out;
  }
  return (end - start) * pct + start;
}

// The phase holding `step` is the first whose end_step is >= step, or the last.
double OneCycleLR::compute_lr(int step) {
  if (step > options_.total_steps)
    fail("OneCycleLR: Tried to step {} times. The specified number of total steps is {}", step + 1,
         options_.total_steps);
  std::size_t phase_index = 0;
  double start_step = 0.0;
  while (phase_index + 1 < phases_.size() && step > phases_[phase_index].end_step) {
    start_step = phases_[phase_index].end_step;
    ++phase_index;
  }
  const Phase& phase = phases_[phase_index];
  if (phase.end_step == start_step) fail_empty_phase(phase_index + 1, options_);
  double pct = (step - start_step) / (phase.end_step - start_step);
  if (options_.cycle_momentum) optimizer_.set_momentum(anneal(phase.start_momentum, phase.end_momentum, pct));
  return anneal(phase.start_lr, phase.end_lr, pct);
}

}  // namespace minidl::optim
