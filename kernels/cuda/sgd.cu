// The SGD update of all parameters in one launch, or of one parameter, with the CPU
// reference's bits (every product and sum rounded on its own, see below).
//
// Block (x, y) works on parameter y of the table: its thread t handles elements
// x * blockDim.x + t, then every gridDim.x * blockDim.x further (a grid-stride loop),
// so gridDim.y is the number of parameters and gridDim.x is sized for the largest.
// The one-parameter launch is the same with gridDim.y = 1 and the parameter passed
// by value. The hyperparameters are read from device memory, so that a CUDA graph of
// the step reads the learning rate a scheduler set since it was captured. Each element
// is independent: no shared memory, no barriers. Unless *skip_update says to skip the
// step, per element:
//   d = grad + weight_decay * param
//   if momentum != 0:
//     buf = d                                        on the first step
//     buf = momentum * buf + (1 - dampening) * d     afterwards
//     d = nesterov ? d + momentum * buf : buf
//   param -= lr * d
#include "minidl/kernels/cuda/sgd.h"

#include <algorithm>

#include "minidl/core/cuda_runtime.h"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;
constexpr unsigned kMinElementsPerThread = 4;
constexpr unsigned kMaxBlocksPerParameter = 1024;

// The grid-stride loop of the calling thread over the elements of one parameter.
__device__ void sgd_update_elements(const SgdTensor& tensor, const SgdHyperparameters& h, bool first_step,
                                    const std::int64_t* skip_update) {
  std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  if (skip_update != nullptr && *skip_update != 0) {
    if (first_step && h.momentum != 0.0f)
      for (std::int64_t i = global_thread_index(); i < tensor.numel; i += stride) tensor.momentum_buffer[i] = 0.0f;
    return;
  }
  // Each multiply and add rounds on its own (__fmul_rn, __fadd_rn, __fsub_rn), as in the
  // CPU reference: nvcc would otherwise fuse a * b + c into one rounding, and the
  // parameters would drift from the reference's by an ulp here and there.
  const float keep = 1.0f - h.dampening;
  for (std::int64_t i = global_thread_index(); i < tensor.numel; i += stride) {
    // doc:sgd-weight-decay
    float d = __fadd_rn(tensor.grad[i], __fmul_rn(h.weight_decay, tensor.param[i]));
    // doc:sgd-momentum
    if (h.momentum != 0.0f) {
      float& buf = tensor.momentum_buffer[i];
      buf = first_step ? d : __fadd_rn(__fmul_rn(h.momentum, buf), __fmul_rn(keep, d));
      d = h.nesterov ? __fadd_rn(d, __fmul_rn(h.momentum, buf)) : buf;
    }
    // doc:sgd-step
    tensor.param[i] = __fsub_rn(tensor.param[i], __fmul_rn(h.lr, d));
  }
}

__global__ void sgd_update_table_kernel(const SgdTensor* tensors, const SgdHyperparameters* h, bool first_step,
                                        const std::int64_t* skip_update) {
  sgd_update_elements(tensors[blockIdx.y], *h, first_step, skip_update);
}

__global__ void sgd_update_one_kernel(SgdTensor tensor, const SgdHyperparameters* h, bool first_step,
                                      const std::int64_t* skip_update) {
  sgd_update_elements(tensor, *h, first_step, skip_update);
}

// Enough blocks of kThreads threads for numel elements, at least kMinElementsPerThread each.
unsigned blocks_per_parameter(std::int64_t numel) {
  return std::min(blocks_for(numel, kThreads * kMinElementsPerThread), kMaxBlocksPerParameter);
}

}  // namespace

void sgd_update(const DeviceTable<SgdTensor>& table, std::int64_t max_numel, const SgdHyperparameters* hyperparameters,
                bool first_step, const std::int64_t* skip_update, cudaStream_t stream) {
  if (table.size() == 0 || max_numel == 0) return;
  dim3 grid(blocks_per_parameter(max_numel), table.size());
  launch(sgd_update_table_kernel, {grid, kThreads, 0, stream, elements(max_numel * table.size())}, table.device_table(), hyperparameters, first_step,
         skip_update);
}

void sgd_update(const SgdTensor& tensor, const SgdHyperparameters* hyperparameters, bool first_step,
                const std::int64_t* skip_update, cudaStream_t stream) {
  if (tensor.numel == 0) return;
  launch(sgd_update_one_kernel, {blocks_per_parameter(tensor.numel), kThreads, 0, stream, elements(tensor.numel)}, tensor, hyperparameters,
         first_step, skip_update);
}

}  // namespace minidl::cuda
