#include "minidl/kernels/cpu/relu.h"

namespace minidl::cpu {

// Forward: output[i] = max(input[i], 0).
// Written as "input < 0 ? 0 : input" so that a NaN passes through, as in PyTorch.
// Element i is read before it is written, so output may be input.
template <typename T>
void relu_forward(const T* input, T* output, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    output[i] = input[i] < T(0) ? T(0) : input[i];  // doc:relu-forward
  }
}

// Backward: d output / d input is 1 where the input was positive and 0 elsewhere
// (at 0 too, as in PyTorch). output > 0 exactly where input > 0, so the forward's
// output is all backward needs, and the input can have been overwritten in place.
// As PyTorch's threshold_backward, the test is written "output <= 0", so that a NaN
// output (from a NaN input) passes its gradient on:
//   grad_input[i] = output[i] <= 0 ? 0 : grad_output[i]
// Element i is read before it is written, so grad_input may be grad_output.
// grad_output[i] is loaded whether it is used or not: the compiler may then turn the
// choice into a vector select, where a load on one side only keeps it a branch.
template <typename T>
void relu_backward(const T* grad_output, const T* output, T* grad_input, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    const T dy = grad_output[i];
    grad_input[i] = output[i] <= T(0) ? T(0) : dy;  // doc:relu-grad-input
  }
}

template void relu_forward<float>(const float*, float*, std::int64_t);
template void relu_forward<double>(const double*, double*, std::int64_t);
template void relu_backward<float>(const float*, const float*, float*, std::int64_t);
template void relu_backward<double>(const double*, const double*, double*, std::int64_t);

}  // namespace minidl::cpu
