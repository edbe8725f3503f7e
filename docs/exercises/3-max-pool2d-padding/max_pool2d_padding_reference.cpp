// MaxPool2d with padding: exercise 3 (README.md). Write the output's sizes with their
// checks, and the forward: kernels/max_pool2d.cpp (max_pool2d_output_shape) and
// kernels/cpu/max_pool2d.cpp are the versions without padding to start from.
#include "exercise.h"
#include "max_pool2d_padding.h"

namespace minidl::exercises {

PaddedMaxPool2dShape padded_max_pool2d_shape(const Shape&, PaddedMaxPool2dParams) {
  not_implemented("padded_max_pool2d_shape", "3-max-pool2d-padding");
}

namespace cpu {

template <typename T>
void padded_max_pool2d_forward(const T*, T*, std::int32_t*, const PaddedMaxPool2dShape&) {
  not_implemented("padded_max_pool2d_forward", "3-max-pool2d-padding");
}

template void padded_max_pool2d_forward<float>(const float*, float*, std::int32_t*, const PaddedMaxPool2dShape&);
template void padded_max_pool2d_forward<double>(const double*, double*, std::int32_t*, const PaddedMaxPool2dShape&);

}  // namespace cpu

}  // namespace minidl::exercises
