#include "minidl/layers/networks.h"

#include "minidl/layers/activation.h"
#include "minidl/layers/batch_norm2d.h"
#include "minidl/layers/conv2d.h"
#include "minidl/layers/linear.h"

namespace minidl::nn {

std::unique_ptr<Sequential> make_study_net(bool batch_norm, Generator& generator) {
  auto net = std::make_unique<Sequential>();
  int in_channels = 3;
  for (int block = 1; block <= 3; ++block) {
    // The images need no gradient: conv1's backward skips its input's.
    Conv2dOptions conv{.in_channels = in_channels, .out_channels = 32, .kernel_size = 3, .padding = 1,
                       .input_grad = block > 1};
    net->add(fmt::format("conv{}", block), std::make_shared<Conv2d>(conv, generator));
    if (batch_norm) net->add(fmt::format("bn{}", block), std::make_shared<BatchNorm2d>(32));
    net->add(fmt::format("relu{}", block), std::make_shared<ReLU>());
    net->add(fmt::format("pool{}", block), std::make_shared<MaxPool2d>(2, 2));
    in_channels = 32;
  }
  net->add("flatten", std::make_shared<Flatten>());
  net->add("fc1", std::make_shared<Linear>(32 * 4 * 4, 64, generator));
  net->add("relu4", std::make_shared<ReLU>());
  net->add("out", std::make_shared<Linear>(64, 10, generator));
  return net;
}

std::unique_ptr<Sequential> make_study_net(bool batch_norm) {
  Generator generator(0);
  return make_study_net(batch_norm, generator);
}

}  // namespace minidl::nn
