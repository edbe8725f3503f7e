#include "training.h"

#include "minidl/core/error.h"
#include "minidl/kernels/step_metrics.h"
#include "minidl/layers/networks.h"

namespace minidl::study {

namespace {

// The weights come from Philox stream `seed`, the data order from a stream no
// other seed's weights use.
std::uint64_t data_order_seed(std::uint64_t seed) { return seed + (std::uint64_t{1} << 32); }

// The study's network on the device, with its initial weights from generator.
std::unique_ptr<nn::Sequential> make_net_on(const RunSpec& spec, Generator& generator, Device device) {
  std::unique_ptr<nn::Sequential> net = nn::make_study_net(spec.batch_norm, generator);
  net->to(device);
  return net;
}

// The replica of net over communicator's ranks, after checking that every batch of the
// training set splits evenly over them; none without a communicator.
std::unique_ptr<distributed::DataParallel> make_replica(nn::Sequential& net, const RunSpec& spec,
                                                        const data::Cifar10& train, const StudyOptions& options) {
  if (!options.communicator) return nullptr;
  distributed::check_even_shards(train.size(), spec.batch_size, options.communicator->size());
  return std::make_unique<distributed::DataParallel>(net, *options.communicator);
}

}  // namespace

data::DataLoader make_loader(const data::Cifar10& split, const RunSpec& spec, bool shuffle, std::uint64_t seed,
                             Device device) {
  return data::DataLoader(split, {.batch_size = spec.batch_size,
                                  .shuffle = shuffle,
                                  .drop_last = false,
                                  .seed = data_order_seed(seed),
                                  .normalize = spec.normalize ? data::kCifar10Normalize : data::kNoNormalize,
                                  .device = device});
}

DeviceSums::DeviceSums(const PassResult& so_far, Device device)
    : total_loss_(Tensor::full({1}, so_far.total_loss, DType::f64).to(device)),
      correct_(Tensor::full({1}, static_cast<double>(so_far.correct), DType::i64).to(device)) {}

void DeviceSums::reset(const PassResult& so_far) {
  total_loss_.copy_from(Tensor::full({1}, so_far.total_loss, DType::f64));
  correct_.copy_from(Tensor::full({1}, static_cast<double>(so_far.correct), DType::i64));
}

void DeviceSums::add(const Tensor& loss, const Tensor& num_correct) {
  ops::accumulate_step_metrics(loss, num_correct, total_loss_, correct_);
}

void DeviceSums::read_into(PassResult& result) const {
  result.total_loss = total_loss_.to(Device::cpu()).data<double>()[0];
  result.correct = correct_.to(Device::cpu()).data<std::int64_t>()[0];
}

Training::Training(const RunSpec& spec, const data::Cifar10& train, const StudyOptions& options)
    : generator(options.seed),
      net(make_net_on(spec, generator, options.device)),
      replica(make_replica(*net, spec, train, options)),
      optimizer(net->parameters(), {.lr = spec.lr}),
      loader(make_loader(train, spec, spec.shuffle, options.seed, options.device)),
      guard(net->parameters(), options.device, options.on_divergence),
      sums({}, options.device),
      step(*net, criterion, optimizer, guard, sums, options.graphs, replica.get()) {
  if (spec.lr_gamma != 1.0) scheduler = std::make_unique<optim::ExponentialLR>(optimizer, spec.lr_gamma);
}

TrainingStep::TrainingStep(nn::Sequential& net, nn::CrossEntropyLoss& criterion, optim::SGD& optimizer,
                           optim::DivergenceGuard& guard, DeviceSums& sums, bool graphs,
                           distributed::DataParallel* replica)
    : net_(net),
      criterion_(criterion),
      optimizer_(optimizer),
      guard_(guard),
      sums_(sums),
      graphs_(graphs),
      replica_(replica) {}

void TrainingStep::run(const data::Batch& batch) {
  if (!graphs_) {
    train_step(net_, criterion_, optimizer_, guard_, batch, sums_, replica_);
    return;
  }
  if (!batch.images.device().is_cuda()) fail("--graph on needs --device cuda (CUDA graphs)");
  StepGraph& step_graph = step_graphs_[batch.images.size(0)];
  if (step_graph.graph) {
    if (guard_.next_step() != optimizer_.step_count())
      fail("training step graph: the divergence guard expects step {}, the optimizer is at step {}",
           guard_.next_step(), optimizer_.step_count());
    optimizer_.prepare_replay();
    step_graph.graph->replay();
    net_.count_replayed_forward();
    optimizer_.count_replayed_step();
    guard_.count_replayed_check();
    return;
  }
  if (step_graph.eager_steps < kEagerSteps) {
    train_step(net_, criterion_, optimizer_, guard_, batch, sums_, replica_);
    ++step_graph.eager_steps;
    return;
  }
  // Capturing runs the step's host code (it counts the step) and queues no work: the
  // first replay is this step's. What the step would copy to the device is copied first,
  // outside the capture (a scheduler may have changed the learning rate since the last step).
  optimizer_.prepare_replay();
  try {
    step_graph.graph = std::make_unique<cuda::Graph>(
        [&] { train_step(net_, criterion_, optimizer_, guard_, batch, sums_, replica_); });
  } catch (const Error& error) {
    fail("capturing the training step at batch size {} as a CUDA graph: {}", batch.images.size(0), error.what());
  }
  ++graph_captures_;
  step_graph.graph->replay();
}

Checkpoint Training::checkpoint(const RunSpec& spec, std::uint64_t seed, const std::vector<EpochResult>& history,
                      const PassResult& epoch_so_far) const {
  Checkpoint checkpoint{.run = spec.name,
                        .seed = seed,
                        .batch_size = spec.batch_size,
                        .lr = spec.lr,
                        .train_images = loader.dataset_size(),
                        .loader = loader.state(),
                        .epoch_so_far = epoch_so_far,
                        .history = history,
                        .model = net->state_dict(),
                        .optimizer = optimizer.state(),
                        .momentum_buffers = {},
                        .scheduler = {},
                        .divergence = guard.poll()};
  for (std::size_t i = 0; i < optimizer.parameters().size(); ++i)
    if (checkpoint.optimizer.momentum_buffers[i].defined())
      checkpoint.momentum_buffers[optimizer.parameters()[i]->name] = checkpoint.optimizer.momentum_buffers[i];
  checkpoint.optimizer.momentum_buffers.clear();
  if (scheduler) checkpoint.scheduler = scheduler->state();
  return checkpoint;
}

void Training::restore(const Checkpoint& checkpoint, const std::string& path) {
  net->load_state_dict(checkpoint.model);
  optim::SgdState state = checkpoint.optimizer;
  for (const nn::Parameter* parameter : optimizer.parameters()) {
    auto found = checkpoint.momentum_buffers.find(parameter->name);
    state.momentum_buffers.push_back(found != checkpoint.momentum_buffers.end() ? found->second : Tensor());
  }
  optimizer.load_state(state);
  if (scheduler.operator bool() != checkpoint.scheduler.has_value())
    fail("checkpoint {}: the run {} a learning-rate scheduler, the checkpoint {}", path,
         scheduler ? "has" : "has no", checkpoint.scheduler ? "has one" : "has none");
  if (scheduler) scheduler->load_state(*checkpoint.scheduler);
  loader.load_state(checkpoint.loader);
  guard.load_state(checkpoint.divergence);
}

// doc:study-training-step
void train_step(nn::Sequential& net, nn::CrossEntropyLoss& criterion, optim::SGD& optimizer,
                optim::DivergenceGuard& guard, const data::Batch& batch, DeviceSums& sums,
                distributed::DataParallel* replica) {
  optimizer.zero_grad();
  const data::Batch shard = replica ? replica->shard(batch) : batch;
  if (replica) replica->broadcast_buffers();
  Tensor logits = net.forward(shard.images);
  Tensor loss = criterion.forward(logits, shard.labels);
  net.backward(criterion.backward());
  const Tensor& batch_loss = replica ? replica->average_gradients(loss) : loss;
  guard.check(batch_loss, optimizer.step_count());
  optimizer.step(guard.skip_update());
  sums.add(batch_loss, criterion.num_correct());
}

}  // namespace minidl::study
