// divergence_check: one block of kThreads threads reads the loss and every gradient.
//
// Thread t looks at elements t, t + kThreads, ... of each array in turn and counts
// the ones that are not finite (x - x is NaN exactly when x is NaN or Inf). The
// block adds the counts (block_sum: shared memory, two barriers, one fixed order),
// and thread 0 alone updates the state, the step number included: it lives in device
// memory, so that a CUDA graph of the training step counts its replays. About 50,000 values per step for the
// study's network: one block is enough, and one block needs no atomics and no
// second launch to combine blocks.
#include "minidl/kernels/cuda/divergence_check.h"

#include "minidl/core/cuda_runtime.h"
#include "minidl/kernels/cuda/block_reduce.cuh"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::cuda {

namespace {

constexpr unsigned kThreads = 256;

__device__ bool is_not_finite(float x) { return !(x - x == 0.0f); }

__global__ void divergence_check_kernel(const float* loss, const FloatSpan* gradients, unsigned num_gradients,
                                        bool skip_from_first_bad_step, DivergenceState state) {
  unsigned not_finite = threadIdx.x == 0 && is_not_finite(loss[0]) ? 1u : 0u;
  for (unsigned g = 0; g < num_gradients; ++g) {
    const FloatSpan gradient = gradients[g];
    for (std::int64_t i = threadIdx.x; i < gradient.numel; i += blockDim.x)
      not_finite += is_not_finite(gradient.data[i]) ? 1u : 0u;
  }
  const bool bad = block_sum(not_finite) != 0;
  if (threadIdx.x != 0) return;
  if (bad) {
    *state.bad_steps += 1;
    if (*state.first_bad_step == -1) *state.first_bad_step = *state.step;
  }
  *state.step += 1;
  *state.skip_update = skip_from_first_bad_step ? (*state.first_bad_step != -1) : bad;
}

}  // namespace

void divergence_check(const float* loss, const FloatSpanTable& gradients, std::int64_t values,
                      bool skip_from_first_bad_step, const DivergenceState& state, cudaStream_t stream) {
  launch(divergence_check_kernel, {1, kThreads, 0, stream, elements(values)}, loss, gradients.device_table(),
         gradients.size(), skip_from_first_bad_step, state);
}

}  // namespace minidl::cuda
