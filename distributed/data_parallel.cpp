#include "minidl/distributed/data_parallel.h"

#include <vector>

#include "minidl/core/error.h"

namespace minidl::distributed {

namespace {

// Makes each tensor a view of one new flat f32 buffer on device, holding its values,
// with `extra` more elements after them; returns the buffer.
Tensor gather_into_flat_buffer(const std::vector<Tensor*>& tensors, std::int64_t extra, Device device) {
  std::int64_t total = extra;
  for (const Tensor* tensor : tensors) total += tensor->numel();
  Tensor flat = Tensor::zeros({total}, DType::f32, device);
  std::int64_t offset = 0;
  for (Tensor* tensor : tensors) {
    Tensor view = flat.slice(offset, offset + tensor->numel()).reshape(tensor->shape());
    view.copy_from(*tensor);
    *tensor = view;
    offset += tensor->numel();
  }
  return flat;
}

}  // namespace

DataParallel::DataParallel(nn::Module& net, Communicator& communicator) : communicator_(communicator) {
  const Device device = communicator.device();
  std::vector<Tensor*> gradients;
  for (nn::Parameter* parameter : net.parameters()) {
    if (parameter->value.device() != device || parameter->value.dtype() != DType::f32)
      fail("DataParallel: parameter {} is {} on {}; the {} communicator reduces f32 tensors on {} "
           "(move the network there first)",
           parameter->name, dtype_name(parameter->value.dtype()), parameter->value.device().str(),
           communicator.backend(), device.str());
    // Every replica starts from rank 0's initial weights.
    communicator.broadcast(parameter->value, 0);
    gradients.push_back(&parameter->grad);
  }
  flat_gradients_ = gather_into_flat_buffer(gradients, /*extra=*/1, device);
  loss_ = flat_gradients_.slice(flat_gradients_.numel() - 1, flat_gradients_.numel());

  // BatchNorm's running statistics; num_batches_tracked is a host counter that every
  // rank advances alike, one per training forward.
  std::vector<Tensor*> buffers;
  for (nn::Buffer* buffer : net.buffers()) {
    const DType dtype = buffer->value.dtype();
    if (dtype != DType::f32 && dtype != DType::f64) continue;
    if (dtype != DType::f32 || buffer->value.device() != device)
      fail("DataParallel: buffer {} is {} on {}; the {} communicator broadcasts f32 buffers on {}", buffer->name,
           dtype_name(dtype), buffer->value.device().str(), communicator.backend(), device.str());
    buffers.push_back(&buffer->value);
  }
  if (!buffers.empty()) {
    flat_buffers_ = gather_into_flat_buffer(buffers, /*extra=*/0, device);
    broadcast_buffers();
  }
}

// doc:data-parallel-shard
data::Batch DataParallel::shard(const data::Batch& global) const {
  const std::int64_t rows = global.images.size(0), ranks = communicator_.size();
  if (rows % ranks != 0)
    fail("data parallel: a batch of {} images does not split evenly over {} ranks; choose a batch size (and a "
         "data set size) that divide by the number of ranks",
         rows, ranks);
  const std::int64_t per_rank = rows / ranks, first = communicator_.rank() * per_rank;
  return {global.images.slice(first, first + per_rank), global.labels.slice(first, first + per_rank)};
}

void DataParallel::broadcast_buffers() {
  if (flat_buffers_.defined()) communicator_.broadcast(flat_buffers_, 0);
}

// doc:data-parallel-average
const Tensor& DataParallel::average_gradients(const Tensor& loss) {
  if (loss.numel() != 1 || loss.dtype() != DType::f32 || loss.device() != loss_.device())
    fail("DataParallel::average_gradients: the loss must be one f32 value on {}, got {} {} on {}",
         loss_.device().str(), dtype_name(loss.dtype()), loss.shape().str(), loss.device().str());
  loss_.copy_from(loss.reshape({1}));
  // (1/N) sum over ranks of (gradient of the rank's shard mean loss) = the gradient of
  // the global batch's mean loss, as every shard has B/N rows.
  communicator_.all_reduce(flat_gradients_, Reduction::average);
  return loss_;
}

void check_even_shards(std::int64_t dataset_size, std::int64_t batch_size, int ranks) {
  if (batch_size % ranks != 0)
    fail("data parallel: the batch size {} does not divide by the {} ranks; each rank takes batch size / ranks "
         "images of every batch",
         batch_size, ranks);
  const std::int64_t last = dataset_size % batch_size;
  if (last != 0 && last % ranks != 0)
    fail("data parallel: the last batch of an epoch ({} of {} images, in batches of {}) does not divide by the {} "
         "ranks; choose a batch size whose last batch does, or a data set size that is a multiple of the batch size",
         last, dataset_size, batch_size, ranks);
}

}  // namespace minidl::distributed
