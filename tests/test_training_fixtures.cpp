// Training steps of the study's networks replayed against PyTorch.
//
// scripts/make_training_fixtures.py trained the two networks in PyTorch 1.13 from
// recorded initial weights on 20 recorded batches (the last one partial) and
// recorded every step's loss and the final weights. Here minidl loads the same
// weights, runs the same steps, and must land on the same numbers.
//
// Both sides compute in float32 with different summation orders, so results
// differ by rounding, and 20 steps of SGD carry those differences forward
// without amplifying them much at these learning rates. Tolerances: each loss to
// 1e-4 relative; each final weight to 2e-4 absolute plus 1e-3 relative.
#include "minidl/core/safetensors.h"
#include "gradcheck.h"
#include "minidl/layers/cross_entropy_loss.h"
#include "minidl/layers/networks.h"
#include "minidl/optim/scheduler.h"
#include "minidl/optim/sgd.h"
#include "test_support.h"

using namespace minidl;
using testing::require_close;

namespace {

const std::string kDir = std::string(MINIDL_FIXTURE_DIR) + "/training/";

// The study's transform in float32, in PyTorch's order: x / 255, then (x - mean) / std.
Tensor normalize(const Tensor& images) {
  const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, std[3] = {0.2023f, 0.1994f, 0.2010f};
  Tensor out = Tensor::empty(images.shape());
  const std::uint8_t* in = images.data<std::uint8_t>();
  float* values = out.data<float>();
  std::int64_t plane = images.size(2) * images.size(3);
  for (std::int64_t i = 0; i < images.numel(); ++i) {
    int channel = static_cast<int>((i / plane) % 3);
    values[i] = (static_cast<float>(in[i]) / 255.0f - mean[channel]) / std[channel];
  }
  return out;
}

struct Run {
  std::string name;
  bool batch_norm;
  optim::SgdOptions options;
  bool exponential_lr = false;  // ExponentialLR(0.8) stepped every 5 batches
};

void replay(const Run& run) {
  INFO("run " << run.name);
  SafetensorsFile batches = load_safetensors(kDir + "batches.safetensors");
  SafetensorsFile init = load_safetensors(kDir + (run.batch_norm ? "init_bn" : "init_plain") + ".safetensors");
  SafetensorsFile expected = load_safetensors(kDir + "run_" + run.name + ".safetensors");

  Generator generator(0);
  auto net = nn::make_study_net(run.batch_norm, generator);
  net->load_state_dict(init.tensors);
  nn::CrossEntropyLoss criterion;
  optim::SGD optimizer(net->parameters(), run.options);
  std::unique_ptr<optim::ExponentialLR> scheduler;
  if (run.exponential_lr) scheduler = std::make_unique<optim::ExponentialLR>(optimizer, 0.8);

  Tensor images = normalize(batches.tensors.at("images"));
  const Tensor& labels = batches.tensors.at("labels");
  std::vector<std::int32_t> batch_sizes = batches.tensors.at("batch_sizes").to_vector<std::int32_t>();
  std::vector<double> expected_losses = expected.tensors.at("losses").to_vector<double>();
  std::vector<double> expected_lrs = expected.tensors.at("lrs").to_vector<double>();
  REQUIRE(expected_losses.size() == batch_sizes.size());

  std::int64_t start = 0;
  for (std::size_t step = 0; step < batch_sizes.size(); ++step) {
    std::int64_t end = start + batch_sizes[step];
    REQUIRE(optimizer.lr() == Approx(expected_lrs[step]).epsilon(1e-12));
    optimizer.zero_grad();
    Tensor loss = criterion.forward(net->forward(images.slice(start, end)), labels.slice(start, end));
    net->backward(criterion.backward());
    optimizer.step();
    INFO("step " << step);
    REQUIRE(loss.item<float>() == Approx(expected_losses[step]).epsilon(1e-4));
    if (scheduler && (step + 1) % 5 == 0) scheduler->step();
    start = end;
  }
  for (const auto& [key, value] : net->state_dict()) require_close(value, expected.tensors.at(key), 1e-3, 2e-4, key);
}

}  // namespace

TEST_CASE("plain SGD training of the study network matches PyTorch step by step") {
  replay({"plain_sgd", false, {.lr = 0.05}});
}

TEST_CASE("SGD with momentum matches PyTorch step by step") {
  replay({"plain_momentum", false, {.lr = 0.01, .momentum = 0.9}});
}

TEST_CASE("SGD with nesterov momentum matches PyTorch step by step") {
  replay({"plain_nesterov", false, {.lr = 0.01, .momentum = 0.9, .nesterov = true}});
}

TEST_CASE("SGD with weight decay matches PyTorch step by step") {
  replay({"plain_weight_decay", false, {.lr = 0.05, .weight_decay = 5e-4}});
}

TEST_CASE("ExponentialLR stepped per epoch matches PyTorch step by step") {
  replay({"plain_exponential_lr", false, {.lr = 0.05}, true});
}

TEST_CASE("the batch norm network trains like PyTorch including running statistics") {
  replay({"bn_sgd", true, {.lr = 0.05}});
}
