/// \file
/// The fused ReLU: one interface, used by every op that can apply a following ReLU
/// itself and so spare a pass over memory.
///
/// In the study's network a ReLU follows every conv2d (or its batch norm) and fc1, and a
/// max-pool follows three of the ReLUs. Unfused, each ReLU reads and writes a whole
/// activation forward, and its backward reads two and writes one. Fused:
///   forward   conv2d, linear and batch_norm2d take Activation::relu and write
///             max(y, 0) in place of y, in the same pass that computes y (the GEMM's
///             epilogue, the normalisation's store);
///   backward  max_pool2d's backward takes `after_relu`: its input was a ReLU's output,
///             so the ReLU's gradient mask (output > 0, or NaN) is applied to the pooled
///             gradient as it is routed, and the ReLU's own backward is skipped.
/// An implementation says whether it fuses (ImplementationInfo::fuses_relu); the layer
/// graph (layers/sequential.h) fuses a ReLU only where the implementation that runs
/// does, and the unfused path stays, tested equal to the fused one bit for bit (a ReLU
/// is exact).
///
/// No dependencies: CUDA sources include this header too.
#pragma once

namespace minidl::ops {

/// What an op applies to its result before storing it.
enum class Activation {
  none,  ///< the op's result as it is
  relu,  ///< max(result, 0), NaN kept, as torch.relu
};

}  // namespace minidl::ops
