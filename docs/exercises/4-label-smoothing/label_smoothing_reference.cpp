// The CPU reference of cross-entropy with label smoothing: exercise 4, part 1
// (README.md). kernels/cpu/cross_entropy.cpp, the loss without smoothing, is the model.
#include "exercise.h"
#include "label_smoothing.h"

namespace minidl::exercises::cpu {

template <typename T>
void cross_entropy_label_smoothing(const T*, const std::int32_t*, T*, T*, std::int64_t, std::int64_t, T) {
  not_implemented("cross_entropy_label_smoothing (CPU reference)", "4-label-smoothing");
}

template void cross_entropy_label_smoothing<float>(const float*, const std::int32_t*, float*, float*, std::int64_t,
                                                   std::int64_t, float);
template void cross_entropy_label_smoothing<double>(const double*, const std::int32_t*, double*, double*,
                                                    std::int64_t, std::int64_t, double);

}  // namespace minidl::exercises::cpu
