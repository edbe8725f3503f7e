// The CPU reference of AvgPool2d: exercise 2, part 1 (README.md). Write the two loops
// nests of avg_pool2d.h's formulas; kernels/cpu/max_pool2d.cpp is the model.
#include "avg_pool2d.h"
#include "exercise.h"

namespace minidl::exercises::cpu {

// input (N, C, H, W) -> output (N, C, OH, OW), overwritten.
template <typename T>
void avg_pool2d_forward(const T*, T*, const PoolShape&) {
  not_implemented("avg_pool2d_forward (CPU reference)", "2-avg-pool2d");
}

// grad_output (N, C, OH, OW) -> grad_input (N, C, H, W), overwritten.
template <typename T>
void avg_pool2d_backward(const T*, T*, const PoolShape&) {
  not_implemented("avg_pool2d_backward (CPU reference)", "2-avg-pool2d");
}

template void avg_pool2d_forward<float>(const float*, float*, const PoolShape&);
template void avg_pool2d_forward<double>(const double*, double*, const PoolShape&);
template void avg_pool2d_backward<float>(const float*, float*, const PoolShape&);
template void avg_pool2d_backward<double>(const double*, double*, const PoolShape&);

}  // namespace minidl::exercises::cpu
