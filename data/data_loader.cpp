#include "minidl/data/data_loader.h"

#include <algorithm>
#include <numeric>

#include "minidl/core/cuda_runtime.h"
#include "minidl/core/error.h"
#include "minidl/core/memory.h"
#include "minidl/kernels/gather_normalize.h"

namespace minidl::data {

namespace {

constexpr std::uint64_t kShuffleBlocksPerEpoch = std::uint64_t{1} << 32;
constexpr std::uint64_t kAugmentationFirstBlock = std::uint64_t{1} << 63;
constexpr std::int64_t kMaxEpoch = (std::int64_t{1} << 31) - 1;

}  // namespace

DataLoader::DataLoader(Cifar10 dataset, const DataLoaderOptions& options)
    : dataset_(std::move(dataset)), options_(options) {
  const std::int64_t size = dataset_.size();
  const std::int64_t batch_size = options_.batch_size;
  check_shape(dataset_.images, {size, kCifar10Channels, kCifar10Height, kCifar10Width}, "DataLoader", "images");
  check_dtype(dataset_.images, DType::u8, "DataLoader", "images");
  check_shape(dataset_.labels, {size}, "DataLoader", "labels");
  check_dtype(dataset_.labels, DType::i32, "DataLoader", "labels");
  check_device(dataset_.images, Device::cpu(), "DataLoader", "images");
  check_device(dataset_.labels, Device::cpu(), "DataLoader", "labels");
  if (batch_size < 1 || batch_size > size)
    fail("DataLoader: batch_size must be between 1 and the dataset size {}, got {}", size, batch_size);
  if (options_.augmentation.crop_padding < 0)
    fail("DataLoader: crop_padding must not be negative, got {}", options_.augmentation.crop_padding);
  const Device device = options_.device;
  if (device.is_cuda()) require_cuda("DataLoader");

  num_batches_ = options_.drop_last ? size / batch_size : (size + batch_size - 1) / batch_size;
  augmentation_generator_.set_state(options_.seed, kAugmentationFirstBlock);
  permutation_.resize(static_cast<std::size_t>(size));
  epoch_labels_host_ = Tensor::empty({size}, DType::i32);
  epoch_labels_ = device.is_cpu() ? epoch_labels_host_ : Tensor::empty({size}, DType::i32, device);
  batch_images_ = Tensor::empty({batch_size, kCifar10Channels, kCifar10Height, kCifar10Width}, DType::f32, device);
  if (device.is_cuda()) batch_labels_ = Tensor::empty({batch_size}, DType::i32, device);
  if (augments()) augmented_images_.resize(static_cast<std::size_t>(batch_size * kCifar10ImageBytes));

  // The split, the epoch's order and the normalisation constants, on the device; with
  // augmentation, each batch's augmented images and their indices 0, 1, ... instead.
  epoch_permutation_ = Tensor::empty({size}, DType::i64, device);
  const Normalize& normalize = options_.normalize;
  mean_ = Tensor::from_vector<float>({3}, {normalize.mean.begin(), normalize.mean.end()}, device);
  stddev_ = Tensor::from_vector<float>({3}, {normalize.stddev.begin(), normalize.stddev.end()}, device);
  if (augments()) {
    batch_augmented_images_ = Tensor::empty(batch_images_.shape(), DType::u8, device);
    std::vector<std::int64_t> batch_indices(static_cast<std::size_t>(batch_size));
    std::iota(batch_indices.begin(), batch_indices.end(), 0);
    batch_indices_ = Tensor::from_vector<std::int64_t>({batch_size}, batch_indices, device);
  } else {
    images_ = device.is_cpu() ? dataset_.images : dataset_.images.to(device);
  }
  set_epoch(0);
}

bool DataLoader::augments() const {
  return options_.augmentation.crop_padding > 0 || options_.augmentation.horizontal_flip;
}

// Fisher-Yates: for i = N-1 down to 1, swap element i with a uniform j in [0, i].
// doc:data-shuffle
void DataLoader::set_epoch(std::int64_t epoch) {
  if (epoch < 0 || epoch > kMaxEpoch) fail("DataLoader: epoch must be between 0 and {}, got {}", kMaxEpoch, epoch);
  epoch_ = epoch;
  batches_served_ = 0;
  std::iota(permutation_.begin(), permutation_.end(), 0);
  if (options_.shuffle) {
    Generator generator;
    generator.set_state(options_.seed, static_cast<std::uint64_t>(epoch) * kShuffleBlocksPerEpoch);
    for (std::size_t i = permutation_.size() - 1; i > 0; --i)
      std::swap(permutation_[i], permutation_[generator.next_below(i + 1)]);
  }

  const std::int32_t* labels = dataset_.labels.data<std::int32_t>();
  std::int32_t* epoch_labels = epoch_labels_host_.data<std::int32_t>();
  for (std::size_t i = 0; i < permutation_.size(); ++i) epoch_labels[i] = labels[permutation_[i]];
  if (options_.device.is_cuda()) epoch_labels_.copy_from(epoch_labels_host_);
  copy_bytes(epoch_permutation_.raw_data(), options_.device, permutation_.data(), Device::cpu(),
             permutation_.size() * sizeof(std::int64_t));
}

DataLoaderState DataLoader::state() const { return {epoch_, batches_served_, augmentation_generator_.offset()}; }

void DataLoader::load_state(const DataLoaderState& state) {
  if (state.batches_served < 0 || state.batches_served > num_batches_)
    fail("DataLoader: batches_served must be between 0 and {} (batches per epoch), got {}", num_batches_,
         state.batches_served);
  set_epoch(state.epoch);
  batches_served_ = state.batches_served;
  augmentation_generator_.set_state(options_.seed, state.augmentation_offset);
}

DataLoader::Iterator DataLoader::begin() {
  epoch_finished_ = false;
  serve_next_batch();
  return Iterator(*this);
}

void DataLoader::serve_next_batch() {
  if (batches_served_ == num_batches_) {
    set_epoch(epoch_ + 1);
    epoch_finished_ = true;
    return;
  }
  const std::int64_t first = batches_served_ * options_.batch_size;
  const std::int64_t count = std::min(options_.batch_size, dataset_size() - first);
  gather(first, count);
  batch_.images = batch_images_.slice(0, count);
  if (options_.device.is_cuda()) {
    // The batch's labels in a buffer of their own, as its images: a CUDA graph of the
    // training step reads both from the same addresses at every step.
    cuda::copy_device_to_device_async(batch_labels_.raw_data(), epoch_labels_.slice(first, first + count).raw_data(),
                                      static_cast<std::size_t>(count) * sizeof(std::int32_t));
    batch_.labels = batch_labels_.slice(0, count);
  } else {
    batch_.labels = epoch_labels_.slice(first, first + count);
  }
  ++batches_served_;
}

void DataLoader::augment_batch(std::int64_t first, std::int64_t count) {
  const std::uint8_t* images = dataset_.images.data<std::uint8_t>();
  for (std::int64_t b = 0; b < count; ++b) {
    augment_image(images + permutation_[first + b] * kCifar10ImageBytes, kCifar10Height, kCifar10Width,
                  options_.augmentation, augmentation_generator_, augmented_images_.data() + b * kCifar10ImageBytes);
  }
}

// One gather_normalize (kernels/gather_normalize.h) on the loader's device: the
// epoch's rows of the split, or the batch's augmented images made on the host.
void DataLoader::gather(std::int64_t first, std::int64_t count) {
  Tensor output = batch_images_.slice(0, count);
  if (augments()) {
    augment_batch(first, count);
    copy_bytes(batch_augmented_images_.raw_data(), options_.device, augmented_images_.data(), Device::cpu(),
               static_cast<std::size_t>(count * kCifar10ImageBytes));
    ops::gather_normalize(batch_augmented_images_, batch_indices_.slice(0, count), mean_, stddev_, output);
  } else {
    ops::gather_normalize(images_, epoch_permutation_.slice(first, first + count), mean_, stddev_, output);
  }
}

}  // namespace minidl::data
