// The pieces of one study run's training, shared by the study (study.cpp) and its
// tests: the objects a run trains with, its step, and the pass's sums on the device.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "checkpoint.h"
#include "minidl/core/cuda_runtime.h"
#include "minidl/core/rng.h"
#include "minidl/core/tensor.h"
#include "minidl/data/data_loader.h"
#include "minidl/distributed/data_parallel.h"
#include "minidl/layers/cross_entropy_loss.h"
#include "minidl/layers/sequential.h"
#include "minidl/optim/divergence_guard.h"
#include "minidl/optim/scheduler.h"
#include "minidl/optim/sgd.h"
#include "study.h"

namespace minidl::study {

// A loader over split with the run's batch size and Normalize, shuffled or not, on device.
data::DataLoader make_loader(const data::Cifar10& split, const RunSpec& spec, bool shuffle, std::uint64_t seed,
                             Device device);

// A pass's loss and correct-count sums, kept on the device the pass runs on
// (kernels/step_metrics.h): adding a step's values makes the host wait for nothing,
// and reading them at the pass's end is its one synchronisation. They start from
// `so_far` (a resumed epoch's sums), so the additions come in the same order as in a
// run that never stopped: the same bits.
class DeviceSums {
 public:
  DeviceSums(const PassResult& so_far, Device device);
  // Starts again from so_far, in the same device memory (a CUDA graph that adds to the
  // sums stays valid). Copies to the device: not while a graph is being captured.
  void reset(const PassResult& so_far);
  // total_loss += loss[0]; correct += num_correct[0], queued on the device.
  void add(const Tensor& loss, const Tensor& num_correct);
  // Sets result's total_loss and correct to the sums (a host synchronisation on CUDA).
  void read_into(PassResult& result) const;

 private:
  Tensor total_loss_, correct_;
};

// One training step on a batch, adding to sums: train_step (below) launched eagerly, or,
// with graphs on, as one CUDA graph per batch size. Then the first kEagerSteps steps of a
// batch size run eagerly (they size every buffer, table and workspace, choose cuDNN's
// algorithms and take the first momentum step), the next is captured and replayed, and
// every later one replays it. A replay runs no host code, so the host state a step
// advances (the optimizer's step count, BatchNorm2d's num_batches_tracked, the divergence
// guard's step) is advanced here: the run is the eager run, bit for bit. A call that
// capture refuses is an Error naming it, never a quiet fall back to eager.
class TrainingStep {
 public:
  static constexpr int kEagerSteps = 2;

  // The objects must outlive the step; graphs needs them on CUDA. With a replica, the
  // step is data parallel (train_step), and a captured graph holds its collectives.
  TrainingStep(nn::Sequential& net, nn::CrossEntropyLoss& criterion, optim::SGD& optimizer,
               optim::DivergenceGuard& guard, DeviceSums& sums, bool graphs,
               distributed::DataParallel* replica = nullptr);
  void run(const data::Batch& batch);
  // CUDA graphs captured so far: one per batch size.
  int graph_captures() const { return graph_captures_; }

 private:
  struct StepGraph {
    int eager_steps = 0;
    std::unique_ptr<cuda::Graph> graph;
  };
  nn::Sequential& net_;
  nn::CrossEntropyLoss& criterion_;
  optim::SGD& optimizer_;
  optim::DivergenceGuard& guard_;
  DeviceSums& sums_;
  bool graphs_;
  distributed::DataParallel* replica_;
  int graph_captures_ = 0;
  std::map<std::int64_t, StepGraph> step_graphs_;  // by batch size
};

// Everything one run trains with, built as the study's code builds it:
//   net = Net(); criterion = nn.CrossEntropyLoss(); optimizer = optim.SGD(net.parameters(), lr)
// plus the loader, the lr_decay run's scheduler and the divergence guard. With
// options.communicator, a data-parallel replica (distributed/data_parallel.h) of the network.
struct Training {
  Training(const RunSpec& spec, const data::Cifar10& train, const StudyOptions& options);

  // The whole training state, with the run's identity and metrics.
  Checkpoint checkpoint(const RunSpec& spec, std::uint64_t seed, const std::vector<EpochResult>& history,
                        const PassResult& epoch_so_far) const;
  // Restores a checkpoint that check_checkpoint accepted; path is for messages.
  void restore(const Checkpoint& checkpoint, const std::string& path);

  Generator generator;
  std::unique_ptr<nn::Sequential> net;
  std::unique_ptr<distributed::DataParallel> replica;  // data parallel only; before the optimizer
  nn::CrossEntropyLoss criterion;
  optim::SGD optimizer;
  std::unique_ptr<optim::ExponentialLR> scheduler;
  data::DataLoader loader;
  optim::DivergenceGuard guard;
  DeviceSums sums;  // the current pass's sums, at one address for the whole run
  TrainingStep step;
};

// One step of the study's inner loop on any network (the study's is `training`'s), as
// its PyTorch code does it:
//   optimizer.zero_grad(); loss = criterion(net(images), labels); loss.backward(); optimizer.step()
//   total_loss += loss.item(); correct += (predicted == labels).sum()
// with minidl's two additions: the divergence guard checks the loss and gradients
// before the update, and the sums stay on the device. On CUDA, after the first
// steps have sized every buffer, a step allocates nothing and never makes the host wait.
// With a replica, data parallel as DistributedDataParallel: the step trains on this
// rank's shard of the global batch, rank 0's running statistics first, and one
// all-reduce averages the gradients and the loss; the guard checks, and the sums add,
// the global batch's loss (the same on every rank), the sums this shard's correct count.
void train_step(nn::Sequential& net, nn::CrossEntropyLoss& criterion, optim::SGD& optimizer,
                optim::DivergenceGuard& guard, const data::Batch& batch, DeviceSums& sums,
                distributed::DataParallel* replica = nullptr);

}  // namespace minidl::study
