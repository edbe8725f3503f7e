/// \file
/// Every op of minidl at the Tensor level. Each op validates its tensors (shape,
/// dtype, device) and dispatches to an implementation: the CPU reference
/// (kernels/cpu/), or the CUDA kernels (kernels/cuda/) for CUDA tensors.
#pragma once

#include "minidl/kernels/batch_norm2d.h"
#include "minidl/kernels/conv2d.h"
#include "minidl/kernels/cross_entropy.h"
#include "minidl/kernels/linear.h"
#include "minidl/kernels/max_pool2d.h"
#include "minidl/kernels/relu.h"
#include "minidl/kernels/sgd.h"
