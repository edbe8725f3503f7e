/// \file
/// gather_normalize: a batch of uint8 images picked by index from a data set, as
/// normalized float NCHW, the data loader's last step (data/data_loader.h):
///
///   output[b, c, h, w] = (images[indices[b], c, h, w] / 255 - mean[c]) / stddev[c]
///
/// images (N, C, H, W) u8, indices (B) i64 in [0, N), mean and stddev (C) f32, output
/// (B, C, H, W) f32, all on one device. On CUDA the data set lives in device memory
/// and the gather is one kernel: no copy from the host per batch.
#pragma once

#include "minidl/core/tensor.h"

namespace minidl::ops {

/// Throws Error for mismatched shapes or devices; the CPU implementation also checks
/// every index (the CUDA kernel does not read them on the host).
void gather_normalize(const Tensor& images, const Tensor& indices, const Tensor& mean, const Tensor& stddev,
                      Tensor& output);

/// What an implementation receives: validated tensors.
struct GatherNormalizeArgs {
  ///@{
  /// The call's arguments, validated, named as the Tensor-level function above names them.
  const Tensor& images;
  const Tensor& indices;
  const Tensor& mean;
  const Tensor& stddev;
  Tensor& output;
  ///@}
};

/// The entry point of one gather_normalize implementation (kernels/registry.h).
struct GatherNormalizeFunctions {
  ///@{
  /// The entry points, each called with the validated arguments of one call.
  void (*gather)(const GatherNormalizeArgs& args);
  ///@}
};

}  // namespace minidl::ops
