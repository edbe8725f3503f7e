// CPU reference of sgd (contract: kernels/sgd.h).
#include "minidl/kernels/cpu/sgd.h"

namespace minidl::cpu {

// param, grad, momentum_buffer (numel elements each), elementwise, by torch.optim.SGD's rule:
//   d = grad + weight_decay * param
//   if momentum != 0:
//     buf = d                                        on the first step
//     buf = momentum * buf + (1 - dampening) * d     afterwards
//     d = nesterov ? d + momentum * buf : buf
//   param -= lr * d
// The arithmetic is in T, as PyTorch does it in the parameter's dtype; there are no sums.
template <typename T>
void sgd_update(T* param, const T* grad, T* momentum_buffer, std::int64_t numel, const ops::SgdParams& params,
                bool first_step) {
  const T lr = static_cast<T>(params.lr);
  const T momentum = static_cast<T>(params.momentum);
  const T dampening = static_cast<T>(params.dampening);
  const T weight_decay = static_cast<T>(params.weight_decay);
  for (std::int64_t i = 0; i < numel; ++i) {
    // doc:sgd-weight-decay
    T d = grad[i] + weight_decay * param[i];
    // doc:sgd-momentum
    if (params.momentum != 0.0) {
      T& buf = momentum_buffer[i];
      buf = first_step ? d : momentum * buf + (T(1) - dampening) * d;
      d = params.nesterov ? d + momentum * buf : buf;
    }
    // doc:sgd-step
    param[i] -= lr * d;
  }
}

template void sgd_update<float>(float*, const float*, float*, std::int64_t, const ops::SgdParams&, bool);
template void sgd_update<double>(double*, const double*, double*, std::int64_t, const ops::SgdParams&, bool);

}  // namespace minidl::cpu
