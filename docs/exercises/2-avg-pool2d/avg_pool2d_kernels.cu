// The AvgPool2d kernels: exercise 2, part 2 (README.md). Write a forward kernel and a
// backward kernel, one thread per element of the array each writes, and launch them
// here; kernels/cuda/max_pool2d.cu is the model (its gather kernel for the backward).
#include "avg_pool2d_cuda.h"
#include "exercise.h"
#include "minidl/kernels/cuda/kernel_support.cuh"

namespace minidl::exercises::cuda {

void avg_pool2d_forward(const float*, float*, const minidl::cpu::MaxPool2dShape&, cudaStream_t) {
  not_implemented("avg_pool2d_forward (CUDA)", "2-avg-pool2d");
}

void avg_pool2d_backward(const float*, float*, const minidl::cpu::MaxPool2dShape&, cudaStream_t) {
  not_implemented("avg_pool2d_backward (CUDA)", "2-avg-pool2d");
}

}  // namespace minidl::exercises::cuda
