// Specification of the learning-rate schedulers: PyTorch's lr and momentum
// sequences (tests/fixtures/optim/schedulers.json, written by
// scripts/make_optim_fixtures.py), hand-checked values, argument checks and
// checkpoint state.
#include <cmath>
#include <fstream>
#include <memory>
#include <numbers>

#include <nlohmann/json.hpp>

#include "minidl/optim/one_cycle_lr.h"
#include "minidl/optim/scheduler.h"
#include "json_fixture.h"
#include "test_support.h"

using namespace minidl;
using Catch::Matchers::WithinRel;

namespace {

nlohmann::json load_fixture(const std::string& name) { return testing::load_json_fixture("optim/" + name); }

// The factor functions the fixture script names for LambdaLR.
std::function<double(int)> named_lambda(const std::string& name) {
  if (name == "power_0.95") return [](int epoch) { return std::pow(0.95, epoch); };
  if (name == "warmup_5") return [](int epoch) { return std::min(1.0, (epoch + 1) / 5.0); };
  if (name == "halve_every_4") return [](int epoch) { return 1.0 / (1 + epoch / 4); };
  FAIL("unknown lambda " << name);
  return {};
}

optim::OneCycleOptions one_cycle_options(const nlohmann::json& args) {
  optim::OneCycleOptions options{.max_lr = args["max_lr"].get<double>(), .total_steps = args["total_steps"].get<int>()};
  options.pct_start = args.value("pct_start", options.pct_start);
  if (args.value("anneal_strategy", "cos") == "linear") options.anneal_strategy = optim::AnnealStrategy::linear;
  options.cycle_momentum = args.value("cycle_momentum", options.cycle_momentum);
  options.base_momentum = args.value("base_momentum", options.base_momentum);
  options.max_momentum = args.value("max_momentum", options.max_momentum);
  options.div_factor = args.value("div_factor", options.div_factor);
  options.final_div_factor = args.value("final_div_factor", options.final_div_factor);
  options.three_phase = args.value("three_phase", options.three_phase);
  return options;
}

std::unique_ptr<optim::LRScheduler> make_scheduler(optim::SGD& optimizer, const nlohmann::json& spec) {
  std::string type = spec["type"].get<std::string>();
  const nlohmann::json& args = spec["args"];
  if (type == "StepLR")
    return std::make_unique<optim::StepLR>(optimizer, args["step_size"].get<int>(), args["gamma"].get<double>());
  if (type == "MultiStepLR")
    return std::make_unique<optim::MultiStepLR>(optimizer, args["milestones"].get<std::vector<int>>(),
                                                args["gamma"].get<double>());
  if (type == "ExponentialLR") return std::make_unique<optim::ExponentialLR>(optimizer, args["gamma"].get<double>());
  if (type == "CosineAnnealingLR")
    return std::make_unique<optim::CosineAnnealingLR>(optimizer, args["T_max"].get<int>(),
                                                      args["eta_min"].get<double>());
  if (type == "LinearLR")
    return std::make_unique<optim::LinearLR>(optimizer, args["start_factor"].get<double>(),
                                             args["end_factor"].get<double>(), args["total_iters"].get<int>());
  if (type == "LambdaLR")
    return std::make_unique<optim::LambdaLR>(optimizer, named_lambda(args["lr_lambda"].get<std::string>()));
  if (type == "OneCycleLR") return std::make_unique<optim::OneCycleLR>(optimizer, one_cycle_options(args));
  FAIL("unknown scheduler " << type);
  return nullptr;
}

// A one-element parameter: schedulers only need an optimizer to act on.
struct DummyModel {
  nn::Parameter weight{"weight", Tensor::zeros(Shape{1}), Tensor()};
};

}  // namespace

// minidl repeats PyTorch's double arithmetic in the same order (recursive
// forms included), so the sequences agree to rounding: rtol 1e-12.
TEST_CASE("schedulers reproduce PyTorch's lr and momentum sequences") {
  nlohmann::json fixture = load_fixture("schedulers.json");
  REQUIRE(fixture["cases"].size() >= 7);
  for (const nlohmann::json& fixture_case : fixture["cases"]) {
    INFO("case " << fixture_case["name"].get<std::string>());
    DummyModel model;
    optim::SGD optimizer({&model.weight},
                         {.lr = fixture_case["lr"].get<double>(), .momentum = fixture_case["momentum"].get<double>()});
    std::vector<std::unique_ptr<optim::LRScheduler>> schedulers;
    for (const nlohmann::json& spec : fixture_case["schedulers"]) schedulers.push_back(make_scheduler(optimizer, spec));

    std::vector<double> expected_lrs = fixture_case["lrs"].get<std::vector<double>>();
    std::vector<double> expected_momenta = fixture_case.value("momenta", std::vector<double>{});
    for (std::size_t step = 0; step < expected_lrs.size(); ++step) {
      INFO("after " << step << " steps");
      if (step > 0)
        for (auto& scheduler : schedulers) scheduler->step();
      REQUIRE_THAT(optimizer.lr(), WithinRel(expected_lrs[step], 1e-12));
      REQUIRE(schedulers.back()->get_last_lr() == optimizer.lr());
      REQUIRE(schedulers.back()->last_epoch() == static_cast<int>(step));
      if (!expected_momenta.empty()) REQUIRE_THAT(optimizer.momentum(), WithinRel(expected_momenta[step], 1e-12));
    }
  }
}

TEST_CASE("ExponentialLR multiplies the lr by gamma at every step") {
  DummyModel model;
  optim::SGD optimizer({&model.weight}, {.lr = 0.1});
  optim::ExponentialLR scheduler(optimizer, 0.8);
  REQUIRE(optimizer.lr() == 0.1);
  for (int step = 0; step < 3; ++step) scheduler.step();
  REQUIRE_THAT(scheduler.get_last_lr(), WithinRel(0.1 * 0.8 * 0.8 * 0.8, 1e-15));
  REQUIRE(scheduler.last_epoch() == 3);
  REQUIRE(scheduler.base_lr() == 0.1);
}

TEST_CASE("StepLR decays the lr every step_size steps") {
  DummyModel model;
  optim::SGD optimizer({&model.weight}, {.lr = 1.0});
  optim::StepLR scheduler(optimizer, 2, 0.5);
  std::vector<double> lrs{optimizer.lr()};
  for (int step = 0; step < 5; ++step) {
    scheduler.step();
    lrs.push_back(optimizer.lr());
  }
  REQUIRE(lrs == std::vector<double>{1.0, 1.0, 0.5, 0.5, 0.25, 0.25});
}

TEST_CASE("MultiStepLR decays the lr at each milestone") {
  DummyModel model;
  optim::SGD optimizer({&model.weight}, {.lr = 1.0});
  optim::MultiStepLR scheduler(optimizer, {1, 3}, 0.5);
  std::vector<double> lrs{optimizer.lr()};
  for (int step = 0; step < 4; ++step) {
    scheduler.step();
    lrs.push_back(optimizer.lr());
  }
  REQUIRE(lrs == std::vector<double>{1.0, 0.5, 0.5, 0.25, 0.25});
}

TEST_CASE("CosineAnnealingLR follows its closed form down to eta_min and back up") {
  DummyModel model;
  optim::SGD optimizer({&model.weight}, {.lr = 0.1});
  int t_max = 6;
  double eta_min = 0.01;
  optim::CosineAnnealingLR scheduler(optimizer, t_max, eta_min);
  for (int epoch = 1; epoch <= 3 * t_max; ++epoch) {
    scheduler.step();
    double closed_form = eta_min + (0.1 - eta_min) * (1 + std::cos(std::numbers::pi * epoch / t_max)) / 2;
    INFO("epoch " << epoch);
    REQUIRE_THAT(optimizer.lr(), WithinRel(closed_form, 1e-12));
  }
}

TEST_CASE("LinearLR warms the lr up to the base lr in total_iters steps") {
  DummyModel model;
  optim::SGD optimizer({&model.weight}, {.lr = 0.3});
  optim::LinearLR scheduler(optimizer);  // start_factor 1/3, end_factor 1, total_iters 5
  REQUIRE_THAT(optimizer.lr(), WithinRel(0.1, 1e-15));
  for (int step = 0; step < 5; ++step) scheduler.step();
  REQUIRE_THAT(optimizer.lr(), WithinRel(0.3, 1e-15));
  scheduler.step();
  REQUIRE_THAT(optimizer.lr(), WithinRel(0.3, 1e-15));
}

TEST_CASE("LambdaLR scales the base lr by the factor of the epoch") {
  DummyModel model;
  optim::SGD optimizer({&model.weight}, {.lr = 2.0});
  optim::LambdaLR scheduler(optimizer, [](int epoch) { return 1.0 / (epoch + 1); });
  REQUIRE(optimizer.lr() == 2.0);
  scheduler.step();
  REQUIRE(optimizer.lr() == 1.0);
  scheduler.step();
  scheduler.step();
  REQUIRE(optimizer.lr() == 0.5);
}

TEST_CASE("OneCycleLR peaks at max_lr with base_momentum and sets the initial lr") {
  DummyModel model;
  optim::SGD optimizer({&model.weight}, {.lr = 0.5, .momentum = 0.9});
  optim::OneCycleLR scheduler(optimizer, {.max_lr = 1.0, .total_steps = 10});  // warm-up ends at step 2
  REQUIRE(scheduler.base_lr() == 1.0 / 25.0);
  REQUIRE(optimizer.initial_lr() == 1.0 / 25.0);
  REQUIRE_THAT(optimizer.lr(), WithinRel(0.04, 1e-15));
  REQUIRE(optimizer.momentum() == 0.95);
  scheduler.step();
  scheduler.step();
  REQUIRE(optimizer.lr() == 1.0);
  REQUIRE(optimizer.momentum() == 0.85);
}

TEST_CASE("OneCycleLR throws when stepped beyond total_steps") {
  DummyModel model;
  optim::SGD optimizer({&model.weight}, {.lr = 0.1, .momentum = 0.9});
  optim::OneCycleLR scheduler(optimizer, {.max_lr = 1.0, .total_steps = 10});
  for (int step = 0; step < 10; ++step) scheduler.step();  // last_epoch 10: still allowed, as in PyTorch
  double last_lr = optimizer.lr();
  REQUIRE_THROWS_MINIDL(scheduler.step(), "Tried to step 12 times. The specified number of total steps is 10");
  REQUIRE(scheduler.last_epoch() == 10);
  REQUIRE(optimizer.lr() == last_lr);
}

TEST_CASE("schedulers reject invalid arguments with clear messages") {
  DummyModel model;
  optim::SGD optimizer({&model.weight}, {.lr = 0.1, .momentum = 0.9});
  REQUIRE_THROWS_MINIDL(optim::StepLR(optimizer, 0), "StepLR: step_size must be at least 1, got 0");
  REQUIRE_THROWS_MINIDL(optim::StepLR(optimizer, 3, 0.0), "StepLR: gamma must be positive, got 0");
  REQUIRE_THROWS_MINIDL(optim::MultiStepLR(optimizer, {3, 2}), "MultiStepLR: milestones must be increasing, got 2 after 3");
  REQUIRE_THROWS_MINIDL(optim::MultiStepLR(optimizer, {2, 2}), "milestones must be increasing");
  REQUIRE_THROWS_MINIDL(optim::MultiStepLR(optimizer, {-1, 2}), "MultiStepLR: milestones must be >= 0, got -1");
  REQUIRE_THROWS_MINIDL(optim::MultiStepLR(optimizer, {2}, -0.5), "MultiStepLR: gamma must be positive, got -0.5");
  REQUIRE_THROWS_MINIDL(optim::ExponentialLR(optimizer, 0.0), "ExponentialLR: gamma must be positive, got 0");
  REQUIRE_THROWS_MINIDL(optim::CosineAnnealingLR(optimizer, 0), "CosineAnnealingLR: T_max must be at least 1, got 0");
  REQUIRE_THROWS_MINIDL(optim::CosineAnnealingLR(optimizer, 10, -1.0), "CosineAnnealingLR: eta_min must be >= 0");
  REQUIRE_THROWS_MINIDL(optim::LinearLR(optimizer, 0.0), "LinearLR: start_factor must be in (0, 1], got 0");
  REQUIRE_THROWS_MINIDL(optim::LinearLR(optimizer, 1.5), "LinearLR: start_factor must be in (0, 1], got 1.5");
  REQUIRE_THROWS_MINIDL(optim::LinearLR(optimizer, 0.5, 2.0), "LinearLR: end_factor must be in [0, 1], got 2");
  REQUIRE_THROWS_MINIDL(optim::LinearLR(optimizer, 0.5, 1.0, 0), "LinearLR: total_iters must be at least 1, got 0");
  REQUIRE_THROWS_MINIDL(optim::LambdaLR(optimizer, nullptr), "LambdaLR: lr_lambda is empty");
  REQUIRE_THROWS_MINIDL(optim::OneCycleLR(optimizer, {.max_lr = 1.0, .total_steps = 0}),
                        "OneCycleLR: Expected positive integer total_steps, but got 0");
  REQUIRE_THROWS_MINIDL(optim::OneCycleLR(optimizer, {.max_lr = 1.0, .total_steps = 10, .pct_start = 1.5}),
                        "OneCycleLR: Expected float between 0 and 1 pct_start, but got 1.5");
  REQUIRE_THROWS_MINIDL(optim::OneCycleLR(optimizer, {.max_lr = -1.0, .total_steps = 10}),
                        "OneCycleLR: max_lr must be positive, got -1");
  REQUIRE_THROWS_MINIDL(optim::OneCycleLR(optimizer, {.max_lr = 1.0, .total_steps = 10, .div_factor = 0.0}),
                        "OneCycleLR: div_factor must be positive, got 0");
  // pct_start * total_steps = 1: the warm-up phase ends where it starts (PyTorch divides by zero).
  REQUIRE_THROWS_MINIDL(optim::OneCycleLR(optimizer, {.max_lr = 1.0, .total_steps = 10, .pct_start = 0.1}),
                        "OneCycleLR: phase 1 of the schedule has no steps");
  // None of the failed constructions touched the optimizer.
  REQUIRE(optimizer.lr() == 0.1);
  REQUIRE(optimizer.momentum() == 0.9);
  REQUIRE_FALSE(optimizer.initial_lr().has_value());
}

TEST_CASE("a scheduler restored from its state continues like the original") {
  DummyModel model;
  optim::SGD optimizer({&model.weight}, {.lr = 0.1, .momentum = 0.9});
  optim::CosineAnnealingLR scheduler(optimizer, 10, 0.001);
  for (int step = 0; step < 4; ++step) scheduler.step();

  DummyModel restored_model;
  optim::SGD restored_optimizer({&restored_model.weight}, {.lr = 0.1, .momentum = 0.9});
  optim::CosineAnnealingLR restored_scheduler(restored_optimizer, 10, 0.001);
  restored_optimizer.load_state(optimizer.state());
  restored_scheduler.load_state(scheduler.state());
  REQUIRE(restored_scheduler.last_epoch() == 4);
  REQUIRE(restored_scheduler.get_last_lr() == scheduler.get_last_lr());

  for (int step = 0; step < 10; ++step) {
    scheduler.step();
    restored_scheduler.step();
    REQUIRE(restored_optimizer.lr() == optimizer.lr());
  }
  REQUIRE_THROWS_MINIDL(restored_scheduler.load_state({.last_epoch = -1}), "last_epoch must be >= 0, got -1");
}
