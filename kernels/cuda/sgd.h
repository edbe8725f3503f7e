// sgd on the GPU: one launch updates every parameter of an optimizer, by
// torch.optim.SGD's rule (formulas in kernels/sgd.h, reference in kernels/cpu/sgd.h),
// in float arithmetic as the CPU reference does for f32 parameters.
#pragma once

#include <cstdint>
#include <vector>

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/cuda/device_table.h"

namespace minidl::cuda {

// One parameter, in device memory: numel values, their gradient, and the momentum
// buffer (not touched, and may be nullptr, when momentum is 0).
struct SgdTensor {
  float* param;
  const float* grad;
  float* momentum_buffer;
  std::int64_t numel;

  bool operator==(const SgdTensor&) const = default;
};

// The fields of ops::SgdParams (kernels/sgd.h), in float; the kernels read them from
// device memory.
struct SgdHyperparameters {
  float lr = 0.01f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
  bool operator==(const SgdHyperparameters&) const = default;
};

// One step of every parameter in table (a table in device memory of the parameters of one
// optimizer, kernels/cuda/device_table.h), in one launch queued on stream; max_numel is
// the largest parameter's numel, which sizes the grid.
// skip_update (device memory, may be nullptr): when it holds a non-zero value at run
// time, the step changes no parameter (a divergence guard's verdict, read on the
// device with no host synchronisation); a skipped first momentum step sets the new
// buffers to 0.
void sgd_update(const DeviceTable<SgdTensor>& table, std::int64_t max_numel, const SgdHyperparameters* hyperparameters,
                bool first_step, const std::int64_t* skip_update, cudaStream_t stream = current_stream());

// One step of one parameter, in one launch queued on stream (the tensor travels in
// the launch's arguments: no table in device memory). hyperparameters: in device memory.
void sgd_update(const SgdTensor& tensor, const SgdHyperparameters* hyperparameters, bool first_step,
                const std::int64_t* skip_update, cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
