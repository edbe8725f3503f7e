/// \file
/// DataLoader: a CIFAR-10 split served in batches of normalized float images, as
/// torch.utils.data.DataLoader(dataset, batch_size, shuffle, drop_last) with the
/// study's transforms.
///
///   DataLoader loader(load_cifar10(dir, Split::train), {.batch_size = 10, .shuffle = true, .seed = 1});
///   for (int epoch = 0; epoch < epochs; ++epoch)
///     for (const Batch& batch : loader) train_step(batch.images, batch.labels);
///
/// A range-for serves the rest of the current epoch, then moves the loader to the
/// next epoch (new order when shuffling), so the loop above runs epochs 0, 1, ...
///
/// Where the work happens: each batch is gathered and normalized by one call of
/// ops::gather_normalize (kernels/gather_normalize.h) on the loader's device. On CUDA the
/// whole uint8 split (150 MB for the training set) is uploaded once, and a batch costs
/// one kernel and no host synchronisation; with random augmentation, the augmented uint8
/// batch is made on the host and uploaded (one synchronous copy per batch), then
/// normalized on the GPU.
///
/// Random numbers all come from the Philox stream of `seed`, in disjoint windows:
///   blocks [e * 2^32, (e + 1) * 2^32)   the shuffle of epoch e (Fisher-Yates, about N blocks)
///   blocks from 2^63 on                 augmentation, drawn sample by sample as served
/// so an epoch's order depends on (seed, epoch) alone, and state() plus load_state()
/// restore a loader mid-epoch exactly.
#pragma once

#include <cstdint>
#include <iterator>
#include <vector>

#include "minidl/core/rng.h"
#include "minidl/core/tensor.h"
#include "minidl/data/cifar10.h"
#include "minidl/data/transforms.h"

namespace minidl::data {

/// Views into tensors the loader owns: valid until the loader serves the next batch. On
/// CUDA every full batch lives at the same addresses, so a captured training step
/// (cuda::Graph) reads each new batch.
struct Batch {
  Tensor images;  ///< (B, 3, 32, 32) f32
  Tensor labels;  ///< (B) i32
};

/// How a DataLoader batches, orders, normalizes and augments, and on which device.
struct DataLoaderOptions {
  std::int64_t batch_size = 1;              ///< 1..dataset size
  bool shuffle = false;                     ///< a new order every epoch
  bool drop_last = false;                   ///< false: a last, smaller batch serves the remaining samples
  std::uint64_t seed = 0;                   ///< of the shuffle and the augmentation
  Normalize normalize = kCifar10Normalize;  ///< kNoNormalize for the study's "no preprocessing" run
  Augmentation augmentation = {};           ///< none by default
  Device device = Device::cpu();            ///< where batches are made and live
};

/// Where a loader stands: saved with a checkpoint, restored with load_state().
struct DataLoaderState {
  std::int64_t epoch = 0;                 ///< the current epoch
  std::int64_t batches_served = 0;        ///< of the epoch
  std::uint64_t augmentation_offset = 0;  ///< the augmentation generator's next block
};

/// Batches of one CIFAR-10 split, epoch after epoch; see the top of this file.
class DataLoader {
 public:
  /// Throws Error unless 1 <= batch_size <= dataset.size() and crop_padding >= 0.
  /// Starts at epoch 0.
  DataLoader(Cifar10 dataset, const DataLoaderOptions& options);

  /// The options it was made with.
  const DataLoaderOptions& options() const { return options_; }
  /// The number of samples in the split.
  std::int64_t dataset_size() const { return dataset_.size(); }
  /// Batches per epoch: ceil(size / batch_size), or floor with drop_last.
  std::int64_t num_batches() const { return num_batches_; }

  /// The current epoch, from 0.
  std::int64_t epoch() const { return epoch_; }
  /// Moves to the start of epoch (0 <= epoch < 2^31) and computes its order.
  void set_epoch(std::int64_t epoch);
  /// The current epoch's order: its i-th sample is dataset index permutation()[i]
  /// (the identity without shuffle).
  const std::vector<std::int64_t>& permutation() const { return permutation_; }

  /// Where it stands now, for load_state().
  DataLoaderState state() const;
  /// Throws Error unless 0 <= batches_served <= num_batches().
  void load_state(const DataLoaderState& state);

  /// Range-for over the rest of the current epoch; see the top of this file.
  class Iterator {
   public:
    /// An iterator over loader's batches; begin() makes it after serving the first.
    explicit Iterator(DataLoader& loader) : loader_(&loader) {}
    /// The batch served last.
    const Batch& operator*() const { return loader_->batch_; }
    /// Serves the next batch.
    Iterator& operator++() {
      loader_->serve_next_batch();
      return *this;
    }
    /// True once the epoch's last batch has been passed.
    bool operator==(std::default_sentinel_t) const { return loader_->epoch_finished_; }

   private:
    DataLoader* loader_;
  };
  /// Serves the next batch of the epoch. When the epoch was already complete, moves to
  /// the next epoch and serves nothing.
  Iterator begin();
  /// The end of the epoch.
  std::default_sentinel_t end() const { return {}; }

 private:
  // Gathers batch number batches_served_ into batch_, or, after the epoch's last
  // batch, moves to the next epoch and marks the iteration finished.
  void serve_next_batch();
  // Fills batch_images_ rows [0, count) with the samples at positions [first, first + count) of the epoch.
  void gather(std::int64_t first, std::int64_t count);
  // Writes those samples, augmented, to augmented_images_ rows [0, count).
  void augment_batch(std::int64_t first, std::int64_t count);
  bool augments() const;

  Cifar10 dataset_;  // host
  DataLoaderOptions options_;
  std::int64_t num_batches_;

  std::int64_t epoch_ = 0;
  std::int64_t batches_served_ = 0;
  bool epoch_finished_ = false;
  std::vector<std::int64_t> permutation_;
  Generator augmentation_generator_;

  Tensor epoch_labels_host_;  // (N) i32: the labels in the epoch's order
  Tensor epoch_labels_;       // (N) i32 on the device: epoch_labels_host_ itself on the CPU
  Tensor batch_images_;       // (batch_size, 3, 32, 32) f32 on the device
  Tensor batch_labels_;       // (batch_size) i32, CUDA only: the batch's labels, always at one address
  Batch batch_;               // views of batch_images_ and epoch_labels_
  std::vector<std::uint8_t> augmented_images_;  // (batch_size, 3, 32, 32) u8 host scratch

  // On the loader's device.
  Tensor images_;                  // (N, 3, 32, 32) u8: the split (without augmentation)
  Tensor epoch_permutation_;       // (N) i64: permutation_
  Tensor batch_augmented_images_;  // (batch_size, 3, 32, 32) u8: augmented_images_ (with augmentation)
  Tensor batch_indices_;           // (batch_size) i64: 0, 1, ... (with augmentation)
  Tensor mean_, stddev_;           // (3) f32
};

}  // namespace minidl::data
