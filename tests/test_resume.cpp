// Training that survives faults: a study run stopped (by the program, SIGTERM or
// SIGKILL) and resumed with --resume ends with exactly the weights and results of a
// run that was never stopped; a kill while a checkpoint is written leaves the
// previous one loadable; a NaN stops a run with its epoch and step named.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint.h"
#include "minidl/core/safetensors.h"
#include "minidl/data/process.h"
#include "separable_cifar10.h"
#include "study.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::testing;
namespace fs = std::filesystem;

namespace {

// Every tensor of two safetensors files agrees bit for bit.
void require_same_tensors(const fs::path& expected, const fs::path& actual) {
  SafetensorsFile want = load_safetensors(expected.string());
  SafetensorsFile got = load_safetensors(actual.string());
  REQUIRE(want.tensors.size() == got.tensors.size());
  for (const auto& [name, tensor] : want.tensors) {
    INFO(name);
    REQUIRE(got.tensors.contains(name));
    REQUIRE(bitwise_equal(tensor, got.tensors.at(name)));
  }
}

void require_same_epochs(const std::vector<study::EpochResult>& want, const std::vector<study::EpochResult>& got) {
  REQUIRE(want.size() == got.size());
  for (std::size_t e = 0; e < want.size(); ++e) {
    REQUIRE(study::epoch_line(got[e]) == study::epoch_line(want[e]));
    REQUIRE(got[e].train.total_loss == want[e].train.total_loss);  // every bit, not just the printed digits
    REQUIRE(got[e].lr == want[e].lr);
  }
}

// results.csv without its last column, the seconds.
std::string results_without_seconds(const fs::path& csv) {
  std::ifstream file(csv);
  std::string rows;
  for (std::string line; std::getline(file, line);) rows += line.substr(0, line.rfind(',')) + "\n";
  return rows;
}

struct Splits {
  explicit Splits(const fs::path& dir, std::int64_t records_per_file) {
    write_separable_cifar10(dir, records_per_file);
    train = data::load_cifar10(dir.string(), data::Split::train, records_per_file);
    test = data::load_cifar10(dir.string(), data::Split::test, records_per_file);
  }
  data::Cifar10 train, test;
};

study::Output quiet() { return {.line = [](const std::string&) {}, .progress = [](const std::string&) {}}; }

}  // namespace

TEST_CASE("a run stopped mid-epoch or at an epoch's end and resumed ends as if never stopped, bit for bit") {
  TempDir dir;
  Splits splits(dir.path() / "data", 40);  // 200 training images: 20 steps per epoch at batch 10
  struct Stop {
    const char* run;
    int after_steps;
    int epoch;
  };
  // lr_decay (a scheduler) in epoch 1 after its step 7; batch_norm (running statistics)
  // after the last step of epoch 0.
  for (const Stop stop : {Stop{"lr_decay", 27, 1}, Stop{"batch_norm", 20, 0}}) {
    INFO("run " << stop.run << ", stopped after " << stop.after_steps << " steps");
    study::StudyOptions options{.epochs = 3, .output_dir = (dir.path() / "reference").string()};
    study::RunResult reference = study::run_study(study::find_run(stop.run), splits.train, splits.test, options, quiet());

    const fs::path out = dir.path() / "stopped" / stop.run;
    options.output_dir = out.string();
    int steps = 0;
    options.stop_requested = [&steps, stop] { return ++steps == stop.after_steps; };
    study::RunResult stopped = study::run_study(study::find_run(stop.run), splits.train, splits.test, options, quiet());
    REQUIRE(stopped.interrupted);
    REQUIRE(stopped.interrupted->epoch == stop.epoch);
    REQUIRE(stopped.interrupted->checkpoint_path == study::checkpoint_path(options, stop.run));
    REQUIRE_FALSE(fs::exists(out / "models"));

    options.stop_requested = nullptr;
    options.resume = true;
    study::RunResult resumed = study::run_study(study::find_run(stop.run), splits.train, splits.test, options, quiet());
    REQUIRE_FALSE(resumed.interrupted);
    require_same_epochs(reference.epochs, resumed.epochs);
    require_same_tensors(reference.model_path, resumed.model_path);
    REQUIRE(resumed.test.correct == reference.test.correct);
  }
}

TEST_CASE("resuming refuses a checkpoint of another run's settings and names the difference") {
  TempDir dir;
  Splits splits(dir.path() / "data", 20);
  study::StudyOptions options{.epochs = 1, .output_dir = dir.str()};
  study::run_study(study::find_run("control"), splits.train, splits.test, options, quiet());
  options.resume = true;
  options.seed = 2;
  REQUIRE_THROWS_MINIDL(study::run_study(study::find_run("control"), splits.train, splits.test, options, quiet()),
                        "control.safetensors was made with seed 1, this run has 2: run without --resume");
  options.seed = 1;
  options.batch_size = 20;
  REQUIRE_THROWS_MINIDL(study::run_study(study::find_run("control"), splits.train, splits.test, options, quiet()),
                        "was made with batch size 10, this run has 20");
  options.batch_size.reset();
  options.epochs = 3;  // more epochs than the checkpoint: training goes on
  REQUIRE(study::run_study(study::find_run("control"), splits.train, splits.test, options, quiet()).epochs.size() == 3);
  options.epochs = 2;
  REQUIRE_THROWS_MINIDL(study::run_study(study::find_run("control"), splits.train, splits.test, options, quiet()),
                        "has trained into epoch 2, beyond --epochs 2: ask for 3 epochs or more");

  std::ofstream(study::checkpoint_path(options, "control"), std::ios::trunc) << "not a checkpoint";
  REQUIRE_THROWS_MINIDL(study::run_study(study::find_run("control"), splits.train, splits.test, options, quiet()),
                        "control.safetensors: ");
  save_safetensors(study::checkpoint_path(options, "control"), {{"conv1.weight", Tensor::zeros({1})}});
  REQUIRE_THROWS_MINIDL(study::run_study(study::find_run("control"), splits.train, splits.test, options, quiet()),
                        "metadata \"format\" is missing");
}

TEST_CASE("resuming checks the whole checkpoint first and names the field out of range or inconsistent") {
  TempDir dir;
  Splits splits(dir.path() / "data", 40);  // 200 training images: 20 steps per epoch at batch 10
  study::StudyOptions options{.epochs = 3, .output_dir = dir.str()};
  int steps = 0;
  options.stop_requested = [&steps] { return ++steps == 27; };  // lr_decay: a scheduler; epoch 1, step 7
  REQUIRE(study::run_study(study::find_run("lr_decay"), splits.train, splits.test, options, quiet()).interrupted);
  options.stop_requested = nullptr;
  options.resume = true;
  const std::string path = study::checkpoint_path(options, "lr_decay");
  const SafetensorsFile good = load_safetensors(path);

  using Edit = std::function<void(SafetensorsFile&)>;
  auto set = [](const std::string& key, const std::string& value) -> Edit {
    return [=](SafetensorsFile& file) { file.metadata[key] = value; };
  };
  const std::vector<std::pair<Edit, std::string>> cases = {
      {set("loader.batches_served", "21"), "loader.batches_served is 21, expected 0 to 20 (steps per epoch)"},
      {set("loader.epoch", "-1"), "loader.epoch is -1, expected >= 0"},
      {set("epoch.total", "71"), "epoch.total is 71, expected 70 (the images of the 7 steps served)"},
      {set("epoch.correct", "80"), "epoch.correct is 80, expected 0 to 70 (epoch.total)"},
      {set("history", "[]"), "the history's length is 0, expected 1 (loader.epoch)"},
      {[](SafetensorsFile& file) {
         std::string& history = file.metadata["history"];
         history.replace(history.find("\"seconds\""), 9, "\"secs\"");
       },
       "metadata \"history\": unknown field \"secs\""},
      {set("optimizer.step_count", "5"), "optimizer.step_count is 5, expected 27 (1 epochs of 20 steps and 7 steps)"},
      {set("optimizer.momentum", "0x1.ccccccccccccdp-1"), "optimizer.momentum is 0.9, expected 0 (plain SGD)"},
      {set("optimizer.lr", "0x1p+0"), "optimizer.lr is 1, expected"},
      {set("scheduler.last_epoch", "4"), "scheduler.last_epoch is 4, expected 1 (loader.epoch)"},
      {set("scheduler.last_lr", "0x1p-1"), "scheduler.last_lr is 0.5, expected above 0 and at most 0.1"},
      {set("divergence.bad_steps", "-3"), "divergence.bad_steps is -3, expected 0 to 27 (the steps done)"},
      {set("divergence.first_bad_step", "3"), "divergence.first_bad_step is present but divergence.bad_steps is 0"},
      {set("surprise", "1"), "unknown metadata \"surprise\""},
      {[](SafetensorsFile& file) {
         Tensor& weight = file.tensors.at("model.fc1.weight");
         weight.data<float>()[5] = std::numeric_limits<float>::quiet_NaN();
       },
       "the model: \"fc1.weight\" holds nan at element 5: every value must be finite"},
      {[](SafetensorsFile& file) { file.tensors.erase("model.out.bias"); },
       "the model: load_state_dict: missing key \"out.bias\""},
      {[](SafetensorsFile& file) { file.tensors["model.extra"] = Tensor::zeros({1}); },
       "the model: load_state_dict: unexpected key \"extra\""},
      {[](SafetensorsFile& file) { file.tensors["optimizer.momentum_buffer.fc1.weight"] = Tensor::zeros({64, 512}); },
       "holds a momentum buffer (\"fc1.weight\"), but plain SGD keeps none"},
  };
  for (const auto& [edit, message] : cases) {
    INFO(message);
    SafetensorsFile bad = good;
    for (auto& [name, tensor] : bad.tensors) tensor = tensor.clone();
    edit(bad);
    save_safetensors(path, bad.tensors, bad.metadata);
    std::vector<std::string> lines;
    const study::Output output{.line = [&](const std::string& line) { lines.push_back(line); },
                               .progress = [](const std::string&) {}};
    REQUIRE_THROWS_MINIDL(study::run_study(study::find_run("lr_decay"), splits.train, splits.test, options, output),
                          "checkpoint " + path + ": " + message);
    for (const std::string& line : lines) REQUIRE_THAT(line, !Catch::Contains("resumed"));
  }
  // The untouched checkpoint resumes.
  save_safetensors(path, good.tensors, good.metadata);
  REQUIRE(study::run_study(study::find_run("lr_decay"), splits.train, splits.test, options, quiet()).epochs.size() == 3);
}

TEST_CASE("a NaN stops a run with its epoch and step named, or with the skip policy is skipped") {
  TempDir dir;
  Splits splits(dir.path() / "data", 20);  // 100 training images: 10 steps per epoch at batch 10
  study::StudyOptions options{.epochs = 2, .lr = 1e30, .output_dir = dir.str()};
  REQUIRE_THROWS_MINIDL(
      study::run_study(study::find_run("control"), splits.train, splits.test, options, quiet()),
      "run control diverged at epoch 0, step 1 (of 10 steps per epoch, counted from 0): the loss or a gradient "
      "became NaN or Inf, and the weights were kept from before that step");

  options.on_divergence = optim::DivergencePolicy::skip_bad_steps;
  std::vector<std::string> lines;
  study::RunResult result = study::run_study(study::find_run("control"), splits.train, splits.test, options,
                                             {.line = [&lines](const std::string& line) { lines.push_back(line); },
                                              .progress = [](const std::string&) {}});
  REQUIRE(result.epochs.size() == 2);
  REQUIRE(result.epochs[0].skipped_steps >= 1);
  REQUIRE(lines[1].ends_with("steps skipped: NaN or Inf in the loss or a gradient"));
  for (const auto& [name, tensor] : load_safetensors(result.model_path).tensors) {
    INFO(name);
    const float* values = tensor.data<float>();
    for (std::int64_t i = 0; i < tensor.numel(); ++i) REQUIRE(std::isfinite(values[i]));
  }
}

namespace {

// The study binary on the separable data: 3 epochs of control, 30 steps each.
struct StudyBinary {
  TempDir dir;
  fs::path data = dir.path() / "data";
  StudyBinary() { write_separable_cifar10(data, 60); }
  std::vector<std::string> argv(const fs::path& out, bool resume) const {
    std::vector<std::string> args = {MINIDL_STUDY_BINARY, "--data-dir", data.string(), "--records-per-file", "60",
                                     "--runs", "control", "--epochs", "3", "--device", "cpu", "--output-dir",
                                     out.string()};
    if (resume) args.push_back("--resume");
    return args;
  }
  // A run that is never stopped, the one to compare with.
  void run_reference() const {
    data::ProcessResult reference = data::run_process(argv(dir.path() / "reference", false));
    INFO(reference.output);
    REQUIRE(reference.exit_status == 0);
  }
  // The run that wrote to out ended with the reference's weights, bit for bit, and its
  // results (but for the seconds).
  void require_same_as_reference(const fs::path& out) const {
    require_same_tensors(dir.path() / "reference" / "models" / "control.safetensors",
                         out / "models" / "control.safetensors");
    REQUIRE(results_without_seconds(out / "results.csv") ==
            results_without_seconds(dir.path() / "reference" / "results.csv"));
  }
};

}  // namespace

TEST_CASE("SIGTERM mid-epoch makes the study save and exit 0, and --resume finishes with the same weights") {
  StudyBinary study;
  study.run_reference();
  const fs::path out = study.dir.path() / "stopped";
  data::ProcessResult stopped = data::run_process(
      study.argv(out, false), {.signal = SIGTERM, .seconds = 0.05, .after_output = "epoch: 0 correct times"});
  INFO(stopped.output);
  REQUIRE(stopped.exit_status == 0);
  REQUIRE_THAT(stopped.output, Catch::Contains("study: stopped by SIGTERM in run control at epoch 1 after step "));
  REQUIRE_THAT(stopped.output, Catch::Contains("`--resume` with the same flags goes on from there"));
  REQUIRE(fs::exists(out / "checkpoints" / "control.safetensors"));
  REQUIRE_FALSE(fs::exists(out / "results.csv"));

  data::ProcessResult resumed = data::run_process(study.argv(out, true));
  INFO(resumed.output);
  REQUIRE(resumed.exit_status == 0);
  REQUIRE_THAT(resumed.output, Catch::Contains("resumed from "));
  study.require_same_as_reference(out);
}

TEST_CASE("a study killed with SIGKILL at random moments and resumed each time ends with the same weights") {
  StudyBinary study;
  study.run_reference();

  const unsigned seed = std::random_device{}();
  INFO("random seed " << seed);
  std::mt19937 random(seed);
  const fs::path out = study.dir.path() / "killed";
  int kills = 0;
  for (int attempt = 1;; ++attempt) {
    REQUIRE(attempt <= 40);
    // Later attempts wait longer, so that a slow machine still finishes an epoch.
    const double seconds = std::uniform_real_distribution<double>(0.05, 0.4 * attempt)(random);
    data::ProcessResult result = data::run_process(study.argv(out, true), {.signal = SIGKILL, .seconds = seconds});
    INFO(result.output);
    if (result.exit_status == 0) break;
    REQUIRE(result.exit_status == 128 + SIGKILL);
    ++kills;
  }
  REQUIRE(kills >= 1);
  study.require_same_as_reference(out);
}

TEST_CASE("a SIGKILL while a checkpoint is written leaves the previous checkpoint loadable and the next write clears its litter") {
  TempDir dir;
  const std::string path = (dir.path() / "run.safetensors").string();
  // Two checkpoints of 16 MB, told apart by their epoch; each write takes a while.
  auto checkpoint_of_epoch = [](std::int64_t epoch) {
    study::Checkpoint checkpoint{.run = "control", .loader = {.epoch = epoch}};
    checkpoint.model["weight"] = Tensor::full({4'000'000}, static_cast<double>(epoch));
    return checkpoint;
  };
  study::save_checkpoint(path, checkpoint_of_epoch(0));
  std::mt19937 random(std::random_device{}());
  for (int kill = 0; kill < 5; ++kill) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // writes checkpoints of epochs 1, 2, 3, ... until killed
      for (std::int64_t epoch = 1;; ++epoch) study::save_checkpoint(path, checkpoint_of_epoch(epoch));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 300)(random)));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));

    study::Checkpoint loaded = study::load_checkpoint(path);
    const Tensor& weight = loaded.model.at("weight");
    REQUIRE(weight.numel() == 4'000'000);
    const float expected = static_cast<float>(loaded.loader.epoch);
    REQUIRE(weight.data<float>()[0] == expected);
    REQUIRE(weight.data<float>()[weight.numel() - 1] == expected);
  }
  // The killed writers' temporary files are gone after the next write; so is one of a
  // process that surely ended (reaped), while one of a live process (this one) stays.
  const pid_t ended = ::fork();
  REQUIRE(ended >= 0);
  if (ended == 0) ::_exit(0);
  ::waitpid(ended, nullptr, 0);
  const std::string ended_leftover = path + ".tmp-" + std::to_string(ended) + "-0";
  const std::string live_leftover = path + ".tmp-" + std::to_string(::getpid()) + "-999";
  std::ofstream(ended_leftover) << "partial";
  std::ofstream(live_leftover) << "in progress";
  study::save_checkpoint(path, checkpoint_of_epoch(9));
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  REQUIRE(names == std::vector<std::string>{"run.safetensors", "run.safetensors.tmp-" + std::to_string(::getpid()) + "-999"});
}
