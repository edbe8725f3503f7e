// predict: loads a model the study saved and names the classes of a few test images.
//
//   predict --model study-results/models/batch_norm.safetensors --data-dir DIR [--first 0] [--count 8]
//
// The model's file says which network it is: batch-norm tensors (bn1.weight, ...)
// mean the batch_norm run's network. Images are normalized as the study's runs
// do (Normalize with the study's mean and std), unless --no-normalize, as for the
// no_preprocessing run's model.
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "minidl/core/command_line.h"
#include "minidl/core/error.h"
#include "minidl/core/program.h"
#include "minidl/core/safetensors.h"
#include "minidl/data/cifar10.h"
#include "minidl/data/transforms.h"
#include "minidl/layers/networks.h"

using namespace minidl;

namespace {

constexpr const char* kUsage =
    "usage: predict --model FILE [--data-dir DIR] [--first N] [--count N] [--no-normalize]\n"
    "  --model FILE     a safetensors file the study saved (study-results/models/<run>.safetensors)\n"
    "  --data-dir DIR   the CIFAR-10 binary files (else $MINIDL_CIFAR10_DIR)\n"
    "  --first N        the first test image to classify (default 0; at most 9999)\n"
    "  --count N        how many (default 8; 1 to 10000)\n"
    "  --no-normalize   only /255, as the no_preprocessing run trained\n"
    "  --records-per-file N  records in each data file (default 10000, the most; for small test sets)\n";

constexpr const char* kClassNames[data::kCifar10Classes] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                           "dog",      "frog",       "horse", "ship", "truck"};

int run(int argc, char** argv) {
  std::string model_path;
  std::optional<std::string> data_dir;
  std::int64_t first = 0, count = 8, records_per_file = data::kCifar10RecordsPerFile;
  bool normalize = true;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail("{}: missing value", arg);
      return argv[++i];
    };
    if (arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--model") {
      model_path = value();
    } else if (arg == "--data-dir") {
      data_dir = value();
    } else if (arg == "--first") {
      first = parse_integer(arg, value(), 0, data::kCifar10RecordsPerFile - 1);
    } else if (arg == "--count") {
      count = parse_integer(arg, value(), 1, data::kCifar10RecordsPerFile);
    } else if (arg == "--records-per-file") {
      records_per_file = parse_integer(arg, value(), 1, data::kCifar10RecordsPerFile);
    } else if (arg == "--no-normalize") {
      normalize = false;
    } else {
      fail("unknown argument '{}'\n{}", arg, kUsage);
    }
  }
  if (model_path.empty()) fail("--model is required\n{}", kUsage);

  SafetensorsFile file = load_safetensors(model_path);
  const bool batch_norm = file.tensors.count("bn1.weight") == 1;
  Generator unused(0);
  auto net = nn::make_study_net(batch_norm, unused);
  try {
    nn::check_state(file.tensors, net->state_dict());  // the whole file, values too, before any use
    net->load_state_dict(file.tensors);
  } catch (const Error& error) {
    fail("{} is not a model of the study's {} network: {}", model_path, batch_norm ? "batch-norm" : "plain",
         error.what());
  }
  net->eval();

  data::Cifar10 test = data::load_cifar10(
      data::find_cifar10({.data_dir = data_dir, .records_per_file = records_per_file}), data::Split::test,
      records_per_file);
  if (count > test.size() || first > test.size() - count)  // first + count > size, which cannot overflow
    fail("--first {} --count {} goes past the {} test images", first, count, test.size());

  // The images, as the study's loader makes them: /255, then Normalize.
  Tensor images = Tensor::empty({count, 3, 32, 32});
  const data::Normalize& transform = normalize ? data::kCifar10Normalize : data::kNoNormalize;
  for (std::int64_t i = 0; i < count; ++i)
    data::normalize_image(test.images.data<std::uint8_t>() + (first + i) * data::kCifar10ImageBytes,
                          data::kCifar10Height, data::kCifar10Width, transform,
                          images.data<float>() + i * data::kCifar10ImageBytes);
  nn::NoGradGuard no_grad;
  Tensor logits = net->forward(images);

  write_standard_output(fmt::format("model {} ({} network), test images {}..{}\n", model_path,
                                    batch_norm ? "batch-norm" : "plain", first, first + count - 1));
  int correct = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    // softmax(logits)[k] = exp(logits[k] - max) / sum_j exp(logits[j] - max)
    const float* row = logits.data<float>() + i * data::kCifar10Classes;
    int best = 0;
    for (int k = 1; k < data::kCifar10Classes; ++k)
      if (row[k] > row[best]) best = k;
    double sum = 0.0;
    for (int k = 0; k < data::kCifar10Classes; ++k) sum += std::exp(static_cast<double>(row[k] - row[best]));
    const int label = test.labels.data<std::int32_t>()[first + i];
    correct += best == label;
    write_standard_output(fmt::format("image {:>5}: predicted {:<10} ({:5.1f} %)  true {:<10} {}\n", first + i,
                                      kClassNames[best], 100.0 / sum, kClassNames[label],
                                      best == label ? "" : "  wrong"));
  }
  write_standard_output(fmt::format("{} of {} correct\n", correct, count));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ignore_write_signals();
  return run_main("predict", [&] { return run(argc, argv); });
}
