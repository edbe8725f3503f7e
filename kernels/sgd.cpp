// sgd at the Tensor level: validation, then the registered implementation that serves
// the tensors (kernels/registry.h).
#include "minidl/kernels/sgd.h"

#include <cmath>

#include "minidl/kernels/dispatch.h"
#include "minidl/kernels/registry.h"

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

void sgd_update(std::span<const SgdParameterTensors> parameters, const SgdParams& params, bool first_step,
                const Tensor& skip_update, Workspace* workspace) {
  const char* op = "sgd";
  check_sgd_params(params);
  if (parameters.empty()) fail("{}: no parameters to update", op);
  const bool uses_momentum = params.momentum != 0.0;
  const Tensor& first = *parameters[0].param;
  Device device = common_float_device(op, {{"param", &first}});
  for (const SgdParameterTensors& parameter : parameters) {
    common_float_device(op, {{"param", &first}, {"param", parameter.param}, {"grad", parameter.grad},
                             {"momentum_buffer", parameter.momentum_buffer}});
    check_shape(*parameter.grad, parameter.param->shape(), op, "grad");
    if (uses_momentum) check_shape(*parameter.momentum_buffer, parameter.param->shape(), op, "momentum_buffer");
  }
  if (skip_update.defined()) check_skip_update(skip_update, device);
  Workspace scratch;
  registries().sgd.select(device.type, first.dtype(), {&first}).functions.update(
      {parameters, params, first_step, skip_update, workspace ? *workspace : scratch});
}

void sgd_prepare(std::span<const SgdParameterTensors> parameters, const SgdParams& params, Workspace* workspace) {
  check_sgd_params(params);
  if (parameters.empty()) return;
  const Tensor& first = *parameters[0].param;
  Workspace scratch;
  registries().sgd.select(first.device().type, first.dtype(), {&first}).functions.prepare(
      {parameters, params, false, Tensor(), workspace ? *workspace : scratch});
}

void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdParams& params,
                bool first_step, const Tensor& skip_update) {
  const SgdParameterTensors parameter{&param, &grad, &momentum_buffer};
  sgd_update(std::span(&parameter, 1), params, first_step, skip_update);
}

}  // namespace minidl::ops
