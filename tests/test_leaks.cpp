// No leaks over a long run: after the first epochs have sized every buffer, training
// holds on to no more host memory and reserves no more device memory, epoch after
// epoch. Only in builds without a sanitizer (a sanitizer's allocator keeps freed
// memory in quarantine, and it counts what it leaks itself).
#include <malloc.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "minidl/core/cuda_runtime.h"
#include "separable_cifar10.h"
#include "small_study_step.h"
#include "study.h"
#include "test_support.h"
#include "training.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Bytes malloc has handed out and not had back.
std::int64_t host_bytes_in_use() { return static_cast<std::int64_t>(::mallinfo2().uordblks); }

}  // namespace

TEST_CASE("twenty epochs of the study on the cpu hold no more host memory after the second") {
  if (kSanitized) {
    Catch::cout() << "skipped: a sanitizer's allocator (its quarantine) hides what malloc holds\n";
    return;
  }
  TempDir dir;
  write_separable_cifar10(dir.path() / "data", 40);  // 200 training images
  const data::Cifar10 train = data::load_cifar10(dir.str() + "/data", data::Split::train, 40);
  const data::Cifar10 test = data::load_cifar10(dir.str() + "/data", data::Split::test, 40);
  std::vector<std::int64_t> in_use;  // after each epoch
  const study::Output output{.line = [&](const std::string& line) {
                               if (line.starts_with("epoch: ")) in_use.push_back(host_bytes_in_use());
                             },
                             .progress = [](const std::string&) {}};
  study::StudyOptions options{.epochs = 20, .device = Device::cpu(), .output_dir = dir.str() + "/out"};
  study::run_study(study::find_run("batch_norm"), train, test, options, output);
  REQUIRE(in_use.size() == 20);
  INFO("bytes in use after epoch 2: " << in_use[1] << ", after epoch 20: " << in_use[19]);
  REQUIRE(in_use[19] - in_use[1] < (std::int64_t{1} << 20));
}

TEST_CASE("twenty epochs on cuda reserve no more device memory after the first") {
  if (skip_unless_cuda()) return;
  // The study's step with BatchNorm at a size the emulator runs in a moment
  // (tests/small_study_step.h).
  SmallStudyStep small(/*batch_norm=*/true);
  std::vector<std::size_t> reserved;  // after each epoch
  for (int epoch = 0; epoch < 20; ++epoch) {
    for (int step = 0; step < 2; ++step) small.run();
    study::PassResult result;
    small.sums.read_into(result);  // the epoch's end: the host reads the sums
    small.sums.reset({});
    reserved.push_back(cuda::allocator_stats().reserved_bytes);
  }
  for (int epoch = 1; epoch < 20; ++epoch) {
    INFO("epoch " << epoch + 1);
    REQUIRE(reserved[epoch] == reserved[0]);
  }
}
