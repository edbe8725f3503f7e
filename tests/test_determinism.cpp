// Specification of determinism: the same seed gives the same bits in every run.
//
// On the CPU, threads split work and never sums (core/parallel.h), so results depend
// neither on the run nor on the thread count (test_cpu_fast_path.cpp checks the latter).
// On CUDA, minidl's kernels and its cuBLAS calls have one summation order each; cuDNN's
// conv2d needs the deterministic mode (kernels/implementation.h). The emulator runs the
// blocks of every grid in order and shuffled, and the results must not change: a kernel
// that added floats with atomics, or whose blocks read each other's results, would
// change them. On a GPU every implementation trains twice.
#include <algorithm>
#include <bit>
#include <cstdlib>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gradcheck.h"
#include "minidl/kernels/implementation.h"
#include "minidl/layers/activation.h"
#include "minidl/layers/batch_norm2d.h"
#include "minidl/layers/conv2d.h"
#include "minidl/layers/cross_entropy_loss.h"
#include "minidl/layers/linear.h"
#include "minidl/layers/networks.h"
#include "minidl/optim/sgd.h"
#include "test_support.h"
#if defined(MINIDL_CUDA_EMULATOR)
#include "minidl/core/emulator/emulator.h"
#endif
#if defined(MINIDL_WITH_CUDNN)
#include "minidl/kernels/cudnn/conv2d.h"
#endif

using namespace minidl;
using namespace minidl::testing;

namespace {

// Bits of a float tensor: comparing them tells equal bits from equal values (-0 == 0, NaN != NaN).
std::vector<std::uint32_t> bits_of(const Tensor& values) {
  std::vector<std::uint32_t> bits;
  for (float value : values.to_vector<float>()) bits.push_back(std::bit_cast<std::uint32_t>(value));
  return bits;
}

// What a few training steps leave behind: each step's loss, and every float of the
// state_dict (weights, biases and BatchNorm's running statistics).
struct TrainingRecord {
  std::vector<std::uint32_t> losses;
  std::map<std::string, std::vector<std::uint32_t>> state;
  bool operator==(const TrainingRecord&) const = default;
};

// Steps of plain SGD at lr 0.1 on one batch that lives on the network's device.
TrainingRecord train_steps(nn::Module& net, const Tensor& images, const Tensor& labels, int steps) {
  optim::SGD optimizer(net.parameters(), {.lr = 0.1});
  nn::CrossEntropyLoss criterion;
  TrainingRecord record;
  for (int step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    Tensor loss = criterion.forward(net.forward(images), labels);
    net.backward(criterion.backward());
    optimizer.step();
    record.losses.push_back(bits_of(loss).front());
  }
  for (const auto& [name, value] : net.state_dict())
    if (value.dtype() == DType::f32) record.state[name] = bits_of(value);
  return record;
}

// A batch of CIFAR-10's shape (N, 3, size, size) with labels in 0..9, drawn from generator.
std::pair<Tensor, Tensor> random_batch(std::int64_t batch, std::int64_t size, Generator& generator, Device device) {
  Tensor images = random_tensor({batch, 3, size, size}, generator, DType::f32);
  std::vector<std::int32_t> labels;
  for (std::int64_t i = 0; i < batch; ++i) labels.push_back(static_cast<std::int32_t>(generator.next_below(10)));
  return {images.to(device), Tensor::from_vector<std::int32_t>({batch}, labels, device)};
}

// The study's network, initialised and fed from seed, trained for 2 steps.
TrainingRecord train_study_net(bool batch_norm, std::uint64_t seed, Device device, std::int64_t batch = 8) {
  Generator generator(seed);
  auto net = nn::make_study_net(batch_norm, generator);
  net->to(device);
  auto [images, labels] = random_batch(batch, 32, generator, device);
  return train_steps(*net, images, labels, 2);
}

// Every layer kind of the study's batch-norm network, small enough for the emulator
// (grids of 1 to 4 blocks), trained for 2 steps at batch 4:
//   conv 3->2 3x3 pad 1 on 4x4 -> BatchNorm2d -> ReLU -> max-pool 2x2 -> flatten -> fc1 8->10
TrainingRecord train_small_net(std::uint64_t seed, Device device) {
  Generator generator(seed);
  nn::Sequential net;
  net.add("conv1", std::make_shared<nn::Conv2d>(nn::Conv2dOptions{3, 2, 3, 1, 1}, generator));
  net.add("bn1", std::make_shared<nn::BatchNorm2d>(2));
  net.add("relu1", std::make_shared<nn::ReLU>());
  net.add("pool1", std::make_shared<nn::MaxPool2d>(2, 2));
  net.add("flatten", std::make_shared<nn::Flatten>());
  net.add("fc1", std::make_shared<nn::Linear>(2 * 2 * 2, 10, generator));
  net.to(device);
  auto [images, labels] = random_batch(4, 4, generator, device);
  return train_steps(net, images, labels, 2);
}

// Sets the deterministic mode for as long as it lives.
class DeterministicGuard {
 public:
  explicit DeterministicGuard(bool on) : previous_(ops::deterministic()) { ops::set_deterministic(on); }
  ~DeterministicGuard() { ops::set_deterministic(previous_); }
  DeterministicGuard(const DeterministicGuard&) = delete;
  DeterministicGuard& operator=(const DeterministicGuard&) = delete;

 private:
  bool previous_;
};

// Runs implementation on CUDA for every op that offers it, for as long as it lives;
// empty when no op does (cudnn in a build without cuDNN).
struct CudaImplementationChoice {
  explicit CudaImplementationChoice(const std::string& name) {
    for (ops::Op op : ops::all_ops())
      for (const ops::ImplementationInfo& available : ops::implementations(op, DeviceType::CUDA))
        if (available.name == name) guards.emplace_back(op, DeviceType::CUDA, name);
  }
  bool empty() const { return guards.empty(); }
  std::list<ops::ImplementationGuard> guards;
};

// Every name that some op registers on CUDA, in order of first appearance.
std::vector<std::string> cuda_implementation_names() {
  std::vector<std::string> names;
  for (ops::Op op : ops::all_ops())
    for (const ops::ImplementationInfo& info : ops::implementations(op, DeviceType::CUDA))
      if (std::find(names.begin(), names.end(), info.name) == names.end()) names.push_back(info.name);
  return names;
}

}  // namespace

TEST_CASE("on the cpu the same seed trains the study's networks to the same bits and another seed does not") {
  for (bool batch_norm : {false, true}) {
    INFO("batch norm " << batch_norm);
    const TrainingRecord first = train_study_net(batch_norm, 1, Device::cpu());
    REQUIRE(train_study_net(batch_norm, 1, Device::cpu()) == first);
    const TrainingRecord other_seed = train_study_net(batch_norm, 2, Device::cpu());
    REQUIRE(other_seed.losses != first.losses);
    REQUIRE(other_seed.state.at("conv1.weight") != first.state.at("conv1.weight"));
    REQUIRE(other_seed.state.at("out.bias") != first.state.at("out.bias"));
  }
}

TEST_CASE("the deterministic mode is off by default and MINIDL_DETERMINISTIC sets it until set_deterministic") {
  // Restores the environment and the default at the end, also when a REQUIRE fails.
  struct Restore {
    ~Restore() {
      ::unsetenv("MINIDL_DETERMINISTIC");
      ops::reset_implementations();
    }
  } restore;
  ::unsetenv("MINIDL_DETERMINISTIC");
  ops::reset_implementations();
  REQUIRE_FALSE(ops::deterministic());
  ::setenv("MINIDL_DETERMINISTIC", "1", 1);
  REQUIRE(ops::deterministic());
  ops::set_deterministic(false);
  REQUIRE_FALSE(ops::deterministic());
  ::setenv("MINIDL_DETERMINISTIC", "0", 1);
  ops::set_deterministic(true);
  REQUIRE(ops::deterministic());
  ops::reset_implementations();
  REQUIRE_FALSE(ops::deterministic());
  ::setenv("MINIDL_DETERMINISTIC", "yes", 1);
  REQUIRE_THROWS_MINIDL(ops::deterministic(), "MINIDL_DETERMINISTIC must be 0 or 1, got 'yes'");
}

TEST_CASE("on cuda training gives the same bits in every run") {
  if (skip_unless_cuda()) return;
#if defined(MINIDL_CUDA_EMULATOR)
  // minidl's kernels (the default implementation) with the blocks of every grid in
  // order, then shuffled. The emulator's cuBLAS is a host loop: only a GPU can tell
  // about the other implementations.
  struct RestoreBlockOrder {
    emulator::BlockOrder order = emulator::block_order();
    ~RestoreBlockOrder() { emulator::set_block_order(order); }
  } restore;
  emulator::set_block_order(emulator::BlockOrder::in_order);
  const TrainingRecord in_order = train_small_net(1, Device::cuda());
  emulator::set_block_order(emulator::BlockOrder::shuffled, 1);
  REQUIRE(train_small_net(1, Device::cuda()) == in_order);
#else
  // Every implementation, each for every op that offers it. minidl's kernels and cuBLAS
  // are deterministic in the default mode; cuDNN's conv2d needs the deterministic mode.
  for (const std::string& implementation : cuda_implementation_names()) {
    CudaImplementationChoice choice(implementation);
    INFO("implementation " << implementation);
    DeterministicGuard mode(implementation == "cudnn");
    for (bool batch_norm : {false, true}) {
      INFO("batch norm " << batch_norm);
      REQUIRE(train_study_net(batch_norm, 1, Device::cuda(), 32) == train_study_net(batch_norm, 1, Device::cuda(), 32));
    }
  }
#endif
}

// Every place the study's networks fuse a ReLU (kernels/epilogue.h), at a size the
// emulator runs in moments: conv 3->4 on 8x8 -> (BatchNorm2d) -> ReLU -> max-pool 2x2 ->
// flatten -> fc1 64->6 -> ReLU -> out 6->10, trained for 2 steps at batch 4, with the
// ReLUs fused with their neighbours or not (layers/sequential.h).
TrainingRecord train_fusable_net(bool batch_norm, bool fusion, Device device) {
  Generator generator(5);
  nn::Sequential net;
  net.add("conv1", std::make_shared<nn::Conv2d>(nn::Conv2dOptions{3, 4, 3, 1, 1}, generator));
  if (batch_norm) net.add("bn1", std::make_shared<nn::BatchNorm2d>(4));
  net.add("relu1", std::make_shared<nn::ReLU>());
  net.add("pool1", std::make_shared<nn::MaxPool2d>(2, 2));
  net.add("flatten", std::make_shared<nn::Flatten>());
  net.add("fc1", std::make_shared<nn::Linear>(4 * 4 * 4, 6, generator));
  net.add("relu2", std::make_shared<nn::ReLU>());
  net.add("out", std::make_shared<nn::Linear>(6, 10, generator));
  net.set_fusion(fusion);
  net.to(device);
  auto [images, labels] = random_batch(4, 8, generator, device);
  return train_steps(net, images, labels, 2);
}

TEST_CASE("a network with its relus fused trains to the bits of the network without") {
  // The default implementations fuse on CUDA; on the CPU nothing is fused yet, and the
  // two runs are the same code.
  std::vector<Device> devices = {Device::cpu()};
  if (cuda_is_available()) devices.push_back(Device::cuda());
  for (Device device : devices) {
    for (bool batch_norm : {false, true}) {
      INFO(device.str() << " batch norm " << batch_norm);
      REQUIRE(train_fusable_net(batch_norm, true, device) == train_fusable_net(batch_norm, false, device));
    }
  }
}

#if defined(MINIDL_WITH_CUDNN)
TEST_CASE("in deterministic mode cudnn conv2d chooses no algorithm that adds with atomics") {
  if (skip_unless_cuda()) return;
  CudaImplementationChoice choice("cudnn");
  DeterministicGuard mode(true);
  train_study_net(false, 1, Device::cuda(), 32);
  // The study's three convolutions at batch 32: 3->32 on 32x32, 32->32 on 16x16 and on 8x8.
  for (auto [in_channels, size] : {std::pair{3, 32}, std::pair{32, 16}, std::pair{32, 8}}) {
    cpu::Conv2dShape shape{.batch = 32, .in_channels = in_channels, .height = size, .width = size,
                           .out_channels = 32, .kernel_height = 3, .kernel_width = 3, .stride = 1, .padding = 1,
                           .out_height = size, .out_width = size};
    const std::string algorithms = cudnn::conv2d_algorithms(shape);
    INFO(algorithms);
    REQUIRE_THAT(algorithms, !Catch::Contains("not chosen"));
    REQUIRE_THAT(algorithms, !Catch::Contains("backward data ALGO_0"));
    REQUIRE_THAT(algorithms, !Catch::Contains("backward filter ALGO_0"));
    REQUIRE_THAT(algorithms, !Catch::Contains("backward filter ALGO_3"));
  }
}
#endif
