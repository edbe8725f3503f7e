// conv2d through cuDNN: the `cudnn` implementation of ops::conv2d_* on CUDA
// (kernels/implementation.h), an alternative to minidl's hand-written kernels and an
// oracle for them in GPU tests. Only in real CUDA builds with cuDNN (MINIDL_WITH_CUDNN).
//
// Same contract, shapes and argument order as the CPU reference (kernels/cpu/conv2d.h),
// on f32 arrays in device memory: output and grad_input are overwritten, grad_weight
// and grad_bias accumulated (+=); bias, grad_input and grad_bias may be nullptr.
//
//   forward          cudnnConvolutionForward, then cudnnAddTensor for the bias
//   grad_input       cudnnConvolutionBackwardData (beta = 0: overwritten)
//   grad_weight      cudnnConvolutionBackwardFilter (beta = 1: accumulated)
//   grad_bias        cudnnConvolutionBackwardBias (beta = 1: accumulated)
//
// True fp32: the convolution's math type is CUDNN_FMA_MATH, so no TF32 tensor-core
// algorithm is chosen (CUDNN_DEFAULT_MATH would allow TF32 on A100 and later).
// The algorithm of each direction is the fastest that cudnnFind* measures for that
// shape, among those that succeed in fp32 with at most 256 MiB of workspace; in
// deterministic mode (ops::set_deterministic) it is cuDNN's heuristic first choice
// among those that are also deterministic. It is found on the first call with a shape
// (which takes milliseconds) and cached for the process, per mode. Workspace comes
// from the caching allocator, stream-ordered.
#pragma once

#include <string>

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/cpu/conv2d.h"

namespace minidl::cudnn {

void conv2d_forward(const float* input, const float* weight, const float* bias, float* output,
                    const cpu::Conv2dShape& shape, cudaStream_t stream = cuda::current_stream());

void conv2d_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                     float* grad_weight, float* grad_bias, const cpu::Conv2dShape& shape,
                     cudaStream_t stream = cuda::current_stream());

// The algorithms chosen so far for a shape in the current mode, for logs and benchmarks:
// each direction's winner with cudnnFind*'s time, and the fastest matrix-product algorithm
// when the winner is not one, e.g. "forward WINOGRAD (0.0120 ms; best GEMM-based
// IMPLICIT_PRECOMP_GEMM 0.0200 ms), backward data ALGO_1 (0.0150 ms), backward filter
// ALGO_1 (0.0300 ms)" ("not chosen yet" for a direction not run yet; no times in
// deterministic mode, which does not measure).
std::string conv2d_algorithms(const cpu::Conv2dShape& shape);

// cudnnFind*'s measured milliseconds for a shape, summed over the directions found so far
// (none in deterministic mode): its fastest algorithm's, and its fastest matrix-product
// algorithm's (IMPLICIT_GEMM, IMPLICIT_PRECOMP_GEMM or GEMM forward, ALGO_0 or ALGO_1 backward
// data, ALGO_0, ALGO_1 or ALGO_3 backward filter). Zero when nothing was measured.
struct FindTimes {
  double fastest_ms = 0.0;
  double gemm_based_ms = 0.0;
};
FindTimes conv2d_find_times(const cpu::Conv2dShape& shape);

}  // namespace minidl::cudnn
