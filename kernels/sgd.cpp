// sgd at the Tensor level: validation, then the CPU reference or CUDA.
#include "minidl/kernels/sgd.h"

#include <cmath>

#include "minidl/kernels/cpu/sgd.h"
#include "minidl/kernels/dispatch.h"
#if defined(MINIDL_WITH_CUDA)
#include "minidl/kernels/cuda/sgd.h"
#endif

namespace minidl::ops {

void check_sgd_params(const SgdParams& params) {
  const char* op = "sgd";
  // torch.optim.SGD's checks. Each is written so that NaN fails it.
  if (!(std::isfinite(params.lr) && params.lr >= 0.0)) fail("{}: lr must be finite and >= 0, got {}", op, params.lr);
  if (!(params.momentum >= 0.0)) fail("{}: momentum must be >= 0, got {}", op, params.momentum);
  if (!(params.weight_decay >= 0.0)) fail("{}: weight_decay must be >= 0, got {}", op, params.weight_decay);
  if (params.nesterov && !(params.momentum > 0.0 && params.dampening == 0.0))
    fail("{}: nesterov requires momentum > 0 and dampening == 0, got momentum {} and dampening {}", op,
         params.momentum, params.dampening);
}

void check_skip_update(const Tensor& skip_update, Device device) {
  check_device(skip_update, device, "sgd", "skip_update");
  check_dtype(skip_update, DType::i64, "sgd", "skip_update");
  if (skip_update.numel() != 1) fail("sgd: skip_update must have one element, got shape {}", skip_update.shape().str());
}

void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdParams& params,
                bool first_step, const Tensor& skip_update) {
  const char* op = "sgd";
  check_sgd_params(params);

  Device device = common_float_device(op, {{"param", &param}, {"grad", &grad},
                                           {"momentum_buffer", &momentum_buffer}});
  check_shape(grad, param.shape(), op, "grad");
  const bool uses_momentum = params.momentum != 0.0;
  if (uses_momentum) check_shape(momentum_buffer, param.shape(), op, "momentum_buffer");
  if (skip_update.defined()) check_skip_update(skip_update, device);

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(param, DType::f32, "sgd on cuda", "param");
    cuda::SgdTensor tensor{param.data<float>(), grad.data<float>(),
                           uses_momentum ? momentum_buffer.data<float>() : nullptr, param.numel()};
    cuda::SgdHyperparameters hyperparameters{static_cast<float>(params.lr), static_cast<float>(params.momentum),
                                             static_cast<float>(params.dampening),
                                             static_cast<float>(params.weight_decay), params.nesterov};
    cuda::sgd_update(tensor, hyperparameters, first_step,
                     skip_update.defined() ? skip_update.data<std::int64_t>() : nullptr);
    return;
#else
    no_cuda_implementation(op);
#endif
  }
  if (skip_update.defined() && skip_update.data<std::int64_t>()[0] != 0) {
    if (first_step && uses_momentum) momentum_buffer.zero_();
    return;
  }
  // The CPU reference, run in the tensors' dtype T.
  auto run_cpu = [&]<typename T>(T) {
    cpu::sgd_update(param.data<T>(), grad.data<T>(), uses_momentum ? momentum_buffer.data<T>() : nullptr,
                    param.numel(), params, first_step);
  };
  visit_float_dtype(param.dtype(), run_cpu);
}

}  // namespace minidl::ops
