// divergence_check on the GPU: one launch looks at a step's loss and every gradient
// for a NaN or an Inf and updates the divergence guard's state on the device, so
// the host learns of it only when it chooses to read (optim/divergence_guard.h).
#pragma once

#include <cstdint>
#include <vector>

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/cuda/device_table.h"

namespace minidl::cuda {

// One f32 array in device memory.
struct FloatSpan {
  const float* data;
  std::int64_t numel;

  bool operator==(const FloatSpan&) const = default;
};

// The gradients a guard checks, as a table in device memory that the kernel reads.
using FloatSpanTable = DeviceTable<FloatSpan>;

// The guard's state in device memory (i64 each).
struct DivergenceState {
  std::int64_t* first_bad_step;  // -1 until a step had a NaN or an Inf
  std::int64_t* bad_steps;       // how many steps had one
  std::int64_t* step;            // the step this check is of; the check adds 1
  std::int64_t* skip_update;     // 1: the optimizer step that follows must change nothing
};

// With bad = (loss[0] or a value of a table's array is NaN or Inf):
//   if bad: bad_steps += 1; first_bad_step = step if it was -1
//   step += 1
//   skip_update = skip_from_first_bad_step ? (first_bad_step != -1) : bad
// One launch of one block, queued on stream; values is the gradients' total element count.
void divergence_check(const float* loss, const FloatSpanTable& gradients, std::int64_t values,
                      bool skip_from_first_bad_step, const DivergenceState& state,
                      cudaStream_t stream = current_stream());

}  // namespace minidl::cuda
