// Registering the naive convolution: exercise 5, part 2 (README.md). Add "naive" to the
// registry's conv2d list (kernels/registry.h) with adapters that call
// cuda::naive_conv2d_forward for the forward and the library's tiled kernels
// (kernels/cuda/conv2d.h) for the backward; kernels/cuda/registrations.cpp registers the
// library's own.
#include "naive_conv2d.h"

namespace minidl::exercises {

void register_naive_conv2d() {}

}  // namespace minidl::exercises
