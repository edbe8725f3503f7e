// The study's training step as CUDA graphs (study::TrainingStep with graphs on): the same
// bits as the eager steps, the host state a replay skips advanced all the same, nothing
// allocated or waited for per step, a graph per batch size, and a resume mid-epoch that
// captures again and ends where an unbroken run ends. Runs on a GPU or in the emulated
// flavour, on a network small enough for the emulator with the study's kinds of layer.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "minidl/core/cuda_runtime.h"
#include "minidl/layers/activation.h"
#include "minidl/layers/batch_norm2d.h"
#include "minidl/layers/conv2d.h"
#include "minidl/layers/linear.h"
#include "minidl/optim/scheduler.h"
#include "test_support.h"
#include "training.h"
#if defined(MINIDL_CUDA_EMULATOR)
#include "minidl/core/emulator/emulator.h"
#endif

using namespace minidl;

namespace {

constexpr std::int64_t kImages = 10;  // batches of 4: two full ones and a last one of 2
constexpr std::int64_t kBatch = 4;
constexpr int kEpochs = 3;  // the last batch's graph is captured in the third epoch

data::Cifar10 synthetic_cifar10(std::int64_t images) {
  Generator generator(11);
  data::Cifar10 split{Tensor::empty({images, 3, 32, 32}, DType::u8), Tensor::empty({images}, DType::i32)};
  for (std::int64_t i = 0; i < split.images.numel(); ++i)
    split.images.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(generator.next_below(256));
  for (std::int64_t i = 0; i < images; ++i)
    split.labels.data<std::int32_t>()[i] = static_cast<std::int32_t>(generator.next_below(10));
  return split;
}

// pool 32x32 -> 16x16, then conv 3->2 -> BatchNorm2d -> ReLU -> pool -> conv 2->2 -> ReLU ->
// pool -> fc 32->10: every fusion of the study's networks, and state a replay must count
// (num_batches_tracked), at a size the emulator runs in seconds.
std::unique_ptr<nn::Sequential> small_net() {
  Generator generator(12);
  auto net = std::make_unique<nn::Sequential>();
  net->add("pool0", std::make_shared<nn::MaxPool2d>(2, 2));
  net->add("conv1", std::make_shared<nn::Conv2d>(nn::Conv2dOptions{3, 2, 3, 1, 1}, generator));
  net->add("bn1", std::make_shared<nn::BatchNorm2d>(2));
  net->add("relu1", std::make_shared<nn::ReLU>());
  net->add("pool1", std::make_shared<nn::MaxPool2d>(2, 2));
  net->add("conv2", std::make_shared<nn::Conv2d>(nn::Conv2dOptions{2, 2, 3, 1, 1}, generator));
  net->add("relu2", std::make_shared<nn::ReLU>());
  net->add("pool2", std::make_shared<nn::MaxPool2d>(2, 2));
  net->add("flatten", std::make_shared<nn::Flatten>());
  net->add("out", std::make_shared<nn::Linear>(2 * 4 * 4, 10, generator));
  net->to(Device::cuda());
  return net;
}

// Everything a run trains with, as study::Training has it, around the small network:
// SGD with momentum (so that the first step differs), an lr that decays every epoch (so
// that a replay must read a new one), the divergence guard, the sums, the loader.
struct SmallRun {
  explicit SmallRun(bool graphs, std::int64_t images = kImages)
      : net(small_net()),
        optimizer(net->parameters(), {.lr = 0.05, .momentum = 0.9}),
        scheduler(optimizer, 0.5),
        loader(synthetic_cifar10(images), {.batch_size = kBatch, .shuffle = true, .seed = 3, .device = Device::cuda()}),
        guard(net->parameters(), Device::cuda(), optim::DivergencePolicy::skip_bad_steps),
        sums({}, Device::cuda()),
        step(*net, criterion, optimizer, guard, sums, graphs) {}

  // Trains until `steps` steps are done or the epochs end; the scheduler steps after each epoch.
  void train(int epochs, std::int64_t stop_after_steps = -1) {
    while (loader.epoch() < epochs) {
      for (const data::Batch& batch : loader) {
        step.run(batch);
        if (optimizer.step_count() == stop_after_steps) return;
      }
      scheduler.step();
    }
  }

  std::unique_ptr<nn::Sequential> net;
  nn::CrossEntropyLoss criterion;
  optim::SGD optimizer;
  optim::ExponentialLR scheduler;
  data::DataLoader loader;
  optim::DivergenceGuard guard;
  study::DeviceSums sums;
  study::TrainingStep step;
};

// The bits of everything a run leaves: the state_dict (num_batches_tracked included),
// the momentum buffers, the step counts and the sums.
std::map<std::string, std::vector<std::uint8_t>> bits_of(SmallRun& run) {
  std::map<std::string, std::vector<std::uint8_t>> bits;
  auto add = [&](const std::string& name, const Tensor& tensor) {
    Tensor host = tensor.to(Device::cpu());
    const auto* bytes = static_cast<const std::uint8_t*>(host.raw_data());
    bits[name] = std::vector<std::uint8_t>(bytes, bytes + host.nbytes());
  };
  for (const auto& [name, value] : run.net->state_dict()) add(name, value);
  for (std::size_t i = 0; i < run.optimizer.momentum_buffers().size(); ++i)
    add("momentum " + std::to_string(i), run.optimizer.momentum_buffers()[i]);
  study::PassResult sums;
  run.sums.read_into(sums);
  add("sums", Tensor::from_vector<double>({2}, {sums.total_loss, static_cast<double>(sums.correct)}));
  add("steps", Tensor::from_vector<std::int64_t>(
                   {3}, {run.optimizer.step_count(), run.guard.next_step(), run.guard.poll().bad_steps}));
  return bits;
}

}  // namespace

TEST_CASE("epochs of cuda graph replays give the bits of the same epochs launched eagerly") {
  if (testing::skip_unless_cuda()) return;
  SmallRun eager(false), graphs(true);
  eager.train(kEpochs);
  graphs.train(kEpochs);
  REQUIRE(graphs.step.graph_captures() == 2);  // the full batches, and the last one of 4
  const auto expected = bits_of(eager), actual = bits_of(graphs);
  for (const auto& [name, value] : expected) {
    INFO(name);
    REQUIRE(actual.at(name) == value);
  }
  REQUIRE(dynamic_cast<nn::BatchNorm2d&>(graphs.net->child("bn1")).num_batches_tracked.value.item<std::int64_t>() ==
          kEpochs * 3);
}

TEST_CASE("a run stopped mid-epoch and resumed with cuda graphs ends with the bits of an unbroken run") {
  if (testing::skip_unless_cuda()) return;
  SmallRun unbroken(true);
  unbroken.train(kEpochs);

  // Stop after 4 steps (mid-epoch 1), keep what a checkpoint keeps, rebuild and go on.
  SmallRun first(true);
  first.train(kEpochs, 4);
  std::map<std::string, Tensor> model;
  for (const auto& [name, value] : first.net->state_dict()) model[name] = value.clone();
  optim::SgdState optimizer = first.optimizer.state();
  for (Tensor& buffer : optimizer.momentum_buffers) buffer = buffer.clone();
  const optim::LRSchedulerState scheduler = first.scheduler.state();
  const data::DataLoaderState loader = first.loader.state();
  const optim::DivergenceReport guard = first.guard.poll();
  study::PassResult sums;
  first.sums.read_into(sums);

  SmallRun resumed(true);
  resumed.net->load_state_dict(model);
  resumed.optimizer.load_state(optimizer);
  resumed.scheduler.load_state(scheduler);
  resumed.loader.load_state(loader);
  resumed.guard.load_state(guard);
  resumed.sums.reset(sums);
  resumed.train(kEpochs);
  // 5 steps left: 2 full batches eager, the third captured; the last batches of 2 eager.
  REQUIRE(resumed.step.graph_captures() == 1);
  const auto expected = bits_of(unbroken), actual = bits_of(resumed);
  for (const auto& [name, value] : expected) {
    INFO(name);
    REQUIRE(actual.at(name) == value);
  }
}

TEST_CASE("a replayed training step allocates nothing waits for nothing and is one graph launch") {
  if (testing::skip_unless_cuda()) return;
  SmallRun run(true, 4 * kBatch);  // four full batches an epoch
  run.train(1);                    // two eager steps, a capture and a replay
  REQUIRE(run.step.graph_captures() == 1);
  auto batch = run.loader.begin();  // epoch 1: its order is uploaded, its first batch gathered
  const cuda::AllocatorStats allocator_before = cuda::allocator_stats();
#if defined(MINIDL_CUDA_EMULATOR)
  const emulator::Counters before = emulator::counters();
#endif
  for (int step = 0; step < 3; ++step, ++batch) run.step.run(*batch);  // a replay, then the next batch's gather
  const cuda::AllocatorStats allocator_after = cuda::allocator_stats();
  REQUIRE(allocator_after.device_allocations == allocator_before.device_allocations);
  REQUIRE(allocator_after.allocated_bytes == allocator_before.allocated_bytes);
#if defined(MINIDL_CUDA_EMULATOR)
  const emulator::Counters used = emulator::counters() - before;
  REQUIRE(used.device_allocations == 0);
  REQUIRE(used.host_synchronizations == 0);
  REQUIRE(used.graph_launches == 3);
#endif
  REQUIRE(run.step.graph_captures() == 1);
}

namespace {

// A layer that allocates device memory in every forward, each time more: after warm-up
// it still asks cudaMalloc for memory, which a capture refuses.
class AllocatingLayer : public nn::Module {
 public:
  Tensor forward(const Tensor& input) override {
    scratch_ = Tensor::empty({std::int64_t{1} << (18 + calls_++)}, DType::f32, input.device());
    return input;
  }
  Tensor backward(const Tensor& grad_output) override { return grad_output; }
  std::string repr() const override { return "AllocatingLayer()"; }

 private:
  Tensor scratch_;
  int calls_ = 0;
};

}  // namespace

TEST_CASE("a training step that allocates cannot be captured and the error names the refused call") {
  if (testing::skip_unless_cuda()) return;
  SmallRun run(true, 4 * kBatch);
  run.net->add("allocating", std::make_shared<AllocatingLayer>());
  cuda::empty_cache();
  REQUIRE_THROWS_MINIDL(run.train(1), "capturing the training step at batch size 4 as a CUDA graph: cudaMalloc failed");
  REQUIRE(run.step.graph_captures() == 0);  // and no quiet fall back to eager steps
}
