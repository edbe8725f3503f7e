// A study run's checkpoint: everything its training needs to go on exactly where it
// stopped, so that a run resumed with `study --resume` ends with the weights an
// uninterrupted run has, bit for bit (on the same device and thread count).
//
// What it holds, and why each is needed:
//   model         the state_dict (weights, BatchNorm running statistics)
//   optimizer     SGD's lr, step count and momentum buffers (optim/sgd.h SgdState)
//   scheduler     ExponentialLR's counter and lrs (lr_decay only)
//   data order    the loader's epoch and batches served: the order of an epoch is a
//                 function of (seed, epoch) alone (data/data_loader.h), so this is
//                 the whole random state; the weights' generator is not used again
//   divergence    what the divergence guard has seen
//   metrics       the finished epochs' results and the current epoch's sums so far,
//                 so the study's lines and reports come out as without the stop
//   identity      the run's name, seed, batch size, lr and training set size, which
//                 must match the run that resumes it
//
// The file is a safetensors file (core/safetensors.h), written atomically: tensors
// "model.<name>" and "optimizer.momentum_buffer.<parameter name>"; everything else
// in its metadata, doubles as hexadecimal floats ("0x1.999999999999ap-4") so that
// they come back with the same bits.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "minidl/core/tensor.h"
#include "minidl/data/data_loader.h"
#include "minidl/optim/divergence_guard.h"
#include "minidl/optim/scheduler.h"
#include "study.h"

namespace minidl::study {

struct Checkpoint {
  // The run it belongs to.
  std::string run;
  std::uint64_t seed = 0;
  std::int64_t batch_size = 0;
  double lr = 0.0;  // the run's lr (the optimizer's current lr is in optimizer.lr)
  std::int64_t train_images = 0;

  // Where training stands.
  data::DataLoaderState loader;      // loader.epoch: the epoch in progress, or the next one at an epoch end
  PassResult epoch_so_far;           // the training sums of the epoch in progress
  std::vector<EpochResult> history;  // the finished epochs
  std::map<std::string, Tensor> model;
  optim::SgdState optimizer;                            // without the buffers, which are here:
  std::map<std::string, Tensor> momentum_buffers;       // by parameter name, where one exists
  std::optional<optim::LRSchedulerState> scheduler;
  optim::DivergenceReport divergence;
};

// Writes the checkpoint atomically: a crash or a kill while writing leaves the
// previous file as it was. Throws Error when it cannot be written.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Reads a checkpoint. Throws Error naming the file and the problem when it is not a
// readable safetensors file or not a study checkpoint (a missing or unparsable
// metadata entry).
Checkpoint load_checkpoint(const std::string& path);

// Throws Error, naming the checkpoint and the field, unless the checkpoint is one this
// run can go on from, as a whole: made by a run with this spec, seed and training set
// size and not past `epochs`; every counter in range and consistent with the others
// (the history's length with the epoch, the optimizer's steps with the batches served,
// the scheduler with the run); no momentum buffer (plain SGD); and a model with
// exactly the tensors of model_state (the run's network), each of its shape and dtype,
// finite, running variances not negative (nn::check_state). Nothing is restored
// before this passes.
void check_checkpoint(const Checkpoint& checkpoint, const std::string& path, const RunSpec& spec,
                      std::uint64_t seed, std::int64_t train_images, int epochs,
                      const std::map<std::string, Tensor>& model_state);

}  // namespace minidl::study
