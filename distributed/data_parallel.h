/// \file
/// DataParallel: PyTorch's DistributedDataParallel for a minidl network. Every rank
/// holds the whole model and takes its share of each global batch; the gradients are
/// averaged across ranks before the update, so every replica takes the same step, the
/// step one process would take on the whole global batch.
///
///   DataParallel replica(net, communicator);   // after net.to(device), before the optimizer
///   for (const data::Batch& batch : loader) {  // the loader serves global batches
///     optimizer.zero_grad();
///     const data::Batch shard = replica.shard(batch);
///     replica.broadcast_buffers();
///     Tensor loss = criterion.forward(net.forward(shard.images), shard.labels);
///     net.backward(criterion.backward());
///     const Tensor& batch_loss = replica.average_gradients(loss);
///     optimizer.step();
///   }
///
/// What it keeps of DistributedDataParallel's semantics:
///   - at construction rank 0's parameters and buffers are broadcast: every replica
///     starts from rank 0's initial weights;
///   - a global batch of B rows is split into N contiguous shards of B/N rows, rank r
///     taking rows [r B/N, (r+1) B/N): the rows one process would take, in its order.
///     B must divide by N (shard() throws otherwise), the last batch of an epoch too;
///   - the gradients are averaged: each rank's gradient is of its shard's mean loss, so
///     their average is the gradient of the global batch's mean loss (up to rounding);
///   - batch norm normalises each shard with its own batch statistics (a model with
///     batch norm therefore differs from one process at batch B), and the running
///     statistics are rank 0's, broadcast before each training forward
///     (broadcast_buffers=True);
///   - one collective per step carries every gradient: the parameters' gradients are
///     views of one flat buffer, which also carries the loss.
#pragma once

#include "minidl/data/data_loader.h"
#include "minidl/distributed/communicator.h"
#include "minidl/layers/module.h"

namespace minidl::distributed {

/// One rank's replica of a network; see the top of this file.
class DataParallel {
 public:
  /// Broadcasts rank 0's parameters and buffers to every rank, then makes every
  /// parameter's gradient (and every floating-point buffer) a view of one flat buffer on
  /// the communicator's device. Call it after net.to(device) and before making an
  /// optimizer or anything else that keeps the gradients' tensors. Throws Error when a
  /// parameter or floating-point buffer is not f32 on the communicator's device.
  DataParallel(nn::Module& net, Communicator& communicator);

  /// This rank's rows of a global batch: views, no copy. Throws Error naming the sizes
  /// unless the batch's rows divide by the number of ranks.
  data::Batch shard(const data::Batch& global) const;
  /// Rank 0's buffers (BatchNorm's running statistics) to every rank: one broadcast, or
  /// nothing for a network without buffers. Before each training forward.
  void broadcast_buffers();
  /// After backward: one all-reduce averages every gradient and loss (this shard's
  /// mean loss, a one-element f32 tensor). Returns the average loss, the global batch's
  /// mean loss, as a one-element tensor on the device that the next call overwrites.
  const Tensor& average_gradients(const Tensor& loss);

  /// The elements one step's all-reduce moves: every gradient, and the loss.
  std::int64_t reduced_elements() const { return flat_gradients_.numel(); }

 private:
  Communicator& communicator_;
  Tensor flat_gradients_;  // (P + 1) f32: every parameter's gradient, then the loss
  Tensor loss_;            // the last element of flat_gradients_
  Tensor flat_buffers_;    // every floating-point buffer; undefined when there is none
};

/// Throws Error naming the sizes unless a data set of dataset_size rows in batches of
/// batch_size (the last one smaller when it does not divide) splits evenly over ranks:
/// every batch, the last one included, must divide by ranks.
void check_even_shards(std::int64_t dataset_size, std::int64_t batch_size, int ranks);

}  // namespace minidl::distributed
