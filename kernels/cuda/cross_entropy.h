// cross_entropy on the GPU: the CUDA kernel behind ops::cross_entropy_forward_backward
// (kernels/cross_entropy.h), with the CPU reference's formulas (kernels/cpu/cross_entropy.h).
// Loss, gradient and count are all written in device memory by one kernel, so a
// training step reads none of them back: the caller decides when to synchronise.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"

namespace minidl::cuda {

// logits (N, K), labels (N) -> loss (1), grad_logits (N, K) or nullptr (skipped),
// num_correct (1), all in device memory. The labels are not checked (that would need
// a host synchronisation): a row whose label is outside [0, K) makes the loss NaN.
void cross_entropy_forward_backward(const float* logits, const std::int32_t* labels, float* loss,
                                    float* grad_logits, std::int32_t* num_correct, std::int64_t N, std::int64_t K,
                                    cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
