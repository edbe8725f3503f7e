#include "minidl/optim/scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace minidl::optim {

void LRScheduler::step() {
  int epoch = last_epoch_ + 1;
  double lr = compute_lr(epoch);  // may throw (OneCycleLR past its end): then nothing has changed
  last_epoch_ = epoch;
  optimizer_.set_lr(lr);
  last_lr_ = lr;
}

void LRScheduler::initial_step() {
  if (!optimizer_.initial_lr()) optimizer_.set_initial_lr(optimizer_.lr());
  base_lr_ = *optimizer_.initial_lr();
  step();
}

void LRScheduler::load_state(const LRSchedulerState& state) {
  if (state.last_epoch < 0) fail("LRScheduler::load_state: last_epoch must be >= 0, got {}", state.last_epoch);
  last_epoch_ = state.last_epoch;
  base_lr_ = state.base_lr;
  last_lr_ = state.last_lr;
}

namespace {

void check_gamma(const char* scheduler, double gamma) {
  if (!(gamma > 0.0) || !std::isfinite(gamma)) fail("{}: gamma must be positive, got {}", scheduler, gamma);
}

}  // namespace

StepLR::StepLR(SGD& optimizer, int step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) fail("StepLR: step_size must be at least 1, got {}", step_size);
  check_gamma("StepLR", gamma);
  initial_step();
}

double StepLR::compute_lr(int epoch) {
  if (epoch == 0 || epoch % step_size_ != 0) return optimizer_.lr();
  return optimizer_.lr() * gamma_;
}

MultiStepLR::MultiStepLR(SGD& optimizer, std::vector<int> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  for (std::size_t i = 0; i < milestones_.size(); ++i) {
    if (milestones_[i] < 0) fail("MultiStepLR: milestones must be >= 0, got {}", milestones_[i]);
    if (i > 0 && milestones_[i] <= milestones_[i - 1])
      fail("MultiStepLR: milestones must be increasing, got {} after {}", milestones_[i], milestones_[i - 1]);
  }
  check_gamma("MultiStepLR", gamma);
  initial_step();
}

double MultiStepLR::compute_lr(int epoch) {
  bool is_milestone = std::binary_search(milestones_.begin(), milestones_.end(), epoch);
  return is_milestone ? optimizer_.lr() * gamma_ : optimizer_.lr();
}

ExponentialLR::ExponentialLR(SGD& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  check_gamma("ExponentialLR", gamma);
  initial_step();
}

double ExponentialLR::compute_lr(int epoch) {
  if (epoch == 0) return optimizer_.lr();
  return optimizer_.lr() * gamma_;
}

CosineAnnealingLR::CosineAnnealingLR(SGD& optimizer, int t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  if (t_max < 1) fail("CosineAnnealingLR: T_max must be at least 1, got {}", t_max);
  if (!(eta_min >= 0.0) || !std::isfinite(eta_min)) fail("CosineAnnealingLR: eta_min must be >= 0, got {}", eta_min);
  initial_step();
}

// The products and quotients are grouped as in PyTorch, so that rounding agrees.
double CosineAnnealingLR::compute_lr(int epoch) {
  constexpr double pi = std::numbers::pi;
  double lr = optimizer_.lr();
  if (epoch == 0) return lr;
  if ((epoch - 1 - t_max_) % (2 * t_max_) == 0)  // the minimum was the last epoch: climb again
    return lr + (base_lr() - eta_min_) * (1.0 - std::cos(pi / t_max_)) / 2.0;
  return (1.0 + std::cos(pi * epoch / t_max_)) / (1.0 + std::cos(pi * (epoch - 1) / t_max_)) * (lr - eta_min_) +
         eta_min_;
}

LinearLR::LinearLR(SGD& optimizer, double start_factor, double end_factor, int total_iters)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  if (!(start_factor > 0.0 && start_factor <= 1.0))
    fail("LinearLR: start_factor must be in (0, 1], got {}", start_factor);
  if (!(end_factor >= 0.0 && end_factor <= 1.0)) fail("LinearLR: end_factor must be in [0, 1], got {}", end_factor);
  if (total_iters < 1) fail("LinearLR: total_iters must be at least 1, got {}", total_iters);
  initial_step();
}

double LinearLR::compute_lr(int epoch) {
  double lr = optimizer_.lr();
  if (epoch == 0) return lr * start_factor_;
  if (epoch > total_iters_) return lr;
  double factor_change = end_factor_ - start_factor_;
  return lr * (1.0 + factor_change / (total_iters_ * start_factor_ + (epoch - 1) * factor_change));
}

LambdaLR::LambdaLR(SGD& optimizer, std::function<double(int)> lr_lambda)
    : LRScheduler(optimizer), lr_lambda_(std::move(lr_lambda)) {
  if (!lr_lambda_) fail("LambdaLR: lr_lambda is empty");
  initial_step();
}

double LambdaLR::compute_lr(int epoch) { return base_lr() * lr_lambda_(epoch); }

}  // namespace minidl::optim
