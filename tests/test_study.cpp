// The study's code path end to end, on a small synthetic CIFAR-format data set
// that a CNN can learn: each class is a bright 8x8 square at its own place in one
// colour channel, over uniform noise. Tests never read the real data.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli.h"
#include "core/safetensors.h"
#include "data/process.h"
#include "data_test_files.h"
#include "report.h"
#include "study.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

constexpr std::int64_t kRecordsPerFile = 200;  // 1,000 training and 200 test images

// Label index % 10; the square of class c sits at block (c % 4, c / 4) of a 4x4
// grid of 8x8 blocks, in channel c % 3, with values 192..255; the rest is noise in 0..63.
std::vector<std::uint8_t> separable_records(std::int64_t first, std::int64_t count, std::uint64_t seed) {
  Generator generator(seed);
  std::vector<std::uint8_t> bytes;
  for (std::int64_t index = first; index < first + count; ++index) {
    const int label = static_cast<int>(index % 10);
    bytes.push_back(static_cast<std::uint8_t>(label));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          const bool square = c == label % 3 && y / 8 == label / 4 && x / 8 == label % 4;
          const auto noise = static_cast<std::uint8_t>(generator.next_below(64));
          bytes.push_back(square ? static_cast<std::uint8_t>(192 + noise) : noise);
        }
  }
  return bytes;
}

void write_separable_cifar10(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::uint64_t seed = 100;
  for (data::Split split : {data::Split::train, data::Split::test}) {
    std::int64_t first = 0;
    for (const std::string& name : data::cifar10_file_names(split)) {
      write_bytes(dir / name, separable_records(first, kRecordsPerFile, seed++));
      first += kRecordsPerFile;
    }
  }
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

study::Output collect(std::vector<std::string>& lines) {
  return {.line = [&lines](const std::string& line) { lines.push_back(line); }, .progress = [](const std::string&) {}};
}

}  // namespace

TEST_CASE("every study run learns a separable data set and reloads its saved model") {
  TempDir dir;
  write_separable_cifar10(dir.path() / "data");
  const data::Cifar10 train = data::load_cifar10((dir.path() / "data").string(), data::Split::train, kRecordsPerFile);
  const data::Cifar10 test = data::load_cifar10((dir.path() / "data").string(), data::Split::test, kRecordsPerFile);
  for (const study::RunSpec& spec : study::study_runs()) {
    INFO("run " << spec.name);
    study::StudyOptions options{.epochs = 3, .output_dir = (dir.path() / "out").string()};
    // At batch 100, 1,000 images are only 10 steps an epoch: too few to learn in a
    // test's time. Those runs train at batch 20 here (50 steps), all else as specified.
    if (spec.batch_size == 100) options.batch_size = 20;
    std::vector<std::string> lines;
    study::RunResult result = study::run_study(spec, train, test, options, collect(lines));
    REQUIRE(result.epochs.size() == 3);
    REQUIRE(result.epochs[0].train.total == 1000);
    REQUIRE(result.spec.batch_size == options.batch_size.value_or(spec.batch_size));
    REQUIRE(result.test.total == 200);
    // The study's lines: one per epoch, then the test.
    REQUIRE(lines.size() == (spec.batch_norm ? 5u : 4u));
    REQUIRE(lines[0].starts_with("epoch: 0 correct times: "));
    REQUIRE(lines[3].starts_with("correct times: "));
    // lr decay multiplies the lr by 0.8 after each epoch.
    REQUIRE(result.epochs[2].lr == Approx(spec.lr * spec.lr_gamma * spec.lr_gamma));
    // Training helps, and the reloaded model classifies the test set well.
    REQUIRE(result.epochs[2].train.total_loss < result.epochs[0].train.total_loss);
    CHECK(result.test.accuracy() >= 90.0);
    if (spec.batch_norm) REQUIRE(result.test_batch_statistics.has_value());
    SafetensorsFile saved = load_safetensors(result.model_path);
    REQUIRE(saved.tensors.count("fc1.weight") == 1);
    REQUIRE(saved.tensors.count("bn1.num_batches_tracked") == (spec.batch_norm ? 1u : 0u));
  }
}

TEST_CASE("the study's lines have the study's format") {
  study::EpochResult epoch{.epoch = 0, .lr = 0.1, .train = {.correct = 20931, .total = 50000, .total_loss = 8056.2304}};
  REQUIRE(study::epoch_line(epoch) ==
          "epoch: 0 correct times: 20931 training accuracy: 41.862 % total_loss: 8056.230");
  study::PassResult test{.correct = 4475, .total = 10000, .total_loss = 1604.8123};
  REQUIRE(study::test_line(test) == "correct times: 4475 test accuracy: 44.750 % total_loss: 1604.812");
}

TEST_CASE("the study's flags are parsed and bad ones are named") {
  auto parse = [](std::vector<const char*> args) {
    args.insert(args.begin(), "study");
    return study::parse_study_args(static_cast<int>(args.size()), args.data());
  };
  study::StudyArgs args = parse({"--runs", "lr_decay,control", "--epochs=2", "--lr", "0.05", "--device", "cpu",
                                 "--threads", "1", "--seed", "7", "--implementation", "conv2d=reference"});
  REQUIRE(args.runs == std::vector<std::string>{"control", "lr_decay"});  // the study's order
  REQUIRE(args.options.epochs == 2);
  REQUIRE(*args.options.lr == 0.05);
  REQUIRE(args.options.seed == 7);
  REQUIRE(args.threads == 1);
  REQUIRE(args.implementations.size() == 1);
  REQUIRE(parse({}).runs.size() == 5);
  REQUIRE(parse({"--help"}).help);

  REQUIRE_THROWS_MINIDL(parse({"--batch-size", "0"}), "--batch-size: 0 is out of range (1 to 1000000000)");
  REQUIRE_THROWS_MINIDL(parse({"--epochs", "0"}), "--epochs: 0 is out of range");
  REQUIRE_THROWS_MINIDL(parse({"--epochs", "ten"}), "--epochs: 'ten' is not a whole number");
  REQUIRE_THROWS_MINIDL(parse({"--lr", "-0.1"}), "--lr: must be finite and positive, got -0.1");
  REQUIRE_THROWS_MINIDL(parse({"--lr", "nan"}), "--lr: must be finite and positive, got nan");
  REQUIRE_THROWS_MINIDL(parse({"--lr", "0.1x"}), "--lr: '0.1x' is not a number");
  REQUIRE_THROWS_MINIDL(parse({"--runs", "control,fast"}), "unknown run 'fast'");
  REQUIRE_THROWS_MINIDL(parse({"--device", "tpu"}), "tpu");
  REQUIRE_THROWS_MINIDL(parse({"--colour"}), "--colour: missing value");
  REQUIRE_THROWS_MINIDL(parse({"--colour", "red"}), "unknown flag '--colour'");
  REQUIRE_THROWS_MINIDL(parse({"extra"}), "unexpected argument 'extra'");
  REQUIRE_THROWS_MINIDL(parse({"--implementation", "conv2d"}), "expected OP=IMPL");
  REQUIRE_THROWS_MINIDL(parse({"--threads", "0"}), "--threads: 0 is out of range");
}

TEST_CASE("the study binary writes its results report and plots") {
  TempDir dir;
  write_separable_cifar10(dir.path() / "data");
  const std::string out = (dir.path() / "out").string();
  data::ProcessResult result = data::run_process(
      {MINIDL_STUDY_BINARY, "--data-dir", (dir.path() / "data").string(), "--records-per-file", "200", "--runs",
       "large_batch,no_preprocessing", "--epochs", "2", "--device", "cpu", "--output-dir", out});
  INFO(result.output);
  REQUIRE(result.exit_status == 0);
  REQUIRE_THAT(result.output, Catch::Contains("minidl study: device cpu"));
  REQUIRE_THAT(result.output, Catch::Contains("implementations: conv2d=gemm"));
  REQUIRE_THAT(result.output, Catch::Contains("epoch: 1 correct times: "));

  const std::string csv = read_text(dir.path() / "out" / "results.csv");
  REQUIRE(csv.starts_with("run,phase,epoch,lr,batch_size,correct,total,accuracy,total_loss,seconds\n"));
  REQUIRE_THAT(csv, Catch::Contains("large_batch,train,1,0.1,100,"));
  REQUIRE_THAT(csv, Catch::Contains("no_preprocessing,test,,,100,"));
  REQUIRE_THAT(read_text(dir.path() / "out" / "results.json"), Catch::Contains("\"study_test_accuracy\": 65.0"));
  const std::string report = read_text(dir.path() / "out" / "report.md");
  REQUIRE_THAT(report, Catch::Contains("| large_batch | 100 | 0.1 |"));
  REQUIRE_THAT(report, Catch::Contains("preprocessing (Normalize + shuffle) helps at batch 100"));
  for (const char* plot : {"training_accuracy.png", "training_loss.png", "test_accuracy.png"}) {
    INFO(plot);
    REQUIRE(std::filesystem::file_size(dir.path() / "out" / plot) > 1000);
  }

  // The predict example reads a saved model and names the classes of test images.
  data::ProcessResult predicted = data::run_process(
      {MINIDL_PREDICT_BINARY, "--model", out + "/models/large_batch.safetensors", "--data-dir",
       (dir.path() / "data").string(), "--records-per-file", "200", "--first", "10", "--count", "3"});
  INFO(predicted.output);
  REQUIRE(predicted.exit_status == 0);
  REQUIRE_THAT(predicted.output, Catch::Contains("(plain network), test images 10..12"));
  REQUIRE_THAT(predicted.output, Catch::Contains("true airplane"));  // image 10 has label 10 % 10 = 0
  REQUIRE_THAT(predicted.output, Catch::Contains(" of 3 correct"));
}

TEST_CASE("the study binary refuses bad input with a message and no results") {
  TempDir dir;
  write_separable_cifar10(dir.path() / "data");
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {MINIDL_STUDY_BINARY, "--data-dir", (dir.path() / "data").string(),
                               "--records-per-file", "200", "--output-dir", (dir.path() / "out").string()});
    return data::run_process(args);
  };
  data::ProcessResult too_big = run({"--batch-size", "5000"});
  REQUIRE(too_big.exit_status == 1);
  REQUIRE_THAT(too_big.output, Catch::Contains("study: run control: batch size 5000 is larger than the data"));
  data::ProcessResult missing = data::run_process({MINIDL_STUDY_BINARY, "--data-dir",
                                                   (dir.path() / "nowhere").string()});
  REQUIRE(missing.exit_status == 1);
  REQUIRE_THAT(missing.output, Catch::Contains("data_batch_1.bin"));
  REQUIRE_FALSE(std::filesystem::exists(dir.path() / "out"));
}

TEST_CASE("a study run on cuda trains and tests on the device") {
  if (skip_unless_cuda()) return;
  // Full-size 32x32 convolutions take minutes in the emulator, whose kernel tests
  // cover these code paths on small shapes: this case is for a real GPU.
  if (cuda_is_emulated()) {
    Catch::cout() << "skipped: the study network is too slow in the CUDA emulator\n";
    return;
  }
  TempDir dir;
  write_separable_cifar10(dir.path() / "data");
  const data::Cifar10 train = data::load_cifar10((dir.path() / "data").string(), data::Split::train, kRecordsPerFile);
  const data::Cifar10 test = data::load_cifar10((dir.path() / "data").string(), data::Split::test, kRecordsPerFile);
  for (const char* run : {"control", "batch_norm"}) {
    INFO("run " << run);
    std::vector<std::string> lines;
    study::StudyOptions options{.epochs = 3, .device = Device::cuda(), .output_dir = (dir.path() / "out").string()};
    study::RunResult result = study::run_study(study::find_run(run), train, test, options, collect(lines));
    REQUIRE(result.epochs[0].train.total == 1000);
    REQUIRE(result.test.total == 200);
    CHECK(result.test.accuracy() >= 90.0);
    // The model saved from the device loads on the CPU.
    REQUIRE(load_safetensors(result.model_path).tensors.at("conv1.weight").device().is_cpu());
  }
}
