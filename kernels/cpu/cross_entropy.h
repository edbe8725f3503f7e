// CPU reference of cross_entropy: plain loops over raw pointers, T = float or double.
// The op's contract is kernels/cross_entropy.h; the Tensor-level function there
// validates every argument, labels included, before calling this.
#pragma once

#include <cstdint>

namespace minidl::cpu {

// logits (N, K), labels (N) in [0, K) -> loss (1), grad_logits (N, K) or nullptr (skipped),
// num_correct (1).
template <typename T>
void cross_entropy_forward_backward(const T* logits, const std::int32_t* labels, T* loss, T* grad_logits,
                                    std::int32_t* num_correct, std::int64_t N, std::int64_t K);

}  // namespace minidl::cpu
