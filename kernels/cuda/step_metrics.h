// step_metrics on the GPU: the kernel behind ops::accumulate_step_metrics
// (kernels/step_metrics.h), on single values in device memory.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"

namespace minidl::cuda {

// *total_loss += double(*loss); *correct += *num_correct. One thread, queued on stream.
void accumulate_step_metrics(const float* loss, const std::int32_t* num_correct, double* total_loss,
                             std::int64_t* correct, cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
