// The study's code path end to end, on a small synthetic CIFAR-format data set
// that a CNN can learn: each class is a bright 8x8 square at its own place in one
// colour channel, over uniform noise. Tests never read the real data.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "minidl/core/safetensors.h"
#include "minidl/data/process.h"
#include "data_test_files.h"
#include "separable_cifar10.h"
#include "small_study_step.h"
#include "report.h"
#include "study.h"
#include "test_support.h"
#include "training.h"
#include "minidl/layers/activation.h"
#include "minidl/layers/batch_norm2d.h"
#include "minidl/layers/conv2d.h"
#include "minidl/layers/linear.h"
#include "minidl/core/cuda_runtime.h"
#if defined(MINIDL_CUDA_EMULATOR)
#include "minidl/core/emulator/emulator.h"
#endif

using namespace minidl;
using namespace minidl::testing;
namespace fs = std::filesystem;

namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

study::Output collect(std::vector<std::string>& lines) {
  return {.line = [&lines](const std::string& line) { lines.push_back(line); }, .progress = [](const std::string&) {}};
}

// One study run end to end. Each run is a case of its own (below): under the sanitizers
// the five runs in one case took up to 208 s of the 300 s timeout on a loaded machine.
void check_study_run(const std::string& name) {
  TempDir dir;
  write_separable_cifar10(dir.path() / "data");
  const data::Cifar10 train = data::load_cifar10((dir.path() / "data").string(), data::Split::train, kRecordsPerFile);
  const data::Cifar10 test = data::load_cifar10((dir.path() / "data").string(), data::Split::test, kRecordsPerFile);
  const study::RunSpec& spec = study::find_run(name);
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

// The runs that have a case below; the next case fails when the study gains a run.
const std::vector<std::string> kRunsWithACase = {"control", "large_batch", "lr_decay", "batch_norm",
                                                 "no_preprocessing"};

}  // namespace

TEST_CASE("every study run has its own end-to-end case below") {
  std::vector<std::string> names;
  for (const study::RunSpec& spec : study::study_runs()) names.push_back(spec.name);
  REQUIRE(names == kRunsWithACase);
}

TEST_CASE("the control run learns a separable data set and reloads its saved model") {
  check_study_run("control");
}

TEST_CASE("the large_batch run learns a separable data set and reloads its saved model") {
  check_study_run("large_batch");
}

TEST_CASE("the lr_decay run learns a separable data set and reloads its saved model") {
  check_study_run("lr_decay");
}

TEST_CASE("the batch_norm run learns a separable data set and reloads its saved model") {
  check_study_run("batch_norm");
}

TEST_CASE("the no_preprocessing run learns a separable data set and reloads its saved model") {
  check_study_run("no_preprocessing");
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
  REQUIRE(args.seeds == std::vector<std::uint64_t>{7});
  REQUIRE(parse({}).seeds == std::vector<std::uint64_t>{1});
  REQUIRE(parse({"--seeds", "3,1,2"}).seeds == std::vector<std::uint64_t>{3, 1, 2});
  REQUIRE_THROWS_MINIDL(parse({"--seeds", "1,2,1"}), "--seeds: seed 1 is given twice");
  REQUIRE_THROWS_MINIDL(parse({"--seeds", "1,,2"}), "--seeds: '' is not a whole number");
  REQUIRE_THROWS_MINIDL(parse({"--seeds", "1,-2"}), "--seeds: -2 is out of range (0 to 4294967296)");
  const study::StudyArgs grid = parse({"--grid", "--grid-batches", "10,100", "--grid-lrs", "0.01,1"});
  REQUIRE(grid.grid);
  REQUIRE(grid.runs == std::vector<std::string>{"control"});  // the grid's default run
  REQUIRE(grid.grid_batches == std::vector<std::int64_t>{10, 100});
  REQUIRE(grid.grid_lrs == std::vector<double>{0.01, 1.0});
  REQUIRE(parse({"--grid"}).grid_lrs == std::vector<double>{0.01, 0.03, 0.1, 0.3, 1.0});
  REQUIRE_THROWS_MINIDL(parse({"--grid", "--runs", "control,batch_norm"}), "--grid trains one run: --runs names 2");
  REQUIRE_THROWS_MINIDL(parse({"--grid", "--lr", "0.1"}), "--grid sets each cell's batch size and lr");
  REQUIRE_THROWS_MINIDL(parse({"--grid", "--seeds", "1,2"}), "--grid takes one seed");
  REQUIRE_THROWS_MINIDL(parse({"--grid-lrs", "0.1,-1"}), "--grid-lrs: must be finite and positive, got -1");
  REQUIRE_THROWS_MINIDL(parse({"--grid-batches", "10,0"}), "--grid-batches: 0 is out of range");
  REQUIRE(args.threads == 1);
  REQUIRE(args.implementations.size() == 1);
  REQUIRE(parse({}).runs.size() == 5);
  REQUIRE(parse({"--help"}).help);
  REQUIRE(parse({"--deterministic"}).deterministic);
  REQUIRE(parse({"--resume"}).options.resume);
  REQUIRE(parse({"--on-divergence", "skip"}).options.on_divergence == optim::DivergencePolicy::skip_bad_steps);

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
  REQUIRE_THROWS_MINIDL(parse({"--implementation", "conv2d"}), "expected OP=NAME");
  REQUIRE_THROWS_MINIDL(parse({"--implementation", "convolution=gemm"}), "unknown op 'convolution'");
  REQUIRE_THROWS_MINIDL(parse({"--threads", "0"}), "--threads: 0 is out of range");
  REQUIRE_THROWS_MINIDL(parse({"--on-divergence", "ignore"}), "--on-divergence: expected stop or skip, got 'ignore'");
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
  REQUIRE(csv.starts_with("run,seed,phase,epoch,lr,batch_size,correct,total,accuracy,total_loss,seconds\n"));
  REQUIRE_THAT(csv, Catch::Contains("large_batch,1,train,1,0.1,100,"));
  REQUIRE_THAT(csv, Catch::Contains("no_preprocessing,1,test,,,100,"));
  REQUIRE_THAT(read_text(dir.path() / "out" / "results.json"), Catch::Contains("\"study_test_accuracy\": 65.0"));
  const std::string report = read_text(dir.path() / "out" / "report.md");
  REQUIRE_THAT(report, Catch::Contains("| large_batch | 100 | 0.1 |"));
  REQUIRE_THAT(report, Catch::Contains("preprocessing (Normalize + shuffle) helps at batch 100"));
  for (const char* plot : {"training_accuracy.png", "training_loss.png", "test_accuracy.png", "per_class_accuracy.png",
                           "confusion_large_batch.png", "confusion_no_preprocessing.png"}) {
    INFO(plot);
    REQUIRE(std::filesystem::file_size(dir.path() / "out" / plot) > 1000);
  }
  // Each run's confusion matrix accounts for every test image, its diagonal for the
  // correct ones, and the report gives each class's accuracy from it.
  const nlohmann::json json = nlohmann::json::parse(read_text(dir.path() / "out" / "results.json"));
  for (const auto& run : json.at("runs")) {
    INFO(run.at("name"));
    const auto& confusion = run.at("test_confusion");
    REQUIRE(confusion.size() == 10);
    std::int64_t all = 0, diagonal = 0;
    for (std::size_t truth = 0; truth < 10; ++truth) {
      REQUIRE(confusion[truth].size() == 10);
      for (std::size_t predicted = 0; predicted < 10; ++predicted) all += confusion[truth][predicted].get<std::int64_t>();
      diagonal += confusion[truth][truth].get<std::int64_t>();
    }
    REQUIRE(all == run.at("test").at("total").get<std::int64_t>());
    REQUIRE(diagonal == run.at("test").at("correct").get<std::int64_t>());
  }
  REQUIRE_THAT(report, Catch::Contains("## Per class: test accuracy (eval mode)\n\n| class | large_batch | "
                                       "no_preprocessing |"));
  REQUIRE_THAT(report, Catch::Contains("| airplane | "));

  // The predict example reads a saved model and names the classes of test images.
  data::ProcessResult predicted = data::run_process(
      {MINIDL_PREDICT_BINARY, "--model", out + "/models/large_batch.safetensors", "--data-dir",
       (dir.path() / "data").string(), "--records-per-file", "200", "--first", "10", "--count", "3"});
  INFO(predicted.output);
  REQUIRE(predicted.exit_status == 0);
  REQUIRE_THAT(predicted.output, Catch::Contains("(plain network), test images 10..12"));
  REQUIRE_THAT(predicted.output, Catch::Contains("true airplane"));  // image 10 has label 10 % 10 = 0
  REQUIRE_THAT(predicted.output, Catch::Contains(" of 3 correct"));

  // A contact sheet of the images it classified, titled with the predicted and true
  // classes; the file name is never part of gnuplot's script, so a quote in it is fine.
  const fs::path sheet = dir.path() / "sheet 'of' images.png";
  data::ProcessResult drawn = data::run_process(
      {MINIDL_PREDICT_BINARY, "--model", out + "/models/large_batch.safetensors", "--data-dir",
       (dir.path() / "data").string(), "--records-per-file", "200", "--count", "12", "--contact-sheet", sheet.string()});
  INFO(drawn.output);
  REQUIRE(drawn.exit_status == 0);
  REQUIRE(fs::file_size(sheet) > 1000);
  for (const auto& entry : fs::directory_iterator(dir.path()))
    REQUIRE_FALSE(entry.path().filename().string().starts_with(".contact-sheet-"));  // its working directory is gone
  data::ProcessResult too_many = data::run_process(
      {MINIDL_PREDICT_BINARY, "--model", out + "/models/large_batch.safetensors", "--data-dir",
       (dir.path() / "data").string(), "--records-per-file", "200", "--count", "101", "--contact-sheet", sheet.string()});
  REQUIRE(too_many.exit_status == 1);
  REQUIRE_THAT(too_many.output, Catch::Contains("predict: --contact-sheet draws at most 100 images, --count is 101"));
  data::ProcessResult nowhere = data::run_process(
      {MINIDL_PREDICT_BINARY, "--model", out + "/models/large_batch.safetensors", "--data-dir",
       (dir.path() / "data").string(), "--records-per-file", "200", "--count", "2", "--contact-sheet",
       (dir.path() / "missing" / "sheet.png").string()});
  REQUIRE(nowhere.exit_status == 1);
  REQUIRE_THAT(nowhere.output, Catch::Contains("predict: --contact-sheet: cannot make a working directory in " +
                                               (dir.path() / "missing").string()));
}

TEST_CASE("a claim holds on the means only beyond twice the larger standard deviation") {
  // Test accuracies of three seeds per run, made up: the report's verdicts follow from them.
  auto runs_of = [](const char* name, std::vector<std::int64_t> correct) {
    std::vector<study::RunResult> runs;
    for (std::size_t i = 0; i < correct.size(); ++i) {
      study::RunResult run;
      run.spec = study::find_run(name);
      run.seed = i + 1;
      run.test = {.correct = correct[i], .total = 100};
      run.epochs = {{.epoch = 0, .lr = 0.1, .train = {.correct = 50, .total = 100, .total_loss = 1.0}}};
      runs.push_back(run);
    }
    return runs;
  };
  std::vector<study::RunResult> runs;
  for (auto& part : {runs_of("control", {40, 41, 42}), runs_of("large_batch", {70, 71, 72}),
                     runs_of("lr_decay", {41, 50, 32}), runs_of("batch_norm", {30, 31, 32})})
    runs.insert(runs.end(), part.begin(), part.end());
  TempDir dir;
  study::write_report((dir.path() / "report.md").string(), {.seeds = {1, 2, 3}, .epochs = 1}, runs, false);
  const std::string report = read_text(dir.path() / "report.md");
  INFO(report);
  // means 71 and 41, sds 1 and 1: +30 points > 2
  REQUIRE_THAT(report, Catch::Contains("- a larger batch beats the control: large_batch 71.00 ± 1.00 % vs control "
                                       "41.00 ± 1.00 % (+30.00 points; twice the larger sd: 2.00): holds"));
  // mean 41, sd 9: 0 points, within 18
  REQUIRE_THAT(report, Catch::Contains("- lr decay beats the control: lr_decay 41.00 ± 9.00 % vs control 41.00 ± 1.00 % "
                                       "(+0.00 points; twice the larger sd: 18.00): not shown: within twice the larger "
                                       "sd"));
  // mean 31: -10 points, below -2
  REQUIRE_THAT(report, Catch::Contains("batch_norm 31.00 ± 1.00 % vs control 41.00 ± 1.00 % (-10.00 points; twice the "
                                       "larger sd: 2.00): does NOT hold: reversed beyond twice the larger sd"));
  REQUIRE_THAT(report, Catch::Contains("| lr_decay | 10 | 0.1 x0.8/epoch | lr x0.8 each epoch | ~71.00 % | 41.00 ± 9.00 % "
                                       "(seeds: 41.00, 50.00, 32.00) |"));
}

TEST_CASE("the grid checks the study's remark on the best learning rate of each batch size") {
  // Made-up cells: the verdict follows from the best lr of each batch size.
  auto cell = [](std::int64_t batch_size, double lr, std::optional<std::int64_t> correct) {
    study::GridCell c{.batch_size = batch_size, .lr = lr, .result = {}, .diverged = {}};
    if (correct) {
      c.result = study::RunResult{};
      c.result->test = {.correct = *correct, .total = 100};
    } else {
      c.diverged = "diverged";
    }
    return c;
  };
  auto verdict = [&](const std::vector<study::GridCell>& cells) {
    TempDir dir;
    study::write_grid_report((dir.path() / "grid.md").string(), {.seeds = {1}, .epochs = 1}, study::find_run("control"),
                             cells, {10, 100}, {0.01, 0.1, 1.0}, false);
    return read_text(dir.path() / "grid.md");
  };
  // Best lr 0.01 at batch 10, 0.1 at batch 100; lr 1 diverges at batch 10.
  const std::string holds = verdict({cell(10, 0.01, 60), cell(10, 0.1, 50), cell(10, 1.0, {}), cell(100, 0.01, 40),
                                     cell(100, 0.1, 70), cell(100, 1.0, 30)});
  REQUIRE_THAT(holds, Catch::Contains("| 10 | 60.00 % | 50.00 % | diverged |"));
  REQUIRE_THAT(holds, Catch::Contains("- batch 10: best lr 0.01, largest lr that did not diverge 0.1"));
  REQUIRE_THAT(holds, Catch::Contains("- batch 100: best lr 0.1, largest lr that did not diverge 1"));
  REQUIRE_THAT(holds, Catch::Contains("Verdict: holds"));
  const std::string reversed = verdict({cell(10, 0.01, 40), cell(10, 0.1, 70), cell(100, 0.01, 60), cell(100, 0.1, 50)});
  REQUIRE_THAT(reversed, Catch::Contains("Verdict: does NOT hold: the largest batch's best lr is smaller"));
  const std::string flat = verdict({cell(10, 0.1, 70), cell(100, 0.1, 60)});
  REQUIRE_THAT(flat, Catch::Contains("Verdict: not shown"));
  REQUIRE_THAT(flat, Catch::Contains("| 10 | - | 70.00 % | - |"));  // a cell never run
}

TEST_CASE("compare-with puts another implementation's test accuracy beside minidl's for each run") {
  TempDir dir;
  write_separable_cifar10(dir.path() / "data");
  const fs::path out = dir.path() / "out";
  auto study = [&](const std::string& reference) {
    return data::run_process({MINIDL_STUDY_BINARY, "--data-dir", (dir.path() / "data").string(), "--records-per-file",
                              "200", "--runs", "large_batch,no_preprocessing", "--epochs", "1", "--device", "cpu",
                              "--compare-with", reference, "--output-dir", out.string()});
  };
  const std::string fixture = std::string(MINIDL_FIXTURE_DIR) + "/pytorch_results.json";
  data::ProcessResult result = study(fixture);
  INFO(result.output);
  REQUIRE(result.exit_status == 0);
  const nlohmann::json json = nlohmann::json::parse(read_text(out / "results.json"));
  const double large_batch = json.at("runs")[0].at("test").at("accuracy").get<double>();
  const std::string report = read_text(out / "report.md");
  REQUIRE_THAT(report, Catch::Contains("## Beside PyTorch 1.13.0, 2 threads (" + fixture + ")"));
  // Its two seeds of large_batch: 60.5 and 62.5, mean 61.5, sd 1.41.
  REQUIRE_THAT(report, Catch::Contains(fmt::format("| large_batch | {:.2f} % | 61.50 ± 1.41 % (seed 1: 60.50, seed 2: "
                                                   "62.50) | {:+.2f} points |",
                                                   large_batch, large_batch - 61.5)));
  REQUIRE_THAT(report, Catch::Contains("| no_preprocessing | "));
  REQUIRE_THAT(report, Catch::Contains(" | 50.00 % (seed 1: 50.00) | "));

  // A file that is not such results is refused before anything is trained.
  const fs::path bad = dir.path() / "bad.json";
  for (const auto& [text, message] : std::vector<std::pair<std::string, std::string>>{
           {"not json", "not a results.json of the study"},
           {R"({"runs": [{"name": "fast", "seed": 1, "test": {"accuracy": 3}}]})", "unknown run 'fast'"},
           {R"({"runs": [{"name": "control", "seed": 1}]})", "not a results.json of the study"},
           {R"({"runs": [{"name": "control", "seed": 1, "test": {"accuracy": 150}}]})",
            "run control seed 1: test accuracy 150 is not a percentage"},
           {R"({"runs": [{"name": "control", "seed": 1, "test": {"accuracy": 5}},
                         {"name": "control", "seed": 1, "test": {"accuracy": 6}}]})",
            "run control seed 1 appears twice"}}) {
    std::ofstream(bad) << text;
    fs::remove_all(out);
    data::ProcessResult refused = study(bad.string());
    INFO(refused.output);
    REQUIRE(refused.exit_status == 1);
    REQUIRE_THAT(refused.output, Catch::Contains("study: --compare-with: " + bad.string() + ": " + message));
    REQUIRE_FALSE(fs::exists(out));
  }
}

TEST_CASE("the study's grid trains every cell and marks the ones that diverge") {
  TempDir dir;
  write_separable_cifar10(dir.path() / "data");
  const fs::path out = dir.path() / "out";
  data::ProcessResult result = data::run_process(
      {MINIDL_STUDY_BINARY, "--data-dir", (dir.path() / "data").string(), "--records-per-file", "200", "--grid",
       "--grid-batches", "20,100", "--grid-lrs", "0.05,1e30", "--epochs", "1", "--device", "cpu", "--output-dir",
       out.string()});
  INFO(result.output);
  REQUIRE(result.exit_status == 0);
  const std::string csv = read_text(out / "grid.csv");
  REQUIRE(csv.starts_with("run,batch_size,lr,test_correct,test_total,test_accuracy,last_train_accuracy,diverged\n"));
  REQUIRE_THAT(csv, Catch::Contains("control,20,0.05,"));
  REQUIRE_THAT(csv, Catch::Contains("control,20,1e+30,,,,,yes\n"));
  REQUIRE_THAT(csv, Catch::Contains("control,100,1e+30,,,,,yes\n"));
  const nlohmann::json json = nlohmann::json::parse(read_text(out / "grid.json"));
  REQUIRE(json.at("cells").size() == 4);
  REQUIRE_THAT(json.at("cells")[1].at("diverged").get<std::string>(), Catch::Contains("diverged at epoch 0"));
  const std::string report = read_text(out / "grid.md");
  REQUIRE_THAT(report, Catch::Contains("| batch \\ lr | 0.05 | 1e+30 |"));
  REQUIRE_THAT(report, Catch::Contains(" diverged |"));
  REQUIRE_THAT(report, Catch::Contains("## The study's remark, checked"));
  REQUIRE(fs::exists(out / "models" / "control-b100-lr0.05.safetensors"));
  if (fs::exists(out / "grid.png")) REQUIRE(fs::file_size(out / "grid.png") > 1000);
}

TEST_CASE("with several seeds the study reports means and standard deviations and checks its claims on the means") {
  TempDir dir;
  write_separable_cifar10(dir.path() / "data");
  const fs::path out = dir.path() / "out";
  data::ProcessResult result = data::run_process(
      {MINIDL_STUDY_BINARY, "--data-dir", (dir.path() / "data").string(), "--records-per-file", "200", "--runs",
       "large_batch,no_preprocessing", "--epochs", "2", "--device", "cpu", "--seeds", "1,2,3", "--output-dir",
       out.string()});
  INFO(result.output);
  REQUIRE(result.exit_status == 0);
  REQUIRE_THAT(result.output, Catch::Contains("seeds 1, 2, 3, 2 epochs"));
  REQUIRE_THAT(result.output, Catch::Contains("== no_preprocessing (seed 3): "));

  // Every seed's numbers and files, apart.
  const std::string csv = read_text(out / "results.csv");
  for (const char* row : {"large_batch,1,test,", "large_batch,2,test,", "large_batch,3,test,",
                          "no_preprocessing,3,train,1,"})
    REQUIRE_THAT(csv, Catch::Contains(row));
  const nlohmann::json json = nlohmann::json::parse(read_text(out / "results.json"));
  REQUIRE(json.at("seeds") == nlohmann::json({1, 2, 3}));
  REQUIRE(json.at("runs").size() == 6);
  REQUIRE(json.at("runs")[5].at("seed") == 3);
  for (const char* file : {"models/large_batch-seed1.safetensors", "models/no_preprocessing-seed3.safetensors",
                           "checkpoints/large_batch-seed2.safetensors"})
    REQUIRE(fs::exists(out / file));

  // The report: mean ± sd over the seeds, each seed's figure, and the claim on the means.
  std::vector<double> accuracies;
  for (const auto& run : json.at("runs"))
    if (run.at("name") == "large_batch") accuracies.push_back(run.at("test").at("accuracy").get<double>());
  REQUIRE(accuracies.size() == 3);
  const double mean = (accuracies[0] + accuracies[1] + accuracies[2]) / 3;
  double squares = 0;
  for (double a : accuracies) squares += (a - mean) * (a - mean);
  const double sd = std::sqrt(squares / 2);
  const std::string report = read_text(out / "report.md");
  REQUIRE_THAT(report, Catch::Contains(fmt::format("| large_batch | 100 | 0.1 | batch 100 | ~71.00 % | {:.2f} ± {:.2f} % "
                                                   "(seeds: {:.2f}, {:.2f}, {:.2f})",
                                                   mean, sd, accuracies[0], accuracies[1], accuracies[2])));
  REQUIRE_THAT(report, Catch::Contains("checked on the means of 3 seeds"));
  REQUIRE_THAT(report, Catch::Contains(fmt::format("- preprocessing (Normalize + shuffle) helps at batch 100: "
                                                   "large_batch {:.2f} ± {:.2f} % vs no_preprocessing",
                                                   mean, sd)));
  REQUIRE_THAT(report, Catch::Contains("### no_preprocessing, seed 2"));
  // One band and one mean curve per run, bars with error bars.
  const std::string script = read_text(out / "plots.gp");
  REQUIRE_THAT(script, Catch::Contains("with filledcurves"));
  REQUIRE_THAT(script, Catch::Contains("set style histogram errorbars"));
  for (const char* plot : {"training_accuracy.png", "training_loss.png", "test_accuracy.png"})
    if (fs::exists(out / plot)) REQUIRE(fs::file_size(out / plot) > 1000);  // gnuplot may be absent
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

TEST_CASE("on cuda a study training step after warm-up allocates nothing and never makes the host wait") {
  if (skip_unless_cuda()) return;
  // The study's step on the study's layers, at a size the emulator runs in a moment
  // (tests/small_study_step.h).
  for (bool batch_norm : {false, true}) {
    INFO("batch norm " << batch_norm);
    SmallStudyStep small(batch_norm);
    auto step = [&] { small.run(); };
    step();  // sizes every layer's buffers, the optimizer's and the guard's device tables
    step();
#if defined(MINIDL_CUDA_EMULATOR)
    emulator::Counters before = emulator::counters();
#endif
    const cuda::AllocatorStats allocator_before = cuda::allocator_stats();
    step();
    const cuda::AllocatorStats allocator_after = cuda::allocator_stats();
#if defined(MINIDL_CUDA_EMULATOR)
    emulator::Counters used = emulator::counters() - before;
    REQUIRE(used.host_synchronizations == 0);
    REQUIRE(used.device_allocations == 0);
    REQUIRE(used.launches > 0);
#endif
    REQUIRE(allocator_after.device_allocations == allocator_before.device_allocations);
    study::PassResult result;
    small.sums.read_into(result);
    REQUIRE(result.correct <= 6);
    REQUIRE(std::isfinite(result.total_loss));
  }
}
