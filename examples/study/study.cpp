#include "study.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "core/error.h"
#include "core/safetensors.h"
#include "data/data_loader.h"
#include "layers/cross_entropy_loss.h"
#include "layers/networks.h"
#include "optim/scheduler.h"
#include "optim/sgd.h"

namespace minidl::study {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The weights come from Philox stream `seed`, the data order from a stream no
// other seed's weights use.
std::uint64_t data_order_seed(std::uint64_t seed) { return seed + (std::uint64_t{1} << 32); }

data::DataLoader make_loader(const data::Cifar10& split, const RunSpec& spec, bool shuffle, std::uint64_t seed,
                             Device device) {
  return data::DataLoader(split, {.batch_size = spec.batch_size,
                                  .shuffle = shuffle,
                                  .drop_last = false,
                                  .seed = data_order_seed(seed),
                                  .normalize = spec.normalize ? data::kCifar10Normalize : data::kNoNormalize,
                                  .device = device});
}

// Redraws "  epoch 3 [#######.......] 2400/5000 batches  1234 images/s" at most
// four times a second.
class ProgressBar {
 public:
  ProgressBar(const Output& output, bool enabled, int epoch, std::int64_t batches)
      : output_(output), enabled_(enabled), epoch_(epoch), batches_(batches) {}

  void update(std::int64_t batches_done, std::int64_t images_done) {
    if (!enabled_) return;
    const double elapsed = seconds_since(start_);
    if (batches_done != batches_ && elapsed - last_draw_ < 0.25) return;
    last_draw_ = elapsed;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * batches_done / batches_);
    output_.progress(fmt::format("\r  epoch {} [{}{}] {}/{} batches  {:.0f} images/s ", epoch_,
                                 std::string(filled, '#'), std::string(kWidth - filled, '.'), batches_done, batches_,
                                 elapsed > 0 ? images_done / elapsed : 0.0));
  }

  void finish() {
    if (enabled_) output_.progress("\r" + std::string(80, ' ') + "\r");
  }

 private:
  const Output& output_;
  bool enabled_;
  int epoch_;
  std::int64_t batches_;
  Clock::time_point start_ = Clock::now();
  double last_draw_ = -1.0;
};

// One training epoch: the study's inner loop.
// doc:study-training-step
PassResult train_epoch(nn::Sequential& net, nn::CrossEntropyLoss& criterion, optim::SGD& optimizer,
                       data::DataLoader& loader, ProgressBar& progress) {
  PassResult result;
  const Clock::time_point start = Clock::now();
  net.train();
  std::int64_t batches_done = 0;
  for (const data::Batch& batch : loader) {
    optimizer.zero_grad();
    Tensor logits = net.forward(batch.images);
    Tensor loss = criterion.forward(logits, batch.labels);
    net.backward(criterion.backward());
    optimizer.step();
    result.total_loss += loss.item<float>();
    result.correct += criterion.num_correct().item<std::int32_t>();
    result.total += batch.labels.numel();
    progress.update(++batches_done, result.total);
  }
  result.seconds = seconds_since(start);
  return result;
}

// One pass over a split without gradients, in the network's current mode.
PassResult evaluate(nn::Sequential& net, data::DataLoader& loader) {
  nn::NoGradGuard no_grad;
  nn::CrossEntropyLoss criterion;
  PassResult result;
  const Clock::time_point start = Clock::now();
  for (const data::Batch& batch : loader) {
    Tensor loss = criterion.forward(net.forward(batch.images), batch.labels);
    result.total_loss += loss.item<float>();
    result.correct += criterion.num_correct().item<std::int32_t>();
    result.total += batch.labels.numel();
  }
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace

const std::vector<RunSpec>& study_runs() {
  static const std::vector<RunSpec> runs = {
      {"control", "normalized, shuffled", 10, 0.1, 1.0, false, true, true, 44.75, false},
      {"large_batch", "batch 100", 100, 0.1, 1.0, false, true, true, 71.0, true},
      {"lr_decay", "lr x0.8 each epoch", 10, 0.1, 0.8, false, true, true, 71.0, true},
      {"batch_norm", "BatchNorm2d after each conv", 10, 0.1, 1.0, true, true, true, 73.0, true},
      {"no_preprocessing", "batch 100, no Normalize, no shuffle", 100, 0.1, 1.0, false, false, false, 65.0, true},
  };
  return runs;
}

const RunSpec& find_run(const std::string& name) {
  std::string names;
  for (const RunSpec& run : study_runs()) {
    if (run.name == name) return run;
    names += (names.empty() ? "" : ", ") + run.name;
  }
  fail("unknown run '{}' (choose from {}, or all)", name, names);
}

std::string epoch_line(const EpochResult& epoch) {
  return fmt::format("epoch: {} correct times: {} training accuracy: {:.3f} % total_loss: {:.3f}", epoch.epoch,
                     epoch.train.correct, epoch.train.accuracy(), epoch.train.total_loss);
}

std::string test_line(const PassResult& test) {
  return fmt::format("correct times: {} test accuracy: {:.3f} % total_loss: {:.3f}", test.correct, test.accuracy(),
                     test.total_loss);
}

RunResult run_study(const RunSpec& run, const data::Cifar10& train, const data::Cifar10& test,
                    const StudyOptions& options, const Output& output) {
  const Clock::time_point start = Clock::now();
  const std::clock_t cpu_start = std::clock();
  RunResult result;
  result.spec = run;
  if (options.batch_size) result.spec.batch_size = *options.batch_size;
  if (options.lr) result.spec.lr = *options.lr;
  const RunSpec& spec = result.spec;

  // net = Net(); criterion = nn.CrossEntropyLoss(); optimizer = optim.SGD(net.parameters(), lr)
  Generator generator(options.seed);
  std::unique_ptr<nn::Sequential> net = nn::make_study_net(spec.batch_norm, generator);
  net->to(options.device);
  nn::CrossEntropyLoss criterion;
  optim::SGD optimizer(net->parameters(), {.lr = spec.lr});
  std::unique_ptr<optim::ExponentialLR> scheduler;
  if (spec.lr_gamma != 1.0) scheduler = std::make_unique<optim::ExponentialLR>(optimizer, spec.lr_gamma);
  data::DataLoader train_loader = make_loader(train, spec, spec.shuffle, options.seed, options.device);

  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    EpochResult epoch_result{.epoch = epoch, .lr = optimizer.lr(), .train = {}};
    ProgressBar progress(output, options.progress_bar, epoch, train_loader.num_batches());
    epoch_result.train = train_epoch(*net, criterion, optimizer, train_loader, progress);
    progress.finish();
    if (scheduler) scheduler->step();
    output.line(epoch_line(epoch_result));
    result.epochs.push_back(epoch_result);
  }

  // torch.save(net.state_dict(), PATH); net = Net(); net.load_state_dict(torch.load(PATH))
  std::filesystem::create_directories(std::filesystem::path(options.output_dir) / "models");
  result.model_path = (std::filesystem::path(options.output_dir) / "models" / (spec.name + ".safetensors")).string();
  save_safetensors(result.model_path, net->state_dict(),
                   {{"format", "pt"}, {"run", spec.name}, {"epochs", std::to_string(options.epochs)},
                    {"seed", std::to_string(options.seed)}});
  Generator unused(0);
  std::unique_ptr<nn::Sequential> loaded = nn::make_study_net(spec.batch_norm, unused);
  loaded->load_state_dict(load_safetensors(result.model_path).tensors);
  loaded->to(options.device);

  data::DataLoader test_loader = make_loader(test, spec, /*shuffle=*/false, options.seed, options.device);
  loaded->eval();
  result.test = evaluate(*loaded, test_loader);
  output.line(test_line(result.test));
  if (spec.batch_norm) {
    // The study's test loop never called net.eval(): BatchNorm normalized each test
    // batch with its own statistics. Measured after the eval-mode pass, because a
    // train-mode pass also moves the running statistics.
    loaded->train();
    result.test_batch_statistics = evaluate(*loaded, test_loader);
    output.line(test_line(*result.test_batch_statistics) + " (BatchNorm with batch statistics, as the study tested)");
  }
  result.seconds = seconds_since(start);
  result.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  return result;
}

}  // namespace minidl::study
