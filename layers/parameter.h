/// \file
/// Parameter: a trainable tensor and the gradient that backward accumulates into it.
#pragma once

#include <string>

#include "minidl/core/tensor.h"

namespace minidl::nn {

/// A trainable tensor, its gradient and its state_dict name.
struct Parameter {
  std::string name;  ///< the state_dict key, e.g. "conv1.weight" once inside a Sequential
  Tensor value;      ///< what the optimizer updates
  Tensor grad;       ///< same shape, dtype and device as value; zeroed by zero_grad()
};

}  // namespace minidl::nn
