/// \file
/// The CIFAR-10 study's network, with PyTorch's names:
///
///   3 x [ conv 3x3 pad 1 (3->32, 32->32, 32->32) -> (BatchNorm2d) -> ReLU -> max-pool 2x2 ]
///   -> flatten (C, H, W) -> fc1 512->64 -> ReLU -> out 64->10
///
/// 52,874 parameters; 53,066 with batch norm (64 more per BatchNorm2d: weight and bias).
#pragma once

#include <memory>

#include "minidl/layers/sequential.h"

namespace minidl::nn {

/// The network above, named as PyTorch's state_dict (conv1, bn1, relu1, pool1, ...,
/// flatten, fc1, relu4, out), with a BatchNorm2d after each convolution when
/// batch_norm is set; the weights are drawn from generator as PyTorch initialises them.
/// Its backward returns an undefined tensor: the images' gradient is not computed.
std::unique_ptr<Sequential> make_study_net(bool batch_norm, Generator& generator);
/// The same network, for a caller that loads its weights next (load_state_dict): they are
/// drawn from Generator(0) until then.
std::unique_ptr<Sequential> make_study_net(bool batch_norm);

}  // namespace minidl::nn
