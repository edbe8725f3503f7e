// bench_training: whole training epochs and test passes of the study's two networks,
// timed through the study's own code (examples/study/training.h: the loader, the step
// with its divergence guard and device-side sums), on the CPU or CUDA.
//
//   bench_training [--device cpu|cuda] [--threads N] [--batch 10,100] [--images N]
//                  [--networks plain,batch_norm] [--graph on|off|both] [--data-dir DIR] [--json PATH]
//
// Each case trains on the first `images` training images (synthetic uint8 images of
// CIFAR-10's shape without --data-dir: the time does not depend on the pixels) for
// one warm-up pass of 5 steps, then times every step of one pass over them, and
// scales to a 50,000-image epoch. The test pass is timed over `images` images the
// same way (eval mode, no gradients) and scaled to 10,000. On CUDA the host waits
// for the device only at the end of each timed pass, so the times are the device's.
// Peak device memory is the caching allocator's peak reserved bytes over the case.
// On CUDA each case runs with the training step launched kernel by kernel (graph off)
// and as one CUDA graph replay (graph on; study::TrainingStep), by default both; the
// kernels a step launches are counted during an eager step, and a replayed step
// launches one graph after the loader's gather.
//
// Prints a table; --json writes every number, for bench/compare_pytorch.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "minidl/core/command_line.h"
#include "minidl/core/error.h"
#include "minidl/core/parallel.h"
#include "minidl/core/rng.h"
#include "minidl/data/cifar10.h"
#include "minidl/layers/cross_entropy_loss.h"
#include "minidl/layers/module.h"
#include "study.h"
#include "training.h"
#include "minidl/core/cuda_runtime.h"

namespace {

using namespace minidl;
using Clock = std::chrono::steady_clock;

struct Options {
  Device device = Device::cpu();
  int threads = 0;
  std::vector<std::int64_t> batches = {10, 100};
  std::vector<std::string> networks = {"plain", "batch_norm"};
  std::int64_t images = 2000;
  std::vector<bool> graphs;  // empty: off on the CPU, off and on on CUDA
  std::string data_dir;
  std::string json_path;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    items.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::puts(
          "bench_training [--device cpu|cuda] [--threads N] [--batch 10,100] [--images N]\n"
          "               [--networks plain,batch_norm] [--graph on|off|both] [--data-dir DIR] [--json PATH]\n"
          "Times the study's training epochs and test passes (see the top of bench/bench_training.cpp).");
      std::exit(0);
    }
    if (i + 1 >= argc)
      fail("{}: missing value (flags: --device --threads --batch --images --networks --graph --data-dir --json)", flag);
    const std::string value = argv[++i];
    if (flag == "--device") {
      options.device = parse_device(value);
    } else if (flag == "--threads") {
      options.threads = static_cast<int>(parse_integer(flag, value, 1, 1024));
    } else if (flag == "--batch") {
      options.batches.clear();
      for (const std::string& item : split_list(value)) options.batches.push_back(parse_integer(flag, item, 1, 100'000));
    } else if (flag == "--images") {
      options.images = parse_integer(flag, value, 1, 1'000'000);
    } else if (flag == "--networks") {
      options.networks = split_list(value);
      for (const std::string& network : options.networks)
        if (network != "plain" && network != "batch_norm") fail("--networks: unknown network '{}'", network);
    } else if (flag == "--graph") {
      if (value == "on") options.graphs = {true};
      else if (value == "off") options.graphs = {false};
      else if (value == "both") options.graphs = {false, true};
      else fail("--graph: expected on, off or both, got '{}'", value);
    } else if (flag == "--data-dir") {
      options.data_dir = value;
    } else if (flag == "--json") {
      options.json_path = value;
    } else {
      fail("unknown flag '{}'", flag);
    }
  }
  if (options.graphs.empty()) options.graphs = options.device.is_cuda() ? std::vector<bool>{false, true} : std::vector<bool>{false};
  for (bool graphs : options.graphs)
    if (graphs && !options.device.is_cuda()) fail("--graph on needs --device cuda (CUDA graphs)");
  return options;
}

// `count` images: the first of the real training set, or uniform random bytes.
data::Cifar10 training_images(const Options& options, std::int64_t count) {
  if (!options.data_dir.empty()) {
    data::Cifar10 all = data::load_cifar10(options.data_dir, data::Split::train);
    if (count > all.size()) fail("--images: {} is more than the {} training images", count, all.size());
    return {all.images.slice(0, count).clone(), all.labels.slice(0, count).clone()};
  }
  Generator generator(7);
  data::Cifar10 synthetic{Tensor::empty({count, 3, 32, 32}, DType::u8), Tensor::empty({count}, DType::i32)};
  std::uint8_t* pixels = synthetic.images.data<std::uint8_t>();
  for (std::int64_t i = 0; i < synthetic.images.numel(); ++i) pixels[i] = static_cast<std::uint8_t>(generator.next_below(256));
  std::int32_t* labels = synthetic.labels.data<std::int32_t>();
  for (std::int64_t i = 0; i < count; ++i) labels[i] = static_cast<std::int32_t>(generator.next_below(10));
  return synthetic;
}

void wait_for_device(Device device) {
  if (device.is_cuda()) cuda::synchronize();
}

// Frees what earlier cases cached, so that each case's peak is its own.
void reset_peak_memory(Device device) {
  if (device.is_cuda()) {
    cuda::empty_cache();
    cuda::reset_peak_stats();
  }
}

std::int64_t peak_reserved_bytes(Device device) {
  return device.is_cuda() ? static_cast<std::int64_t>(cuda::allocator_stats().peak_reserved_bytes) : 0;
}

struct CaseResult {
  std::string network;
  std::int64_t batch;
  bool graphs;
  std::int64_t kernels_per_step;  // launched by an eager step (CUDA)
  double train_seconds;  // the timed training pass
  double test_seconds;   // the timed test pass
  std::int64_t images;
  std::int64_t peak_bytes;
  double epoch_seconds() const { return train_seconds * 50'000.0 / static_cast<double>(images); }
  double test_pass_seconds() const { return test_seconds * 10'000.0 / static_cast<double>(images); }
};

CaseResult run_case(const Options& options, const data::Cifar10& images, const std::string& network,
                    std::int64_t batch, bool graphs) {
  reset_peak_memory(options.device);
  study::RunSpec spec = study::find_run(network == "plain" ? "control" : "batch_norm");
  spec.batch_size = batch;
  study::Training training(spec, images, {.device = options.device, .graphs = graphs});

  // Warm-up: the first steps size every buffer and table (and choose cuDNN's algorithms);
  // with graphs, the third is captured. The first step's kernels are counted.
  std::int64_t warmup = 0, kernels_per_step = 0;
  for (const data::Batch& step_batch : training.loader) {
    const std::int64_t kernels_before = cuda::kernels_launched();
    training.step.run(step_batch);
    if (warmup == 0) kernels_per_step = cuda::kernels_launched() - kernels_before;
    if (++warmup == 5) break;
  }
  training.loader.set_epoch(1);
  wait_for_device(options.device);
  Clock::time_point start = Clock::now();
  for (const data::Batch& step_batch : training.loader) training.step.run(step_batch);
  study::PassResult sums_read;
  training.sums.read_into(sums_read);  // waits for the device
  const double train_seconds = std::chrono::duration<double>(Clock::now() - start).count();

  data::DataLoader test_loader = study::make_loader(images, spec, /*shuffle=*/false, 1, options.device);
  training.net->eval();
  nn::NoGradGuard no_grad;
  nn::CrossEntropyLoss criterion;
  study::DeviceSums test_sums({}, options.device);
  for (const data::Batch& test_batch : test_loader) {  // warm-up pass: eval mode has its own buffers
    test_sums.add(criterion.forward(training.net->forward(test_batch.images), test_batch.labels), criterion.num_correct());
  }
  wait_for_device(options.device);
  start = Clock::now();
  for (const data::Batch& test_batch : test_loader)
    test_sums.add(criterion.forward(training.net->forward(test_batch.images), test_batch.labels), criterion.num_correct());
  study::PassResult test_read;
  test_sums.read_into(test_read);
  const double test_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {network,      batch,        graphs, kernels_per_step, train_seconds, test_seconds, images.size(),
          peak_reserved_bytes(options.device)};
}

int run(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  if (options.device.is_cuda()) require_cuda("bench_training --device cuda");
  if (options.threads > 0) set_num_threads(options.threads);
  const data::Cifar10 images = training_images(options, options.images);
  std::string device_text = options.device.is_cuda() ? options.device.str()
                                                     : fmt::format("cpu ({} threads)", num_threads());
  if (options.device.is_cuda()) device_text += " (" + cuda::describe() + ")";
  fmt::print("minidl bench_training on {}, {} {} images per case\n", device_text, options.images,
             options.data_dir.empty() ? "synthetic" : "CIFAR-10");
  fmt::print("{:>10} {:>6} {:>6} {:>14} {:>12} {:>16} {:>12} {:>14}\n", "network", "batch", "graph", "epoch (50k)",
             "images/s", "test pass (10k)", "peak MiB", "kernels/step");
  std::fflush(stdout);
  std::vector<CaseResult> results;
  for (const std::string& network : options.networks)
    for (std::int64_t batch : options.batches)
      for (bool graphs : options.graphs) {
        if (batch > options.images) fail("--batch {} is more than --images {}", batch, options.images);
        CaseResult result = run_case(options, images, network, batch, graphs);
        results.push_back(result);
        fmt::print("{:>10} {:>6} {:>6} {:>12.2f} s {:>12.0f} {:>14.3f} s {:>12.1f} {:>14}\n", network, batch,
                   graphs ? "on" : "off", result.epoch_seconds(), result.images / result.train_seconds,
                   result.test_pass_seconds(), result.peak_bytes / 1048576.0,
                   options.device.is_cuda() ? std::to_string(result.kernels_per_step) : "-");
        std::fflush(stdout);
      }
  if (!options.json_path.empty()) {
    nlohmann::json json = {{"device", device_text}, {"threads", num_threads()}, {"images", options.images},
                           {"results", nlohmann::json::array()}};
    for (const CaseResult& result : results)
      json["results"].push_back({{"network", result.network},
                                 {"batch_size", result.batch},
                                 {"graph", result.graphs},
                                 {"kernels_per_step", result.kernels_per_step},
                                 {"epoch_seconds", result.epoch_seconds()},
                                 {"images_per_second", result.images / result.train_seconds},
                                 {"test_pass_seconds", result.test_pass_seconds()},
                                 {"peak_reserved_bytes", result.peak_bytes}});
    std::ofstream(options.json_path) << json.dump(2) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return minidl::run_main("bench_training", [&] { return run(argc, argv); });
}
