// CPU reference of sgd: one loop over the elements of a parameter, T = float or double.
// The op's contract is kernels/sgd.h; the Tensor-level function there validates
// every argument before calling this.
#pragma once

#include <cstdint>

#include "minidl/kernels/sgd.h"

namespace minidl::cpu {

// param, grad and momentum_buffer hold numel elements; momentum_buffer is not
// touched when params.momentum == 0 (it may then be nullptr).
template <typename T>
void sgd_update(T* param, const T* grad, T* momentum_buffer, std::int64_t numel, const ops::SgdParams& params,
                bool first_step);

}  // namespace minidl::cpu
