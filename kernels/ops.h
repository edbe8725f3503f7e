/// \file
/// Every op of minidl at the Tensor level. Each op validates its tensors (shape,
/// dtype, device) and dispatches to an implementation: the CPU reference
/// (kernels/cpu/), or the CUDA kernels (kernels/cuda/) for CUDA tensors.
#pragma once

#include "kernels/batch_norm2d.h"
#include "kernels/conv2d.h"
#include "kernels/cross_entropy.h"
#include "kernels/linear.h"
#include "kernels/max_pool2d.h"
#include "kernels/relu.h"
#include "kernels/sgd.h"
