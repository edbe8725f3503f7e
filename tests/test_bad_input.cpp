// What a user sees for bad input: the programs `study` and `predict` stop with exit
// status 1 and one line naming the problem, and leave no results behind or earlier
// results as they were. The readers' own specifications go further, one message per
// way a file can be broken (test_data.cpp, test_safetensors.cpp); so do the flags
// (test_study.cpp) and load_state_dict (test_layers.cpp).
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "minidl/core/directory_lock.h"
#include "minidl/core/safetensors.h"
#include "minidl/data/cifar10.h"
#include "minidl/data/process.h"
#include "data_test_files.h"
#include "minidl/layers/cross_entropy_loss.h"
#include "minidl/layers/networks.h"
#include "minidl/optim/sgd.h"
#include "special_files.h"
#include "test_support.h"
#if defined(MINIDL_CUDA_EMULATOR)
#include "minidl/core/cuda_api.h"
#include "minidl/core/cuda_runtime.h"
#include "minidl/core/emulator/emulator.h"
#include "minidl/layers/activation.h"
#include "minidl/layers/conv2d.h"
#include "minidl/layers/linear.h"
#endif

using namespace minidl;
using namespace minidl::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kRecords = 20;  // per file: 100 training and 20 test images
constexpr std::int64_t kFileBytes = kRecords * data::kCifar10RecordBytes;

// A directory with the six data files and where the study's results would go.
struct StudySetup {
  TempDir dir;
  fs::path data = dir.path() / "data";
  fs::path out = dir.path() / "out";
  StudySetup() { write_synthetic_cifar10(data, kRecords); }

  // study on this data, one epoch of the control run on the CPU, with more flags
  // (a flag given twice takes its last value).
  data::ProcessResult study(const std::vector<std::string>& flags) const {
    std::vector<std::string> argv = {MINIDL_STUDY_BINARY, "--data-dir", data.string(), "--records-per-file",
                                     std::to_string(kRecords), "--output-dir", out.string(), "--runs", "control",
                                     "--epochs", "1", "--device", "cpu"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return data::run_process(argv);
  }
  data::ProcessResult predict(const std::string& model) const {
    return data::run_process({MINIDL_PREDICT_BINARY, "--model", model, "--data-dir", data.string(),
                              "--records-per-file", std::to_string(kRecords), "--count", "3"});
  }
};

std::string read_text(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The run failed as a user sees it: exit status 1 and the message on its output.
void require_failure(const data::ProcessResult& result, const std::string& message) {
  INFO(result.output);
  REQUIRE(result.exit_status == 1);
  REQUIRE_THAT(result.output, Catch::Contains(message));
}

// A model file of the study's network initialised from seed 1, changed by edit first.
std::string write_model(const fs::path& path, bool batch_norm,
                        const std::function<void(std::map<std::string, Tensor>&)>& edit = {}) {
  Generator generator(1);
  std::map<std::string, Tensor> state = nn::make_study_net(batch_norm, generator)->state_dict();
  if (edit) edit(state);
  save_safetensors(path.string(), state);
  return path.string();
}

}  // namespace

TEST_CASE("study names a data file that is missing or too short or too long or has a label outside 0 to 9") {
  StudySetup setup;
  const fs::path file = setup.data / "data_batch_2.bin";
  std::vector<std::uint8_t> records = synthetic_records(0, kRecords);

  write_bytes(file, std::vector<std::uint8_t>(records.begin(), records.end() - 1));
  require_failure(setup.study({}), fmt::format("study: data/cifar10: {} is too short: {} bytes, expected {} "
                                               "(20 records of 3073 bytes)",
                                               file.string(), kFileBytes - 1, kFileBytes));
  std::vector<std::uint8_t> longer = records;
  longer.push_back(0);
  write_bytes(file, longer);
  require_failure(setup.study({}), fmt::format("study: data/cifar10: {} is too long: {} bytes, expected {} "
                                               "(20 records of 3073 bytes)",
                                               file.string(), kFileBytes + 1, kFileBytes));
  records[3 * data::kCifar10RecordBytes] = 10;
  write_bytes(file, records);
  require_failure(setup.study({}), "study: data/cifar10: " + file.string() + ": record 3 has label 10, expected 0..9");
  fs::remove(file);
  require_failure(setup.study({}), "study: data/cifar10: missing file " + file.string() +
                                       ": put the CIFAR-10 binary files (cifar-10-batches-bin) there");
  REQUIRE_FALSE(fs::exists(setup.out));
}

TEST_CASE("study names a data directory that is a file or that it cannot read") {
  StudySetup setup;
  const fs::path not_a_directory = setup.dir.path() / "data.tar";
  write_bytes(not_a_directory, {1, 2, 3});
  require_failure(setup.study({"--data-dir", not_a_directory.string()}),
                  "study: data/cifar10: " + not_a_directory.string() + " is not a directory");

  // Permissions do not stop root, who runs the tests in some containers.
  if (::geteuid() != 0) {
    ::chmod(setup.data.c_str(), 0);
    data::ProcessResult result = setup.study({});
    ::chmod(setup.data.c_str(), 0755);
    require_failure(result, "study: data/cifar10: " + (setup.data / "data_batch_1.bin").string() +
                                ": cannot open: Permission denied");
  }
  REQUIRE_FALSE(fs::exists(setup.out));
}

TEST_CASE("a FIFO or socket or directory or device given as a data file or model or checkpoint is refused at once") {
  StudySetup setup;
  // A program still blocked after 20 s is killed: exit status 137, and the test fails.
  const data::ScheduledSignal hang_guard{.signal = SIGKILL, .seconds = 20.0};
  const fs::path data_file = setup.data / "data_batch_3.bin";
  const fs::path model = setup.dir.path() / "model.safetensors";
  const fs::path checkpoint = setup.out / "checkpoints" / "control.safetensors";
  const std::vector<std::string> study_flags = {
      MINIDL_STUDY_BINARY, "--data-dir", setup.data.string(), "--records-per-file", std::to_string(kRecords),
      "--output-dir", setup.out.string(), "--runs", "control", "--epochs", "1", "--device", "cpu"};
  for (const std::string& kind : kSpecialFileKinds) {
    INFO(kind);
    make_special_file(kind, data_file.string());
    require_failure(data::run_process(study_flags, hang_guard),
                    "study: data/cifar10: " + data_file.string() + ": " + kind + ", not a regular file");
    fs::remove_all(data_file);
    write_bytes(data_file, synthetic_records(0, kRecords));

    make_special_file(kind, model.string());
    require_failure(data::run_process({MINIDL_PREDICT_BINARY, "--model", model.string(), "--data-dir",
                                       setup.data.string(), "--records-per-file", std::to_string(kRecords)},
                                      hang_guard),
                    "predict: safetensors: " + model.string() + ": " + kind + ", not a regular file");

    fs::create_directories(checkpoint.parent_path());
    make_special_file(kind, checkpoint.string());
    std::vector<std::string> resume = study_flags;
    resume.push_back("--resume");
    require_failure(data::run_process(resume, hang_guard),
                    "safetensors: " + checkpoint.string() + ": " + kind + ", not a regular file");
    fs::remove_all(setup.out);
  }
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
  REQUIRE(file.good());
}

// Is there a program of this name in PATH?
bool in_path(const std::string& program) {
  return data::run_process({"sh", "-c", "command -v " + program}).exit_status == 0;
}

// The files below dir whose names start with prefix.
std::vector<std::string> files_named(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().filename().string().starts_with(prefix)) found.push_back(entry.path().string());
  return found;
}

TEST_CASE("an output directory named with quotes and semicolons and command substitutions and backslashes and "
          "newlines gets plots and runs nothing") {
  if (!in_path("gnuplot")) {
    Catch::cout() << "skipped: no gnuplot (scripts/setup installs it)\n";
    return;
  }
  StudySetup setup;
  // Once pasted into gnuplot's script as cd '<dir>': the quote ended the string and
  // gnuplot's system() ran the rest.
  const fs::path out = setup.dir.path() / "out'; system(\"touch pwned\"); '$(touch pwned)`touch pwned`\\ \"a\nb";
  const data::ProcessResult result = setup.study({"--output-dir", out.string()});
  INFO(result.output);
  REQUIRE(result.exit_status == 0);
  REQUIRE_THAT(result.output, !Catch::Contains("no plots"));
  for (const char* plot : {"training_accuracy.png", "training_loss.png", "test_accuracy.png"})
    REQUIRE(fs::file_size(out / plot) > 1000);
  REQUIRE(files_named(setup.dir.path(), "pwned").empty());
  REQUIRE(files_named(fs::current_path(), "pwned").empty());
  REQUIRE(files_named(setup.dir.path(), "training_accuracy.png.tmp").empty());
}

TEST_CASE("a failing gnuplot leaves no empty plot and no temporary file and no plot of an earlier study") {
  StudySetup setup;
  // A gnuplot that creates every file its script names as output, empty, and fails:
  // what a gnuplot that dies mid-way leaves.
  const fs::path bin = setup.dir.path() / "bin";
  fs::create_directories(bin);
  write_text(bin / "gnuplot",
             "#!/bin/sh\nsed -n \"s/^set output '\\(.*\\)'$/\\1/p\" \"$1\" | while read -r f; do : > \"$f\"; done\n"
             "echo 'gnuplot: cannot draw' >&2\nexit 1\n");
  fs::permissions(bin / "gnuplot", fs::perms::owner_all);
  const bool have_gnuplot = in_path("gnuplot");
  if (have_gnuplot) REQUIRE(setup.study({}).exit_status == 0);  // an earlier study's plots

  const std::string path = std::getenv("PATH");
  ::setenv("PATH", (bin.string() + ":" + path).c_str(), 1);
  const data::ProcessResult result = setup.study({});
  ::setenv("PATH", path.c_str(), 1);
  INFO(result.output);
  REQUIRE(result.exit_status == 0);  // the results are complete without plots
  REQUIRE_THAT(result.output, Catch::Contains("study: warning: no plots: gnuplot failed with status 1: gnuplot: "
                                              "cannot draw"));
  for (const char* plot : {"training_accuracy.png", "training_loss.png", "test_accuracy.png"})
    REQUIRE_FALSE(fs::exists(setup.out / plot));
  REQUIRE(files_named(setup.out, "training_").empty());
  REQUIRE(files_named(setup.out, "test_accuracy").empty());
  REQUIRE_THAT(read_text(setup.out / "report.md"), !Catch::Contains(".png"));
}

TEST_CASE("a second study writing the same output directory names the first and stops changing nothing") {
  StudySetup setup;
  REQUIRE(setup.study({}).exit_status == 0);
  const std::string results = read_text(setup.out / "results.csv");
  {
    // This process holds the directory, as a running study would.
    const DirectoryLock held(setup.out.string(), "study");
    const data::ProcessResult second = setup.study({"--seed", "2"});
    require_failure(second, "study: " + setup.out.string() + " is in use by another study (pid " +
                                std::to_string(::getpid()) + " on host ");
    REQUIRE_THAT(second.output, Catch::Contains("its lock: " + (setup.out / ".lock").string()));
    REQUIRE(read_text(setup.out / "results.csv") == results);
  }
  // A lock file left by a holder that died (SIGKILL) locks nothing: the kernel let go.
  REQUIRE(fs::exists(setup.out / ".lock"));
  const data::ProcessResult after = setup.study({"--seed", "2"});
  INFO(after.output);
  REQUIRE(after.exit_status == 0);
  REQUIRE(read_text(setup.out / "results.csv") != results);
}

TEST_CASE("study refuses a bad flag with a message and writes nothing") {
  StudySetup setup;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--batch-size", "0"}, "study: --batch-size: 0 is out of range (1 to 1000000000)"},
      {{"--batch-size", "101"}, "study: run control: batch size 101 is larger than the data (100 training, 20 test images)"},
      {{"--lr", "-0.1"}, "study: --lr: must be finite and positive, got -0.1"},
      {{"--lr", "nan"}, "study: --lr: must be finite and positive, got nan"},
      {{"--lr", "0.1x"}, "study: --lr: '0.1x' is not a number"},
      {{"--epochs", "0"}, "study: --epochs: 0 is out of range (1 to 100000)"},
      {{"--epochs", "ten"}, "study: --epochs: 'ten' is not a whole number"},
      {{"--runs", "control,fast"}, "study: unknown run 'fast' (choose from control, large_batch, lr_decay, batch_norm, "
                                   "no_preprocessing, or all)"},
      {{"--device", "tpu"}, "study: device: expected \"cpu\", \"cuda\" or \"cuda:N\", got \"tpu\""},
  };
  for (const auto& [flags, message] : cases) {
    INFO(flags[0] << " " << flags[1]);
    require_failure(setup.study(flags), message);
  }
  REQUIRE_FALSE(fs::exists(setup.out));
}

TEST_CASE("study --device cuda without a usable GPU says why") {
  if (cuda_is_available()) {
    Catch::cout() << "skipped: CUDA can be used here\n";
    return;
  }
  StudySetup setup;
  require_failure(setup.study({"--device", "cuda"}), "study: --device cuda: " + cuda_unavailable_reason());
  REQUIRE_FALSE(fs::exists(setup.out));
}

TEST_CASE("a failed study leaves the results of an earlier study as they were") {
  StudySetup setup;
  fs::create_directories(setup.out);
  write_bytes(setup.out / "results.csv", {'e', 'a', 'r', 'l', 'i', 'e', 'r', '\n'});
  write_bytes(setup.out / "report.md", {'#', '\n'});
  std::vector<std::uint8_t> records = synthetic_records(0, kRecords);
  records[0] = 255;
  write_bytes(setup.data / "test_batch.bin", records);
  require_failure(setup.study({}), "record 0 has label 255, expected 0..9");
  REQUIRE(read_text(setup.out / "results.csv") == "earlier\n");
  REQUIRE(read_text(setup.out / "report.md") == "#\n");
  REQUIRE(std::distance(fs::directory_iterator(setup.out), fs::directory_iterator()) == 2);
}

TEST_CASE("predict names a model file that is truncated in its header or in its data") {
  StudySetup setup;
  const std::string model = write_model(setup.dir.path() / "model.safetensors", false);
  const std::string bytes = read_text(model);
  const fs::path truncated = setup.dir.path() / "truncated.safetensors";

  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, 20);
  std::uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes.data(), sizeof header_bytes);
  require_failure(setup.predict(truncated.string()),
                  fmt::format("predict: safetensors: {}: header length {} exceeds the file size 20", truncated.string(),
                              header_bytes));

  // The tensors in the order of their data: the plain network's 52,874 floats end with
  // out.weight (10, 64). Cut the last 100 bytes.
  std::ofstream(truncated, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 100);
  const std::int64_t data_bytes = 52'874 * 4;
  require_failure(setup.predict(truncated.string()),
                  fmt::format("predict: safetensors: {}: tensor \"out.weight\" has data_offsets [{}, {}] beyond the {} "
                              "bytes of data: the file is truncated or its header is wrong",
                              truncated.string(), data_bytes - 640 * 4, data_bytes, data_bytes - 100));
}

TEST_CASE("predict names the tensor a model lacks or has in excess or with a wrong shape or dtype") {
  StudySetup setup;
  const fs::path dir = setup.dir.path();
  auto not_the_plain_network = [&](const std::string& model) {
    return "predict: " + model + " is not a model of the study's plain network: load_state_dict: ";
  };
  std::string model = write_model(dir / "missing.safetensors", false,
                                  [](auto& state) { state.erase("conv2.weight"); });
  require_failure(setup.predict(model), not_the_plain_network(model) + "missing key \"conv2.weight\"");
  model = write_model(dir / "unexpected.safetensors", false,
                      [](auto& state) { state["conv4.weight"] = Tensor::zeros({32, 32, 3, 3}); });
  require_failure(setup.predict(model), not_the_plain_network(model) + "unexpected key \"conv4.weight\"");
  model = write_model(dir / "shape.safetensors", false,
                      [](auto& state) { state["fc1.weight"] = Tensor::zeros({64, 500}); });
  require_failure(setup.predict(model),
                  not_the_plain_network(model) + "\"fc1.weight\" must have shape (64, 512), got (64, 500)");
  model = write_model(dir / "dtype.safetensors", false,
                      [](auto& state) { state["out.bias"] = Tensor::zeros({10}, DType::f64); });
  require_failure(setup.predict(model), not_the_plain_network(model) + "\"out.bias\" must have dtype f32, got f64");
  model = write_model(dir / "batch_norm.safetensors", true, [](auto& state) { state.erase("bn2.running_var"); });
  require_failure(setup.predict(model), "predict: " + model + " is not a model of the study's batch-norm network: "
                                        "load_state_dict: missing key \"bn2.running_var\"");
}

TEST_CASE("predict refuses a model whose values no trained network has: not finite or a negative variance or count") {
  StudySetup setup;
  const fs::path dir = setup.dir.path();
  const std::string prefix = "is not a model of the study's batch-norm network: ";
  std::string model = write_model(dir / "inf.safetensors", true, [](auto& state) {
    state["conv1.bias"] = state["conv1.bias"].clone();
    state["conv1.bias"].template data<float>()[3] = std::numeric_limits<float>::infinity();
  });
  require_failure(setup.predict(model), model + " " + prefix + "\"conv1.bias\" holds inf at element 3: every value "
                                        "must be finite");
  model = write_model(dir / "variance.safetensors", true, [](auto& state) { state["bn2.running_var"] = Tensor::full({32}, -1.0); });
  require_failure(setup.predict(model), model + " " + prefix + "\"bn2.running_var\" holds -1 at element 0: a variance "
                                        "must be finite and not negative");
  model = write_model(dir / "count.safetensors", true,
                      [](auto& state) { state["bn3.num_batches_tracked"] = Tensor::full({}, -5.0, DType::i64); });
  require_failure(setup.predict(model), model + " " + prefix + "\"bn3.num_batches_tracked\" holds -5 at element 0: a "
                                        "count must not be negative");
}

TEST_CASE("predict refuses a bad flag and images past the data") {
  StudySetup setup;
  const std::string model = write_model(setup.dir.path() / "model.safetensors", false);
  require_failure(data::run_process({MINIDL_PREDICT_BINARY}), "predict: --model is required");
  require_failure(data::run_process({MINIDL_PREDICT_BINARY, "--model", model, "--count", "three"}),
                  "predict: --count: 'three' is not a whole number");
  require_failure(data::run_process({MINIDL_PREDICT_BINARY, "--model", model, "--data-dir", setup.data.string(),
                                     "--records-per-file", std::to_string(kRecords), "--first", "18"}),
                  "predict: --first 18 --count 8 goes past the 20 test images");
}

TEST_CASE("every number a user gives has a stated range and one outside it even past 64 bits is out of range") {
  StudySetup setup;
  const std::string model = write_model(setup.dir.path() / "model.safetensors", false);
  auto predict = [&](const std::string& flag, const std::string& value) {
    return data::run_process({MINIDL_PREDICT_BINARY, "--model", model, "--data-dir", setup.data.string(),
                              "--records-per-file", std::to_string(kRecords), flag, value});
  };
  // first + count > n overflowed here once, and the check passed: a crash.
  require_failure(predict("--first", "9223372036854775807"),
                  "predict: --first: 9223372036854775807 is out of range (0 to 9999)");
  require_failure(predict("--count", "9223372036854775807"),
                  "predict: --count: 9223372036854775807 is out of range (1 to 10000)");
  require_failure(predict("--count", "99999999999999999999999"),
                  "predict: --count: 99999999999999999999999 is out of range (1 to 10000)");
  require_failure(predict("--count", "-1"), "predict: --count: -1 is out of range (1 to 10000)");
  require_failure(predict("--records-per-file", "4611686018427387904"),
                  "predict: --records-per-file: 4611686018427387904 is out of range (1 to 10000)");
  // In range on their own, past the data together.
  require_failure(predict("--first", "9999"), "predict: --first 9999 --count 8 goes past the 20 test images");

  for (const auto& [flag, value, message] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--epochs", "9223372036854775807", "study: --epochs: 9223372036854775807 is out of range (1 to 100000)"},
           {"--batch-size", "18446744073709551617", "study: --batch-size: 18446744073709551617 is out of range"},
           {"--records-per-file", "10001", "study: --records-per-file: 10001 is out of range (1 to 10000)"},
           {"--seed", "-1", "study: --seed: -1 is out of range (0 to 4294967296)"}}) {
    require_failure(setup.study({flag, value}), message);
    REQUIRE_FALSE(fs::exists(setup.out));
  }
}

TEST_CASE("a training step that runs out of cuda memory says how much it asked for and changes no weight") {
#if defined(MINIDL_CUDA_EMULATOR)
  // conv 3->2 3x3 pad 1 on 4x4 -> ReLU -> flatten -> fc 32->10, batch 2: the first
  // allocation of a step is conv1's output (2, 2, 4, 4), 256 bytes.
  Generator generator(1);
  nn::Sequential net;
  net.add("conv1", std::make_shared<nn::Conv2d>(nn::Conv2dOptions{3, 2, 3, 1, 1}, generator));
  net.add("relu1", std::make_shared<nn::ReLU>());
  net.add("flatten", std::make_shared<nn::Flatten>());
  net.add("fc1", std::make_shared<nn::Linear>(2 * 4 * 4, 10, generator));
  net.to(Device::cuda());
  Tensor images = Tensor::empty({2, 3, 4, 4}).uniform_(-1.0, 1.0, generator).to(Device::cuda());
  Tensor labels = Tensor::zeros({2}, DType::i32, Device::cuda());
  optim::SGD optimizer(net.parameters(), {.lr = 0.1});
  nn::CrossEntropyLoss criterion;
  auto step = [&] {
    optimizer.zero_grad();
    criterion.forward(net.forward(images), labels);
    net.backward(criterion.backward());
    optimizer.step();
  };
  const std::vector<float> weight_before = net.state_dict().at("conv1.weight").to_vector<float>();

  // 100 bytes more than the tensors above hold.
  struct RestoreLimit {
    std::size_t limit = emulator::memory_limit();
    ~RestoreLimit() { emulator::set_memory_limit(limit); }
  } restore;
  cuda::empty_cache();
  std::size_t free_bytes = 0, total_bytes = 0;
  cuda::check_cuda(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  const std::size_t used_bytes = total_bytes - free_bytes;
  emulator::set_memory_limit(used_bytes + 100);
  REQUIRE_THROWS_MINIDL(step(), fmt::format("out of memory allocating 256 bytes on cuda:0 (100 bytes free of {})",
                                            used_bytes + 100));
  REQUIRE(net.state_dict().at("conv1.weight").to_vector<float>() == weight_before);

  // With memory again, the same step runs.
  emulator::set_memory_limit(restore.limit);
  step();
  REQUIRE(net.state_dict().at("conv1.weight").to_vector<float>() != weight_before);
#else
  Catch::cout() << "skipped: the device memory limit is the CUDA emulator's\n";
#endif
}
