// sgd: one stochastic-gradient-descent update of one parameter, by torch.optim.SGD's rule.
//
//   d = grad + weight_decay * param
//   if momentum != 0:
//     buf = d                                        on the first step
//     buf = momentum * buf + (1 - dampening) * d     afterwards
//     d = nesterov ? d + momentum * buf : buf
//   param -= lr * d
#pragma once

#include "core/tensor.h"

namespace minidl::ops {

struct SgdParams {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

// Throws Error for settings torch.optim.SGD rejects (the checks sgd_update makes):
// lr negative or not finite, momentum or weight_decay negative, nesterov without
// momentum > 0 and dampening == 0.
void check_sgd_params(const SgdParams& params);

// momentum_buffer (param's shape) is used only when momentum != 0.
void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdParams& params,
                bool first_step);

}  // namespace minidl::ops
