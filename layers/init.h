/// \file
/// PyTorch's default initialisation of Conv2d and Linear, shared by both layers.
#pragma once

#include <cmath>
#include <cstdint>

#include "minidl/core/tensor.h"

namespace minidl::nn {

/// A parameter with PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
/// (torch.nn.init.kaiming_uniform_(w, a=sqrt(5)) gives bound gain*sqrt(3/fan_in) with
/// gain = sqrt(2/(1+5)), which is 1/sqrt(fan_in); the bias uses the same bound.)
inline Tensor uniform_fan_in(const Shape& shape, std::int64_t fan_in, Generator& generator) {
  double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  Tensor t = Tensor::empty(shape);
  t.uniform_(-bound, bound, generator);
  return t;
}

}  // namespace minidl::nn
