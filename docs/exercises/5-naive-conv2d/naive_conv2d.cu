// The naive convolution kernel: exercise 5, part 1 (README.md). Write the kernel of
// naive_conv2d.h (one thread per output element) and launch it here;
// kernels/cpu/conv2d.cpp's forward is the formula, docs/tutorial/leaky_relu.cu a launch.
#include "exercise.h"
#include "minidl/kernels/cuda/kernel_support.cuh"
#include "naive_conv2d.h"

namespace minidl::exercises::cuda {

void naive_conv2d_forward(const float*, const float*, const float*, float*, const minidl::cpu::Conv2dShape&,
                          cudaStream_t) {
  not_implemented("naive_conv2d_forward", "5-naive-conv2d");
}

}  // namespace minidl::exercises::cuda
