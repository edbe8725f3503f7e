// Does every launch of the study's training step have enough blocks to fill a GPU?
// A check that needs no GPU: the emulator records the launches of a whole training step
// at batch 100 (LaunchRecorder, record_only: no kernel body runs, so it takes moments),
// with each launch's grid and the work its call site declares (kernels/cuda/kernel_support.cuh).
// Every launch of at least 2^20 multiply-adds or elements must have at least 264 blocks:
// two per multiprocessor of an H200 (132), the GPU the emulator reports and the project
// targets. Emulated flavour only.
#include <string>
#include <vector>

#include "minidl/core/cuda_api.h"
#include "minidl/core/emulator/emulator.h"
#include "minidl/data/data_loader.h"
#include "minidl/layers/cross_entropy_loss.h"
#include "minidl/layers/networks.h"
#include "minidl/optim/divergence_guard.h"
#include "minidl/optim/sgd.h"
#include "test_support.h"
#include "training.h"

using namespace minidl;

namespace {

constexpr std::int64_t kMuchWork = std::int64_t{1} << 20;
constexpr unsigned kEnoughBlocks = 264;

// A CIFAR-10-shaped data set of `count` images (pixel values do not matter here).
data::Cifar10 synthetic_cifar10(std::int64_t count) {
  data::Cifar10 split{Tensor::zeros({count, 3, 32, 32}, DType::u8), Tensor::zeros({count}, DType::i32)};
  for (std::int64_t i = 0; i < count; ++i) split.labels.data<std::int32_t>()[i] = static_cast<std::int32_t>(i % 10);
  return split;
}

// The launches of the third training step of the study's network at batch 100 (the first
// two size every buffer and table), recorded without running.
std::vector<emulator::LaunchRecord> study_step_launches(bool batch_norm) {
  emulator::LaunchRecorder recorder(emulator::LaunchRecorder::Mode::record_only);
  auto net = nn::make_study_net(batch_norm);
  net->to(Device::cuda());
  nn::CrossEntropyLoss criterion;
  optim::SGD optimizer(net->parameters(), {.lr = 0.1});
  optim::DivergenceGuard guard(net->parameters(), Device::cuda());
  study::DeviceSums sums({}, Device::cuda());
  data::DataLoader loader(synthetic_cifar10(300), {.batch_size = 100, .shuffle = true, .seed = 1, .device = Device::cuda()});
  int step = 0;
  for (const data::Batch& batch : loader) {
    if (step == 2) recorder.clear();
    study::train_step(*net, criterion, optimizer, guard, batch, sums);
    if (++step == 3) break;
  }
  return recorder.records();
}

std::string describe(const emulator::LaunchRecord& launch) {
  return fmt::format("{}:{}: grid ({}, {}, {}) = {} blocks of {} threads, {} {}", launch.where.file, launch.where.line,
                     launch.grid.x, launch.grid.y, launch.grid.z, launch.grid.x * launch.grid.y * launch.grid.z,
                     launch.block.x * launch.block.y * launch.block.z, launch.work.amount, launch.work.kind);
}

}  // namespace

TEST_CASE("every launch of the study's batch-100 training step with much work has at least two blocks per SM") {
  REQUIRE(cuda::multiprocessor_count() * 2 == static_cast<int>(kEnoughBlocks));
  for (bool batch_norm : {false, true}) {
    INFO("batch norm " << batch_norm);
    const std::vector<emulator::LaunchRecord> launches = study_step_launches(batch_norm);
    std::string table;
    int much_work = 0, too_few_blocks = 0;
    for (const emulator::LaunchRecord& launch : launches) {
      table += describe(launch) + "\n";
      if (launch.work.amount < kMuchWork) continue;
      ++much_work;
      if (launch.grid.x * launch.grid.y * launch.grid.z < kEnoughBlocks) ++too_few_blocks;
    }
    INFO("the step's " << launches.size() << " launches:\n" << table);
    REQUIRE(much_work >= 10);  // the convolutions at least: the check has something to check
    REQUIRE(too_few_blocks == 0);
  }
}

TEST_CASE("every launch of the training step declares the work it does") {
  for (const emulator::LaunchRecord& launch : study_step_launches(true)) {
    INFO(describe(launch));
    REQUIRE(launch.work.amount > 0);
  }
}
