// A program that uses an installed minidl: the study's network, weights from a
// safetensors file, a few SGD steps on CIFAR-10, the weights saved again.
//
//   consumer CIFAR10_DIR RECORDS_PER_FILE WEIGHTS_IN WEIGHTS_OUT
#include <cstdio>
#include <string>

#include <minidl/core/device.h>
#include <minidl/core/error.h>
#include <minidl/core/safetensors.h>
#include <minidl/data/cifar10.h>
#include <minidl/data/data_loader.h>
#include <minidl/kernels/implementation.h>
#include <minidl/layers/cross_entropy_loss.h>
#include <minidl/layers/networks.h>
#include <minidl/optim/sgd.h>

using namespace minidl;

int main(int argc, char** argv) {
  return run_main("consumer", [&] {
    if (argc != 5) fail("usage: consumer CIFAR10_DIR RECORDS_PER_FILE WEIGHTS_IN WEIGHTS_OUT");
    const Device device = cuda_is_available() ? Device::cuda() : Device::cpu();
    std::printf("consumer: %s, %s\n", device.str().c_str(), ops::implementations_summary(device.type).c_str());

    // The network, with the weights of a file saved by minidl or by PyTorch.
    auto net = nn::make_study_net(/*batch_norm=*/false);
    net->load_state_dict(load_safetensors(argv[3]).tensors);
    net->to(device);

    // The training images, in batches of 10, shuffled and normalized as the study's.
    data::Cifar10 train = data::load_cifar10(argv[1], data::Split::train, std::stoll(argv[2]));
    data::DataLoader loader(train, {.batch_size = 10, .shuffle = true, .seed = 1, .device = device});

    nn::CrossEntropyLoss criterion;
    optim::SGD optimizer(net->parameters(), {.lr = 0.1});
    int steps = 0;
    for (const data::Batch& batch : loader) {
      optimizer.zero_grad();
      Tensor loss = criterion.forward(net->forward(batch.images), batch.labels);
      net->backward(criterion.backward());
      optimizer.step();
      std::printf("step %d: loss %.4f\n", steps, loss.item<float>());
      if (++steps == 5) break;
    }

    save_safetensors(argv[4], net->state_dict());
    std::printf("consumer: saved %s\n", argv[4]);
    return 0;
  });
}
