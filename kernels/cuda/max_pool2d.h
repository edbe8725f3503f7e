// max_pool2d on the GPU: the CUDA kernels behind ops::max_pool2d_forward/backward
// (kernels/max_pool2d.h), on float arrays in device memory, with the CPU reference's
// rules (kernels/cpu/max_pool2d.h): the first maximum in row-major window order wins
// a tie, a NaN wins over any number, indices are h * W + w within the (H, W) plane.
// Each call queues one kernel on stream. Two rungs (see max_pool2d.cu): `gather` and
// `windows`; the forward is the same.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/cpu/max_pool2d.h"

namespace minidl::cuda {

// input (N, C, H, W) -> output (N, C, OH, OW) and indices (N, C, OH, OW), overwritten.
void max_pool2d_forward(const float* input, float* output, std::int32_t* indices, const cpu::MaxPool2dShape& shape,
                        cudaStream_t stream = current_stream());

// grad_output and indices (N, C, OH, OW) -> grad_input (N, C, H, W), overwritten.
// An index outside the (H, W) plane routes its gradient nowhere (the CPU reference
// throws; checking here would need a host synchronisation). relu_output: nullptr, or the
// forward's output when the pooled input was a ReLU's output, whose backward is then
// fused: a window whose output is <= 0 routes 0.
// Rung 1: a thread per input element gathers from the windows that contain it.
void max_pool2d_backward_gather(const float* grad_output, const std::int32_t* indices, const float* relu_output,
                                float* grad_input, const cpu::MaxPool2dShape& shape,
                                cudaStream_t stream = current_stream());
// Rung 2: a thread per window when the windows tile the input, else rung 1.
void max_pool2d_backward_windows(const float* grad_output, const std::int32_t* indices, const float* relu_output,
                                 float* grad_input, const cpu::MaxPool2dShape& shape,
                                 cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
