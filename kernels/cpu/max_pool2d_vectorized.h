// max_pool2d forward on the CPU fast path, f32: the same contract and the same bits
// as the reference (kernels/cpu/max_pool2d.h), which it is tested against. The
// caller spreads ranges of images over the threads, as for the reference.
//
// The study's 2 x 2 window with stride 2 is computed four windows at a time, in
// vector registers and without branches: the even and odd columns of two input rows
// are split into four vectors, and each of a window's four comparisons picks the
// maximum and its index with a vector compare and select. The reference's
// data-dependent branch instead goes either way on random data. Other windows run
// the reference. The backward (zero, then scatter) has no branch to
// remove and stays the reference.
#pragma once

#include <cstdint>

#include "minidl/kernels/cpu/max_pool2d.h"

namespace minidl::cpu {

void max_pool2d_forward_vectorized(const float* input, float* output, std::int32_t* indices,
                                   const MaxPool2dShape& shape);

}  // namespace minidl::cpu
