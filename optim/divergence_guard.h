/// \file
/// DivergenceGuard: notices the first training step whose loss or gradients hold a
/// NaN or an Inf, keeps the optimizer from applying it, and tells the host when the
/// host asks. On CUDA the check runs on the device, so training stays safe without
/// a host synchronisation per step.
///
///   optim::DivergenceGuard guard(net.parameters(), device);
///   for (step ...) {
///     optimizer.zero_grad(); loss = criterion.forward(net.forward(x), y); net.backward(criterion.backward());
///     guard.check(loss, step);                 // on the device: was this step finite?
///     optimizer.step(guard.skip_update());     // changes nothing if the guard says so
///     if (step % 100 == 99 && guard.poll().first_bad_step) stop and say which step
///   }
///
/// Two policies for a bad step (one with a NaN or Inf in the loss or a gradient):
///   stop            from the first bad step on, every update is skipped: the weights
///                   stay those from before it, and the program stops when it next polls.
///   skip_bad_steps  only the bad steps' updates are skipped and training goes on, as
///                   torch.cuda.amp.GradScaler skips the steps whose gradients overflowed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "minidl/core/tensor.h"
#include "minidl/kernels/workspace.h"
#include "minidl/layers/parameter.h"

namespace minidl::optim {

/// What to do after a bad step: the two policies above.
enum class DivergencePolicy { stop, skip_bad_steps };

/// What the guard has seen; also what a checkpoint keeps of it.
struct DivergenceReport {
  std::optional<std::int64_t> first_bad_step;  ///< the step number check() was given
  std::int64_t bad_steps = 0;                  ///< how many bad steps check() has seen
};

/// Keeps NaN and Inf steps out of the weights; see the top of this file.
class DivergenceGuard {
 public:
  /// Watches the gradients of these parameters (they must outlive the guard), which
  /// live on `device`.
  DivergenceGuard(std::vector<nn::Parameter*> parameters, Device device,
                  DivergencePolicy policy = DivergencePolicy::stop);

  /// After backward, before the optimizer step: records whether the loss (one
  /// element) or a defined gradient holds a NaN or an Inf, and sets skip_update()
  /// by the policy. No host synchronisation on CUDA. The device counts the steps it
  /// checks; step is written there only when it is not the count (the first check, or
  /// after steps that were not checked).
  void check(const Tensor& loss, std::int64_t step);
  /// A check that a CUDA graph replayed (its kernel ran, check's host code did not):
  /// counts it, as check would have.
  void count_replayed_check() { ++next_step_; }
  /// What check's step must be next for no copy to the device (-1: unknown).
  std::int64_t next_step() const { return next_step_; }
  /// An i64 tensor of one element on the device, for SGD::step: 1 when the coming
  /// update must be skipped.
  const Tensor& skip_update() const { return skip_update_; }
  /// The policy it was made with.
  DivergencePolicy policy() const { return policy_; }

  /// What the guard has recorded so far; on CUDA this reads device memory (one host
  /// synchronisation), so call it every few steps, not every step.
  DivergenceReport poll() const;
  ///@{
  /// The same without waiting: request_report() queues a copy of the state to the host
  /// (on CUDA, to pinned memory, after the work queued so far); ready_report() returns it
  /// once the copy is done, and nothing before (it never waits). The study polls so every
  /// hundred steps, and its steps stay free of host synchronisations.
  void request_report();
  std::optional<DivergenceReport> ready_report();
  ///@}
  /// Restores what a checkpoint saved of poll().
  void load_state(const DivergenceReport& report);

 private:
  std::vector<nn::Parameter*> parameters_;
  Device device_;
  DivergencePolicy policy_;
  Tensor state_;        // (3) i64: first bad step (-1 for none), bad steps, next step (kernels/divergence_check.h)
  Tensor skip_update_;  // (1) i64
  std::int64_t next_step_ = -1;  // what state_'s step holds when the queued work is done
  ops::Workspace workspace_;     // the check's table of the gradients (kernels/workspace.h)
  // request_report's copy of state_: pinned memory and the event that marks it done (CUDA).
  struct Report;
  std::shared_ptr<Report> report_;
};

}  // namespace minidl::optim
