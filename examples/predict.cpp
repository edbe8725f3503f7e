// predict: loads a model the study saved and names the classes of a few test images.
//
//   predict --model study-results/models/batch_norm.safetensors --data-dir DIR [--first 0] [--count 8]
//           [--contact-sheet sheet.png]
//
// The model's file says which network it is: batch-norm tensors (bn1.weight, ...)
// mean the batch_norm run's network. Images are normalized as the study's runs
// do (Normalize with the study's mean and std), unless --no-normalize, as for the
// no_preprocessing run's model.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>
#include <cstdio>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "minidl/core/atomic_file.h"
#include "minidl/core/command_line.h"
#include "minidl/core/error.h"
#include "minidl/core/program.h"
#include "minidl/core/safetensors.h"
#include "minidl/data/cifar10.h"
#include "minidl/data/process.h"
#include "minidl/data/transforms.h"
#include "minidl/layers/networks.h"

using namespace minidl;

namespace {

constexpr std::int64_t kMaxContactSheetImages = 100;

// Removes a directory tree when it goes out of scope.
struct RemovedAtExit {
  std::filesystem::path path;
  ~RemovedAtExit() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// Draws count images (CHW bytes, one after the other) ten to a row, each titled with
// its predicted and true class (red when they differ), into the PNG at path. gnuplot
// runs in a private directory beside path, on a script that names no path of the
// user's; the picture is renamed to path only when it was drawn, so path is either
// the old file or the whole new one.
void draw_contact_sheet(const std::string& path, const std::uint8_t* images, const std::int32_t* labels,
                        const std::vector<int>& predicted, std::int64_t first) {
  namespace fs = std::filesystem;
  const auto count = static_cast<std::int64_t>(predicted.size());
  const fs::path parent = fs::absolute(path).parent_path();
  std::string pattern = (parent / ".contact-sheet-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    fail("--contact-sheet: cannot make a working directory in {}: {}", parent.string(), std::strerror(errno));
  const RemovedAtExit work{pattern};

  constexpr int kSide = 32, kCellWidth = 40, kCellHeight = 52, kColumns = 10;
  const std::int64_t rows = (count + kColumns - 1) / kColumns;
  std::string pixels, script = fmt::format(
                          "set terminal pngcairo size {},{} noenhanced\nset output 'sheet.png'\n"
                          "unset border\nunset tics\nunset key\nset margins 0,0,0,0\n"
                          "set xrange [-4:{}]\nset yrange [{}:-14]\n",
                          3 * (kColumns * kCellWidth + 4), 3 * (rows * kCellHeight + 14),
                          kColumns * kCellWidth, rows * kCellHeight);
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t x0 = i % kColumns * kCellWidth, y0 = i / kColumns * kCellHeight;
    // One block per image (gnuplot's rgbimage wants each picture a whole grid, x fastest).
    const std::uint8_t* image = images + i * data::kCifar10ImageBytes;
    if (i > 0) pixels += "\n\n";
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) {
        const int p = y * kSide + x;
        pixels += fmt::format("{} {} {} {} {}\n", x0 + x, y0 + y, image[p], image[kSide * kSide + p],
                              image[2 * kSide * kSide + p]);
      }
    const int label = labels[i];
    script += fmt::format("set label '{}' at {},{} center font ',9'\n", first + i, x0 + 16, y0 - 8);
    script += fmt::format("set label '{} / {}' at {},{} center font ',8' textcolor rgb '{}'\n",
                          data::kCifar10ClassNames[predicted[i]], data::kCifar10ClassNames[label], x0 + 16, y0 + 39,
                          predicted[i] == label ? "#205020" : "#c01010");
  }
  script += fmt::format("set size ratio -1\nplot for [i=0:{}] 'pixels.dat' index i using 1:2:3:4:5 with rgbimage\n"
                        "set output\n",
                        count - 1);
  write_file_atomically((fs::path(pattern) / "pixels.dat").string(), pixels, "--contact-sheet");
  write_file_atomically((fs::path(pattern) / "sheet.gp").string(), script, "--contact-sheet");
  data::ProcessResult result;
  try {
    result = data::run_process({"gnuplot", "sheet.gp"}, {}, pattern);
  } catch (const Error& error) {
    fail("--contact-sheet: {} (install gnuplot: scripts/setup does)", error.what());
  }
  std::error_code error;
  const std::uintmax_t bytes = fs::file_size(fs::path(pattern) / "sheet.png", error);
  if (result.exit_status != 0 || error || bytes == 0)
    fail("--contact-sheet: gnuplot failed with status {}: {}", result.exit_status, result.output);
  fs::rename(fs::path(pattern) / "sheet.png", path, error);
  if (error) fail("--contact-sheet: cannot put the picture at {}: {}", path, error.message());
}

constexpr const char* kUsage =
    "usage: predict --model FILE [--data-dir DIR] [--first N] [--count N] [--no-normalize]\n"
    "  --model FILE     a safetensors file the study saved (study-results/models/<run>.safetensors)\n"
    "  --data-dir DIR   the CIFAR-10 binary files (else $MINIDL_CIFAR10_DIR)\n"
    "  --first N        the first test image to classify (default 0; at most 9999)\n"
    "  --count N        how many (default 8; 1 to 10000)\n"
    "  --no-normalize   only /255, as the no_preprocessing run trained\n"
    "  --records-per-file N  records in each data file (default 10000, the most; for small test sets)\n"
    "  --contact-sheet FILE  also draw the images with their predicted and true classes into this PNG\n"
    "                   (at most 100 images; gnuplot draws it)\n";


int run(int argc, char** argv) {
  std::string model_path;
  std::optional<std::string> data_dir;
  std::int64_t first = 0, count = 8, records_per_file = data::kCifar10RecordsPerFile;
  bool normalize = true;
  std::string contact_sheet;
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
    } else if (arg == "--contact-sheet") {
      contact_sheet = value();
      if (contact_sheet.empty()) fail("--contact-sheet: the file name is empty");
    } else if (arg == "--no-normalize") {
      normalize = false;
    } else {
      fail("unknown argument '{}'\n{}", arg, kUsage);
    }
  }
  if (model_path.empty()) fail("--model is required\n{}", kUsage);
  if (!contact_sheet.empty() && count > kMaxContactSheetImages)
    fail("--contact-sheet draws at most {} images, --count is {}", kMaxContactSheetImages, count);

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
  std::vector<int> predictions;
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
    predictions.push_back(best);
    write_standard_output(fmt::format("image {:>5}: predicted {:<10} ({:5.1f} %)  true {:<10} {}\n", first + i,
                                      data::kCifar10ClassNames[best], 100.0 / sum, data::kCifar10ClassNames[label],
                                      best == label ? "" : "  wrong"));
  }
  write_standard_output(fmt::format("{} of {} correct\n", correct, count));
  if (!contact_sheet.empty()) {
    draw_contact_sheet(contact_sheet, test.images.data<std::uint8_t>() + first * data::kCifar10ImageBytes,
                       test.labels.data<std::int32_t>() + first, predictions, first);
    write_standard_output(fmt::format("contact sheet: {}\n", contact_sheet));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ignore_write_signals();
  return run_main("predict", [&] { return run(argc, argv); });
}
