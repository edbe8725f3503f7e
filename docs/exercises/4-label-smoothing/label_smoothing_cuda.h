// Cross-entropy with label smoothing on the GPU (label_smoothing_kernels.cu), on device
// memory, with the formulas of label_smoothing.h. One launch on stream. Only sources of
// the CUDA flavours include it.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"

namespace minidl::exercises::cuda {

// logits (N, K), labels (N) in [0, K) -> loss (1) and grad_logits (N, K), overwritten.
void cross_entropy_label_smoothing(const float* logits, const std::int32_t* labels, float* loss, float* grad_logits,
                                   int N, int K, float label_smoothing,
                                   cudaStream_t stream = minidl::cuda::current_stream());

}  // namespace minidl::exercises::cuda
