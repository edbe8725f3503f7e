// The CIFAR-10 study: five ways to train one small CNN with plain SGD, and what
// each reaches on the test set. This is the code path of the `study` example;
// tests drive it on small synthetic data sets.
//
//   run               batch  lr               other                          study's test accuracy
//   control           10     0.1              normalized, shuffled           44.75 %
//   large_batch       100    0.1                                             ~71 %
//   lr_decay          10     0.1 x0.8/epoch   (ExponentialLR, gamma 0.8)     ~71 %
//   batch_norm        10     0.1              BatchNorm2d after each conv    ~73 %
//   no_preprocessing  100    0.1              no Normalize, no shuffle       ~65 %
//
// One run, as the study's PyTorch code does it:
//   for epoch: for batch: zero_grad; loss = criterion(net(images), labels); backward; step
//              total_loss += loss (the batch's mean, summed in double); correct += argmax hits
//              print "epoch: 0 correct times: 20931 training accuracy: 41.862 % total_loss: 8056.230"
//              scheduler.step() (lr_decay only)
//   save the model (safetensors), load it into a fresh network, test in eval mode,
//   and for batch_norm also with batch statistics (the study's own test never called eval()).
//
// Beyond the study's code, for runs that take hours:
//   - a checkpoint of the whole training state (checkpoint.h) at each epoch's end and when
//     stop_requested() turns true (the program's SIGINT/SIGTERM), after the step in
//     progress; with resume, a run goes on from its checkpoint, bit for bit;
//   - a divergence guard (optim/divergence_guard.h): a NaN or Inf in the loss or a
//     gradient stops the run, naming the epoch and step (the weights are kept from
//     before it), or with DivergencePolicy::skip_bad_steps skips those steps and goes on.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "minidl/core/device.h"
#include "minidl/core/error.h"
#include "minidl/data/cifar10.h"
#include "minidl/distributed/communicator.h"
#include "minidl/optim/divergence_guard.h"

namespace minidl::study {

struct RunSpec {
  std::string name;         // "control", ...
  std::string description;  // what differs from the control
  std::int64_t batch_size;
  double lr;
  double lr_gamma;  // ExponentialLR's factor per epoch; 1 for a constant lr
  bool batch_norm;
  bool normalize;  // Normalize(mean, std) after /255
  bool shuffle;
  double study_test_accuracy;  // percent, as the study reported it
  bool study_accuracy_approximate;
};

// The five runs, in the order above.
const std::vector<RunSpec>& study_runs();
// The run with this name; throws Error listing the names otherwise.
const RunSpec& find_run(const std::string& name);

struct StudyOptions {
  int epochs = 10;
  std::optional<std::int64_t> batch_size;  // overrides every run's
  std::optional<double> lr;                // overrides every run's
  Device device = Device::cpu();
  std::uint64_t seed = 1;          // initial weights and shuffling
  std::string file_suffix;         // after the run's name in its checkpoint and model files: "-seed2", "-b100-lr0.3"
  std::string output_dir = "study-results";
  bool progress_bar = false;       // redraws one line while an epoch runs (a terminal)
  bool resume = false;             // go on from output_dir/checkpoints/<run>.safetensors when it exists
  optim::DivergencePolicy on_divergence = optim::DivergencePolicy::stop;
  bool graphs = false;             // each training step one CUDA graph replay (Training::step); CUDA only
  std::int64_t divergence_poll_steps = 100;  // how often the host reads the guard, besides each epoch's end
  std::function<bool()> stop_requested;      // polled after each step; true: save a checkpoint and return
  // Data parallel over the communicator's ranks (--distributed, docs/distributed.md): every
  // rank trains its shard of each batch; rank 0 alone writes checkpoints and the model,
  // and tests; every rank reads a checkpoint to resume from. A stop that any rank's
  // stop_requested() asks for is agreed on after the step, and every rank stops there.
  distributed::Communicator* communicator = nullptr;
};

// Every rank trains; rank 0 alone prints, writes files and tests (data parallel). True
// for a single process.
bool is_leader(const StudyOptions& options);

// options.stop_requested(), agreed on by every rank in data parallel: true on every rank
// when it is true on any (a signal may reach the ranks at different steps; all stop at
// the same one). Every rank must call it at the same point.
bool stop_requested_by_any_rank(const StudyOptions& options);

// A run's files are named <run><options.file_suffix>.
std::string run_file_stem(const StudyOptions& options, const std::string& run);
// Where a run's checkpoint lives: output_dir/checkpoints/<stem>.safetensors.
std::string checkpoint_path(const StudyOptions& options, const std::string& run);

// One pass over a data set.
struct PassResult {
  std::int64_t correct = 0;
  std::int64_t total = 0;
  double total_loss = 0.0;  // sum over batches of the batch's mean loss
  double seconds = 0.0;
  double accuracy() const { return total > 0 ? 100.0 * static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
};

struct EpochResult {
  int epoch = 0;
  double lr = 0.0;  // the lr this epoch trained with
  PassResult train;
  std::int64_t skipped_steps = 0;  // DivergencePolicy::skip_bad_steps: steps with a NaN or Inf
};

// Where stop_requested() stopped a run: its training state is in the checkpoint.
struct Interruption {
  int epoch = 0;
  std::int64_t steps_done = 0;  // of the epoch
  std::string checkpoint_path;
};

struct RunResult {
  RunSpec spec;               // with the overrides applied
  std::uint64_t seed = 0;     // the seed it ran with (StudyOptions::seed)
  std::vector<EpochResult> epochs;
  PassResult test;            // eval mode (running statistics), after reloading the saved model
  std::vector<std::int64_t> test_confusion;  // of `test`: 10 x 10, [true class * 10 + predicted class]
  std::optional<PassResult> test_batch_statistics;  // batch_norm only: train-mode BatchNorm, as the study tested
  std::string model_path;     // the saved safetensors file
  double seconds = 0.0;       // the whole run: training, saving, loading, testing (wall clock)
  double cpu_seconds = 0.0;   // the process's CPU time over the run, all threads
  std::optional<Interruption> interrupted;  // set when the run stopped early: then nothing was tested
};

// Where the lines a run prints go (stdout in the example), and the progress bar's
// redraws ("\r..." without a newline).
struct Output {
  std::function<void(const std::string& line)> line;
  std::function<void(const std::string& partial)> progress;
};

// The Error run_study throws when training diverged under the stop policy (a grid of
// batch sizes and learning rates marks such a cell and goes on).
class Diverged : public Error {
 public:
  using Error::Error;
};

// Trains and tests one run on these splits; saves the model under
// options.output_dir/models/<run>.safetensors. Throws Error when a checkpoint to
// resume from does not match the run, or when training diverged under the stop policy.
RunResult run_study(const RunSpec& spec, const data::Cifar10& train, const data::Cifar10& test,
                    const StudyOptions& options, const Output& output);

// The study's per-epoch line: "epoch: 0 correct times: 20931 training accuracy: 41.862 % total_loss: 8056.230".
std::string epoch_line(const EpochResult& epoch);
// The study's test line: "correct times: 4475 test accuracy: 44.750 % total_loss: 1604.812".
std::string test_line(const PassResult& test);

}  // namespace minidl::study
