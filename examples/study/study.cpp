#include "study.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "checkpoint.h"
#include "training.h"
#include "minidl/core/error.h"
#include "minidl/core/safetensors.h"
#include "minidl/data/data_loader.h"
#include "minidl/kernels/step_metrics.h"
#include "minidl/layers/cross_entropy_loss.h"
#include "minidl/layers/networks.h"
#include "minidl/optim/scheduler.h"
#include "minidl/optim/sgd.h"

namespace minidl::study {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
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

// Whether checkpoint_file exists to resume from: on every rank or on none, in data
// parallel (a rank that alone started afresh would train other weights); throws Error
// naming the ranks' view otherwise.
bool checkpoint_everywhere(const StudyOptions& options, const std::string& checkpoint_file) {
  const bool here = std::filesystem::exists(checkpoint_file);
  if (!options.communicator) return here;
  const std::int64_t ranks_with_it = options.communicator->sum(here ? 1 : 0);
  if (ranks_with_it != 0 && ranks_with_it != options.communicator->size())
    fail("--resume: {} of the {} ranks see the checkpoint {}; data parallel resumes from one file that every rank "
         "reads (a shared file system)",
         ranks_with_it, options.communicator->size(), checkpoint_file);
  return here;
}

// The steps the divergence guard counted in these epochs.
std::int64_t skipped_steps(const std::vector<EpochResult>& epochs) {
  std::int64_t total = 0;
  for (const EpochResult& epoch : epochs) total += epoch.skipped_steps;
  return total;
}

// Stops the run, naming where, when the guard's report shows a NaN or Inf under the stop
// policy. epoch_first_step: the optimizer's step count at the epoch's first step.
void stop_if_diverged(const optim::DivergenceReport& report, const Training& training, const RunSpec& spec,
                      const StudyOptions& options, int epoch, std::int64_t epoch_first_step) {
  if (options.on_divergence != optim::DivergencePolicy::stop || !report.first_bad_step) return;
  throw Diverged(fmt::format(
      "run {} diverged at epoch {}, step {} (of {} steps per epoch, counted from 0): the loss or a gradient "
      "became NaN or Inf, and the weights were kept from before that step. Lower --lr, or pass "
      "--on-divergence skip to skip such steps and go on",
      spec.name, epoch, *report.first_bad_step - epoch_first_step, training.loader.num_batches()));
}

// One training epoch: the study's inner loop, from where the loader stands (the
// epoch's start, or mid-epoch after a resume) to the epoch's end, adding to
// `metrics`, and the guard's report at its end in `report`. Returns false when
// stop_requested() ended it early, after a whole step. The host waits for the device
// once, at the end: every divergence_poll_steps steps the guard's report is requested,
// and read when the device has written it.
// doc:study-epoch
bool train_epoch(Training& training, const RunSpec& spec, const StudyOptions& options, int epoch,
                 PassResult& metrics, ProgressBar& progress, optim::DivergenceReport& report) {
  const Clock::time_point start = Clock::now();
  nn::Sequential& net = *training.net;
  optim::SGD& optimizer = training.optimizer;
  std::int64_t batches_done = training.loader.state().batches_served;
  const std::int64_t epoch_first_step = optimizer.step_count() - batches_done;
  // Data parallel: the loss added each step is the global batch's, the same on every
  // rank; each rank counts its own shard's correct answers, summed over ranks at the
  // end, where a resumed epoch's count so far comes in once, from rank 0.
  PassResult sums_start = metrics;
  if (!is_leader(options)) sums_start.correct = 0;
  training.sums.reset(sums_start);
  bool stopped = false;
  net.train();
  for (const data::Batch& batch : training.loader) {
    training.step.run(batch);
    metrics.total += batch.labels.numel();
    progress.update(++batches_done, metrics.total);
    if (batches_done % options.divergence_poll_steps == 0) {
      if (options.communicator) {
        // Every rank must stop at the same step: each reads the report (waiting for its
        // device) here, where ready_report() would answer by each device's own pace.
        stop_if_diverged(training.guard.poll(), training, spec, options, epoch, epoch_first_step);
      } else {
        if (std::optional<optim::DivergenceReport> ready = training.guard.ready_report())
          stop_if_diverged(*ready, training, spec, options, epoch, epoch_first_step);
        training.guard.request_report();
      }
    }
    if (stop_requested_by_any_rank(options)) {
      stopped = true;
      break;
    }
  }
  training.guard.request_report();
  training.sums.read_into(metrics);  // waits for the device: the report is there too
  if (options.communicator) metrics.correct = options.communicator->sum(metrics.correct);
  report = training.guard.ready_report().value();
  metrics.seconds += seconds_since(start);
  stop_if_diverged(report, training, spec, options, epoch, epoch_first_step);
  return !stopped;
}

// One pass over a split without gradients, in the network's current mode.
// With confusion, also counts each (true class, predicted class) pair, the prediction
// being the first maximum of the logits as the correct count takes it; the logits come
// to the host batch by batch for that (a test pass only).
PassResult evaluate(nn::Sequential& net, data::DataLoader& loader, std::vector<std::int64_t>* confusion = nullptr) {
  nn::NoGradGuard no_grad;
  nn::CrossEntropyLoss criterion;
  PassResult result;
  const Clock::time_point start = Clock::now();
  DeviceSums sums(result, loader.options().device);
  if (confusion) confusion->assign(data::kCifar10Classes * data::kCifar10Classes, 0);
  for (const data::Batch& batch : loader) {
    const Tensor logits = net.forward(batch.images);
    Tensor loss = criterion.forward(logits, batch.labels);
    sums.add(loss, criterion.num_correct());
    result.total += batch.labels.numel();
    if (confusion) {
      const Tensor host_logits = logits.to(Device::cpu()), host_labels = batch.labels.to(Device::cpu());
      for (std::int64_t n = 0; n < host_labels.numel(); ++n) {
        const float* row = host_logits.data<float>() + n * data::kCifar10Classes;
        std::int64_t predicted = 0;
        for (std::int64_t k = 1; k < data::kCifar10Classes; ++k)
          if (row[k] > row[predicted]) predicted = k;
        ++(*confusion)[host_labels.data<std::int32_t>()[n] * data::kCifar10Classes + predicted];
      }
    }
  }
  sums.read_into(result);
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace

bool is_leader(const StudyOptions& options) { return !options.communicator || options.communicator->rank() == 0; }

bool stop_requested_by_any_rank(const StudyOptions& options) {
  const bool requested = options.stop_requested && options.stop_requested();
  if (!options.communicator) return requested;
  return options.communicator->sum(requested ? 1 : 0) > 0;
}

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

std::string run_file_stem(const StudyOptions& options, const std::string& run) {
  return run + options.file_suffix;
}

std::string checkpoint_path(const StudyOptions& options, const std::string& run) {
  return (std::filesystem::path(options.output_dir) / "checkpoints" / (run_file_stem(options, run) + ".safetensors"))
      .string();
}

RunResult run_study(const RunSpec& run, const data::Cifar10& train, const data::Cifar10& test,
                    const StudyOptions& options, const Output& output) {
  const Clock::time_point start = Clock::now();
  const std::clock_t cpu_start = std::clock();
  RunResult result;
  result.spec = run;
  result.seed = options.seed;
  if (options.batch_size) result.spec.batch_size = *options.batch_size;
  if (options.lr) result.spec.lr = *options.lr;
  const RunSpec& spec = result.spec;
  auto finish_timing = [&] {
    result.seconds = seconds_since(start);
    result.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  };

  const bool leader = is_leader(options);
  Training training(spec, train, options);
  const std::string checkpoint_file = checkpoint_path(options, spec.name);
  PassResult epoch_so_far;
  const bool resume = options.resume && checkpoint_everywhere(options, checkpoint_file);
  if (resume) {
    Checkpoint checkpoint = load_checkpoint(checkpoint_file);
    check_checkpoint(checkpoint, checkpoint_file, spec, options.seed, train.size(), options.epochs,
                     training.net->state_dict());
    training.restore(checkpoint, checkpoint_file);
    result.epochs = checkpoint.history;
    epoch_so_far = checkpoint.epoch_so_far;
    output.line(fmt::format("resumed from {}: epoch {}, step {}", checkpoint_file, checkpoint.loader.epoch,
                            checkpoint.loader.batches_served));
  }
  if (leader) std::filesystem::create_directories(std::filesystem::path(checkpoint_file).parent_path());

  while (training.loader.epoch() < options.epochs) {
    const int epoch = static_cast<int>(training.loader.epoch());
    const std::int64_t bad_steps_before = skipped_steps(result.epochs);
    EpochResult epoch_result{.epoch = epoch, .lr = training.optimizer.lr(), .train = epoch_so_far};
    ProgressBar progress(output, options.progress_bar, epoch, training.loader.num_batches());
    optim::DivergenceReport report;
    const bool finished = train_epoch(training, spec, options, epoch, epoch_result.train, progress, report);
    progress.finish();
    if (!finished) {
      if (leader)
        save_checkpoint(checkpoint_file, training.checkpoint(spec, options.seed, result.epochs, epoch_result.train));
      result.interrupted = Interruption{epoch, training.loader.state().batches_served, checkpoint_file};
      finish_timing();
      return result;
    }
    epoch_result.skipped_steps = report.bad_steps - bad_steps_before;
    // scheduler.step(), after the epoch (lr_decay only)
    if (training.scheduler) training.scheduler->step();
    output.line(epoch_line(epoch_result));
    if (epoch_result.skipped_steps > 0)
      output.line(fmt::format("  {} steps skipped: NaN or Inf in the loss or a gradient", epoch_result.skipped_steps));
    result.epochs.push_back(epoch_result);
    epoch_so_far = {};
    if (leader) save_checkpoint(checkpoint_file, training.checkpoint(spec, options.seed, result.epochs, epoch_so_far));
  }
  if (!leader) {  // rank 0 saves the model and tests it
    finish_timing();
    return result;
  }
  nn::Sequential* net = training.net.get();

  // torch.save(net.state_dict(), PATH); net = Net(); net.load_state_dict(torch.load(PATH))
  std::filesystem::create_directories(std::filesystem::path(options.output_dir) / "models");
  result.model_path =
      (std::filesystem::path(options.output_dir) / "models" / (run_file_stem(options, spec.name) + ".safetensors"))
          .string();
  save_safetensors(result.model_path, net->state_dict(),
                   {{"format", "pt"}, {"run", spec.name}, {"epochs", std::to_string(options.epochs)},
                    {"seed", std::to_string(options.seed)}});
  Generator unused(0);
  std::unique_ptr<nn::Sequential> loaded = nn::make_study_net(spec.batch_norm, unused);
  loaded->load_state_dict(load_safetensors(result.model_path).tensors);
  loaded->to(options.device);

  data::DataLoader test_loader = make_loader(test, spec, /*shuffle=*/false, options.seed, options.device);
  loaded->eval();
  result.test = evaluate(*loaded, test_loader, &result.test_confusion);
  output.line(test_line(result.test));
  if (spec.batch_norm) {
    // The study's test loop never called net.eval(): BatchNorm normalized each test
    // batch with its own statistics. Measured after the eval-mode pass, because a
    // train-mode pass also moves the running statistics.
    loaded->train();
    result.test_batch_statistics = evaluate(*loaded, test_loader);
    output.line(test_line(*result.test_batch_statistics) + " (BatchNorm with batch statistics, as the study tested)");
  }
  finish_timing();
  return result;
}

}  // namespace minidl::study
