// The study's training step (study::train_step) on the study's layers at a size the
// emulator runs in a moment, on cuda: conv 3->4 (+ BatchNorm) -> ReLU -> max-pool ->
// flatten -> linear 16->10, a batch of two 4x4 images. For the tests of what a step
// allocates, synchronises and keeps (test_study, test_leaks).
#pragma once

#include <memory>

#include "minidl/layers/activation.h"
#include "minidl/layers/batch_norm2d.h"
#include "minidl/layers/conv2d.h"
#include "minidl/layers/cross_entropy_loss.h"
#include "minidl/layers/linear.h"
#include "minidl/layers/sequential.h"
#include "minidl/optim/divergence_guard.h"
#include "minidl/optim/sgd.h"
#include "training.h"

namespace minidl::testing {

// Its initial weights from Generator(seed), on device.
inline std::unique_ptr<nn::Sequential> small_study_net(bool batch_norm, std::uint64_t seed = 1,
                                                       Device device = Device::cuda()) {
  Generator generator(seed);
  auto net = std::make_unique<nn::Sequential>();
  net->add("conv1", std::make_shared<nn::Conv2d>(nn::Conv2dOptions{3, 4, 3, 1, 1}, generator));
  if (batch_norm) net->add("bn1", std::make_shared<nn::BatchNorm2d>(4));
  net->add("relu1", std::make_shared<nn::ReLU>());
  net->add("pool1", std::make_shared<nn::MaxPool2d>(2, 2));
  net->add("flatten", std::make_shared<nn::Flatten>());
  net->add("out", std::make_shared<nn::Linear>(16, 10, generator));
  net->to(device);
  return net;
}

struct SmallStudyStep {
  explicit SmallStudyStep(bool batch_norm)
      : net(small_study_net(batch_norm)),
        optimizer(net->parameters(), {.lr = 0.1}),
        guard(net->parameters(), Device::cuda()),
        sums({}, Device::cuda()) {}

  // One training step, adding to sums.
  void run() { study::train_step(*net, criterion, optimizer, guard, batch, sums); }

  std::unique_ptr<nn::Sequential> net;
  nn::CrossEntropyLoss criterion;
  optim::SGD optimizer;
  optim::DivergenceGuard guard;
  study::DeviceSums sums;
  data::Batch batch{.images = Tensor::full({2, 3, 4, 4}, 0.5, DType::f32, Device::cuda()),
                    .labels = Tensor::from_vector<std::int32_t>({2}, {3, 7}, Device::cuda())};
};

}  // namespace minidl::testing
