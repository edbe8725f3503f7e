// The CIFAR-10 reader, the transforms and the DataLoader, on small synthetic files
// (data_test_files.h): 3 records per file, so 15 training and 3 test images.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include <sys/stat.h>
#include <unistd.h>

#include "minidl/data/cifar10.h"
#include "minidl/data/data_loader.h"
#include "minidl/data/transforms.h"
#include "data_test_files.h"
#include "gradcheck.h"
#include "special_files.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::data;
using testing::synthetic_label;
using testing::synthetic_pixel;
using testing::TempDir;

namespace {

constexpr std::int64_t kRecordsPerFile = 3;
constexpr std::int64_t kImageBytes = kCifar10ImageBytes;

// A directory with the six synthetic files, and the training split read from it.
struct SyntheticCifar10 {
  TempDir dir;
  SyntheticCifar10() { testing::write_synthetic_cifar10(dir.path(), kRecordsPerFile); }
  Cifar10 train() const { return load_cifar10(dir.str(), Split::train, kRecordsPerFile); }
};

std::string path_in(const TempDir& dir, const std::string& name) { return (dir.path() / name).string(); }

// The dataset indices of the samples of a batch, read back from its labels and first pixel:
// synthetic_pixel(index, 0, 0, 0) = index mod 256 (indices here are below 256).
std::vector<std::int64_t> served_indices(const Batch& batch, const Normalize& normalize = kCifar10Normalize) {
  std::vector<float> images = batch.images.to_vector<float>();
  std::vector<std::int64_t> indices;
  for (std::int64_t b = 0; b < batch.images.size(0); ++b) {
    float value = images[b * kImageBytes];
    indices.push_back(std::lround((value * normalize.stddev[0] + normalize.mean[0]) * 255.0f));
  }
  return indices;
}

// Every batch of one pass over the loader (the rest of its current epoch).
std::vector<Batch> one_epoch(DataLoader& loader) {
  std::vector<Batch> batches;
  for (const Batch& batch : loader) batches.push_back({batch.images.clone(), batch.labels.clone()});
  return batches;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reader

TEST_CASE("load_cifar10 reads the labels and the red green and blue planes of every record in order") {
  SyntheticCifar10 files;
  for (Split split : {Split::train, Split::test}) {
    Cifar10 dataset = load_cifar10(files.dir.str(), split, kRecordsPerFile);
    const std::int64_t size = split == Split::train ? 5 * kRecordsPerFile : kRecordsPerFile;
    REQUIRE(dataset.size() == size);
    REQUIRE(dataset.images.shape() == Shape{size, 3, 32, 32});
    REQUIRE(dataset.images.dtype() == DType::u8);
    REQUIRE(dataset.labels.shape() == Shape{size});
    REQUIRE(dataset.labels.dtype() == DType::i32);
    const std::uint8_t* images = dataset.images.data<std::uint8_t>();
    for (std::int64_t n = 0; n < size; ++n) {
      REQUIRE(dataset.labels.data<std::int32_t>()[n] == synthetic_label(n));
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 32; ++y)
          for (int x = 0; x < 32; ++x)
            REQUIRE(images[((n * 3 + c) * 32 + y) * 32 + x] == synthetic_pixel(n, c, y, x));
    }
  }
}

TEST_CASE("load_cifar10 names a missing file and says where the files can come from") {
  SyntheticCifar10 files;
  std::filesystem::remove(files.dir.path() / "data_batch_3.bin");
  REQUIRE_THROWS_MINIDL(files.train(),
                        "data/cifar10: missing file " + path_in(files.dir, "data_batch_3.bin") +
                            ": put the CIFAR-10 binary files (cifar-10-batches-bin) there, set MINIDL_CIFAR10_DIR, "
                            "or pass --download");
  // The test split does not need the training files.
  REQUIRE(load_cifar10(files.dir.str(), Split::test, kRecordsPerFile).size() == kRecordsPerFile);
}

TEST_CASE("load_cifar10 names a file it cannot read") {
  SyntheticCifar10 files;
  std::filesystem::path path = files.dir.path() / "test_batch.bin";
  std::filesystem::remove(path);
  std::filesystem::create_directory(path);
  REQUIRE_THROWS_MINIDL(load_cifar10(files.dir.str(), Split::test, kRecordsPerFile),
                        "data/cifar10: " + path.string() + ": a directory, not a regular file");

  // Permissions do not stop root, who runs the tests in some containers.
  if (::geteuid() != 0) {
    std::filesystem::remove(path);
    testing::write_bytes(path, testing::synthetic_records(0, kRecordsPerFile));
    ::chmod(path.c_str(), 0);
    REQUIRE_THROWS_MINIDL(load_cifar10(files.dir.str(), Split::test, kRecordsPerFile),
                          "data/cifar10: " + path.string() + ": cannot open: Permission denied");
  }
}

TEST_CASE("load_cifar10 refuses a data file that is a FIFO or socket or device at once") {
  SyntheticCifar10 files;
  const std::filesystem::path path = files.dir.path() / "test_batch.bin";
  for (const std::string& kind : testing::kSpecialFileKinds) {
    INFO(kind);
    testing::make_special_file(kind, path.string());
    testing::FifoUnblocker unblocker(path.string());
    REQUIRE_THROWS_MINIDL(load_cifar10(files.dir.str(), Split::test, kRecordsPerFile),
                          "data/cifar10: " + path.string() + ": " + kind + ", not a regular file");
    REQUIRE_FALSE(unblocker.blocked());
  }
}

TEST_CASE("load_cifar10 gives the expected and the actual size of a file too short or too long") {
  SyntheticCifar10 files;
  std::filesystem::path path = files.dir.path() / "data_batch_2.bin";
  std::vector<std::uint8_t> records = testing::synthetic_records(0, kRecordsPerFile);

  records.pop_back();
  testing::write_bytes(path, records);
  REQUIRE_THROWS_MINIDL(files.train(),
                        "data/cifar10: " + path.string() + " is too short: 9218 bytes, expected 9219 (3 records of 3073 bytes)");

  records.push_back(0);
  records.push_back(0);
  testing::write_bytes(path, records);
  REQUIRE_THROWS_MINIDL(files.train(),
                        "data/cifar10: " + path.string() + " is too long: 9220 bytes, expected 9219 (3 records of 3073 bytes)");
}

TEST_CASE("load_cifar10 names the record and the value of a label outside 0 to 9") {
  SyntheticCifar10 files;
  std::filesystem::path path = files.dir.path() / "data_batch_5.bin";
  std::vector<std::uint8_t> records = testing::synthetic_records(0, kRecordsPerFile);
  records[2 * kCifar10RecordBytes] = 10;
  testing::write_bytes(path, records);
  REQUIRE_THROWS_MINIDL(files.train(), "data/cifar10: " + path.string() + ": record 2 has label 10, expected 0..9");
}

// ---------------------------------------------------------------------------------------------
// Transforms

TEST_CASE("normalize_image computes (pixel / 255 - mean) / std per channel in float32 as PyTorch does") {
  // Pixels 0, 1, 128, 255 in each plane of a 1x4 image. The expected values are the
  // float32 results of torchvision's ToTensor() then Normalize() with the study's
  // constants, each operation rounded to float32.
  const std::vector<std::uint8_t> image = {0, 1, 128, 255, 0, 1, 128, 255, 0, 1, 128, 255};
  const float expected[3][4] = {{-2.4290657f, -2.40968084f, 0.0522037111f, 2.51408792f},
                                {-2.41825485f, -2.39858794f, 0.0991013944f, 2.59679031f},
                                {-2.22139311f, -2.2018826f, 0.275924414f, 2.75373125f}};
  std::vector<float> output(12);
  normalize_image(image.data(), 1, 4, kCifar10Normalize, output.data());
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 4; ++p) {
      INFO("channel " << c << " pixel " << int(image[c * 4 + p]));
      REQUIRE(output[c * 4 + p] == expected[c][p]);
      const double mean = std::array{0.4914, 0.4822, 0.4465}[c], stddev = std::array{0.2023, 0.1994, 0.2010}[c];
      REQUIRE(output[c * 4 + p] == Approx((image[c * 4 + p] / 255.0 - mean) / stddev).margin(1e-6));
    }
}

TEST_CASE("the no preprocessing mode gives pixel / 255 exactly") {
  std::vector<std::uint8_t> image(3 * 256);
  for (int i = 0; i < 3 * 256; ++i) image[i] = static_cast<std::uint8_t>(i % 256);
  std::vector<float> output(image.size());
  normalize_image(image.data(), 16, 16, kNoNormalize, output.data());
  for (std::size_t i = 0; i < image.size(); ++i) REQUIRE(output[i] == static_cast<float>(image[i]) / 255.0f);
  REQUIRE(output[1] == 0.00392156886f);
  REQUIRE(output[255] == 1.0f);
}

TEST_CASE("flip_image_horizontally mirrors every row and twice gives the image back") {
  std::vector<std::uint8_t> image(3 * 4 * 5);
  std::iota(image.begin(), image.end(), 0);
  std::vector<std::uint8_t> flipped = image;
  flip_image_horizontally(flipped.data(), 4, 5);
  for (int row = 0; row < 3 * 4; ++row)
    for (int x = 0; x < 5; ++x) REQUIRE(flipped[row * 5 + x] == image[row * 5 + 4 - x]);
  flip_image_horizontally(flipped.data(), 4, 5);
  REQUIRE(flipped == image);
}

TEST_CASE("crop_image keeps the shape and shows the zero padding around the shifted image") {
  const int height = 6, width = 5, padding = 2;
  std::vector<std::uint8_t> image(3 * height * width);
  std::iota(image.begin(), image.end(), 1);  // no zero pixel in the image itself
  std::vector<std::uint8_t> output(image.size(), 99);

  crop_image(image.data(), height, width, padding, padding, padding, output.data());
  REQUIRE(output == image);  // the centred window

  // The top-left window: the image moves down and right by `padding`.
  crop_image(image.data(), height, width, padding, 0, 0, output.data());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        std::uint8_t value = output[(c * height + y) * width + x];
        if (y < padding || x < padding) {
          REQUIRE(value == 0);
        } else {
          REQUIRE(value == image[(c * height + y - padding) * width + x - padding]);
        }
      }

  REQUIRE_THROWS_MINIDL(crop_image(image.data(), height, width, padding, 5, 0, output.data()),
                        "crop_image: corner (5, 0) is outside [0, 4] for padding 2");
}

TEST_CASE("augment_image draws crops and flips from the generator reproducibly") {
  std::vector<std::uint8_t> image(kImageBytes);
  std::iota(image.begin(), image.end(), 0);
  const Augmentation augmentation{.crop_padding = 4, .horizontal_flip = true};
  std::vector<std::uint8_t> first(kImageBytes), second(kImageBytes);
  Generator generator(7), same_seed(7);
  std::vector<std::vector<std::uint8_t>> distinct;
  for (int draw = 0; draw < 40; ++draw) {
    augment_image(image.data(), 32, 32, augmentation, generator, first.data());
    augment_image(image.data(), 32, 32, augmentation, same_seed, second.data());
    REQUIRE(first == second);
    if (std::find(distinct.begin(), distinct.end(), first) == distinct.end()) distinct.push_back(first);
  }
  // 81 crops times 2 flips: 40 draws give many different images.
  REQUIRE(distinct.size() > 20);

  // Without augmentation: a copy, and no random number drawn.
  std::uint64_t offset = generator.offset();
  augment_image(image.data(), 32, 32, Augmentation{}, generator, first.data());
  REQUIRE(first == image);
  REQUIRE(generator.offset() == offset);
}

// ---------------------------------------------------------------------------------------------
// DataLoader

TEST_CASE("DataLoader serves normalized images and their labels in order with a partial last batch") {
  SyntheticCifar10 files;
  Cifar10 dataset = files.train();
  DataLoader loader(dataset, {.batch_size = 4});
  REQUIRE(loader.num_batches() == 4);

  std::vector<Batch> batches = one_epoch(loader);
  REQUIRE(batches.size() == 4);
  std::int64_t index = 0;
  for (const Batch& batch : batches) {
    const std::int64_t count = index + 4 <= 15 ? 4 : 3;
    REQUIRE(batch.images.shape() == Shape{count, 3, 32, 32});
    REQUIRE(batch.images.dtype() == DType::f32);
    REQUIRE(batch.labels.shape() == Shape{count});
    REQUIRE(batch.labels.dtype() == DType::i32);
    Tensor expected = Tensor::empty({count, 3, 32, 32});
    for (std::int64_t b = 0; b < count; ++b) {
      normalize_image(dataset.images.data<std::uint8_t>() + (index + b) * kImageBytes, 32, 32, kCifar10Normalize,
                      expected.data<float>() + b * kImageBytes);
      REQUIRE(batch.labels.data<std::int32_t>()[b] == synthetic_label(index + b));
    }
    testing::require_close(batch.images, expected, 0.0, 0.0, "images");
    index += count;
  }
  REQUIRE(index == 15);
}

TEST_CASE("DataLoader with drop_last leaves out the partial last batch") {
  SyntheticCifar10 files;
  DataLoader loader(files.train(), {.batch_size = 4, .drop_last = true});
  REQUIRE(loader.num_batches() == 3);
  std::vector<Batch> batches = one_epoch(loader);
  REQUIRE(batches.size() == 3);
  for (const Batch& batch : batches) REQUIRE(batch.images.size(0) == 4);

  DataLoader exact(files.train(), {.batch_size = 5, .drop_last = true});
  REQUIRE(exact.num_batches() == 3);
}

TEST_CASE("DataLoader uses the no preprocessing mode when asked") {
  SyntheticCifar10 files;
  Cifar10 dataset = files.train();
  DataLoader loader(dataset, {.batch_size = 15, .normalize = kNoNormalize});
  const Batch& batch = *loader.begin();
  std::vector<float> images = batch.images.to_vector<float>();
  for (std::int64_t i = 0; i < dataset.images.numel(); ++i)
    REQUIRE(images[i] == static_cast<float>(dataset.images.data<std::uint8_t>()[i]) / 255.0f);
}

TEST_CASE("DataLoader shuffles into a permutation that depends on the seed and the epoch only") {
  SyntheticCifar10 files;
  const DataLoaderOptions options{.batch_size = 4, .shuffle = true, .seed = 5};
  DataLoader loader(files.train(), options);
  std::vector<std::int64_t> epoch0 = loader.permutation();
  std::vector<std::int64_t> sorted = epoch0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> identity(15);
  std::iota(identity.begin(), identity.end(), 0);
  REQUIRE(sorted == identity);
  REQUIRE(epoch0 != identity);

  // The batches follow the permutation, labels with their images.
  std::vector<std::int64_t> served;
  for (const Batch& batch : loader) {
    std::vector<std::int64_t> indices = served_indices(batch);
    for (std::size_t b = 0; b < indices.size(); ++b)
      REQUIRE(batch.labels.data<std::int32_t>()[b] == synthetic_label(indices[b]));
    served.insert(served.end(), indices.begin(), indices.end());
  }
  REQUIRE(served == epoch0);

  // After a full pass the loader is at epoch 1, in another order.
  REQUIRE(loader.epoch() == 1);
  std::vector<std::int64_t> epoch1 = loader.permutation();
  REQUIRE(epoch1 != epoch0);

  // Same seed, same orders; another seed, another order.
  DataLoader same_seed(files.train(), options);
  REQUIRE(same_seed.permutation() == epoch0);
  same_seed.set_epoch(1);
  REQUIRE(same_seed.permutation() == epoch1);
  DataLoaderOptions other_options = options;
  other_options.seed = 6;
  REQUIRE(DataLoader(files.train(), other_options).permutation() != epoch0);

  // Without shuffle the order is the identity in every epoch.
  DataLoader in_order(files.train(), {.batch_size = 4});
  in_order.set_epoch(3);
  REQUIRE(in_order.permutation() == identity);
}

TEST_CASE("DataLoader rejects a batch size outside 1 to the dataset size") {
  SyntheticCifar10 files;
  REQUIRE_THROWS_MINIDL(DataLoader(files.train(), {.batch_size = 0}),
                        "DataLoader: batch_size must be between 1 and the dataset size 15, got 0");
  REQUIRE_THROWS_MINIDL(DataLoader(files.train(), {.batch_size = 16}),
                        "DataLoader: batch_size must be between 1 and the dataset size 15, got 16");
  REQUIRE(DataLoader(files.train(), {.batch_size = 15}).num_batches() == 1);
}

TEST_CASE("DataLoader reuses its batch memory from batch to batch and epoch to epoch") {
  SyntheticCifar10 files;
  DataLoader loader(files.train(), {.batch_size = 4, .shuffle = true, .augmentation = {4, true}});
  std::set<void*> image_memory;
  for (int epoch = 0; epoch < 2; ++epoch)
    for (const Batch& batch : loader) image_memory.insert(batch.images.raw_data());
  REQUIRE(image_memory.size() == 1);
}

TEST_CASE("DataLoader pads random crops with the normalized value of a zero pixel") {
  SyntheticCifar10 files;
  DataLoader loader(files.train(), {.batch_size = 15, .seed = 3, .augmentation = {.crop_padding = 4}});
  const float padded = (0.0f - kCifar10Normalize.mean[0]) / kCifar10Normalize.stddev[0];
  const Batch& batch = *loader.begin();
  // Some image of 15 is shifted away from its top-left corner: corner pixels equal to a padded zero appear.
  std::int64_t padded_corners = 0;
  for (std::int64_t b = 0; b < 15; ++b) padded_corners += batch.images.data<float>()[b * kImageBytes] == padded;
  REQUIRE(padded_corners > 0);
}

TEST_CASE("DataLoader state restores a shuffling and augmenting loader in the middle of an epoch") {
  SyntheticCifar10 files;
  const DataLoaderOptions options{.batch_size = 4, .shuffle = true, .seed = 9, .augmentation = {4, true}};
  DataLoader loader(files.train(), options);
  one_epoch(loader);  // epoch 0
  DataLoaderState state;
  std::vector<Batch> rest;
  int served = 0;
  for (const Batch& batch : loader) {
    if (++served == 2) {
      state = loader.state();
    } else if (served > 2) {
      rest.push_back({batch.images.clone(), batch.labels.clone()});
    }
  }
  REQUIRE(state.epoch == 1);
  REQUIRE(state.batches_served == 2);

  DataLoader resumed(files.train(), options);
  resumed.load_state(state);
  REQUIRE(resumed.epoch() == 1);
  std::vector<Batch> resumed_rest = one_epoch(resumed);
  REQUIRE(resumed_rest.size() == rest.size());
  for (std::size_t i = 0; i < rest.size(); ++i) {
    testing::require_close(resumed_rest[i].images, rest[i].images, 0.0, 0.0, "images");
    testing::require_close(resumed_rest[i].labels, rest[i].labels, 0.0, 0.0, "labels");
  }

  REQUIRE_THROWS_MINIDL(resumed.load_state({.epoch = 0, .batches_served = 5}),
                        "DataLoader: batches_served must be between 0 and 4 (batches per epoch), got 5");
}

TEST_CASE("DataLoader on cuda serves the same batches as on the cpu") {
  if (testing::skip_unless_cuda()) return;
  // The 3 test images, so that the emulator runs few blocks.
  SyntheticCifar10 files;
  const Cifar10 dataset = load_cifar10(files.dir.str(), Split::test, kRecordsPerFile);
  for (Augmentation augmentation : {Augmentation{}, Augmentation{4, true}}) {
    INFO("crop_padding " << augmentation.crop_padding);
    DataLoaderOptions options{.batch_size = 2, .shuffle = true, .seed = 2, .augmentation = augmentation};
    DataLoader on_cpu(dataset, options);
    options.device = Device::cuda();
    DataLoader on_cuda(dataset, options);
    for (int epoch = 0; epoch < 2; ++epoch) {
      std::vector<Batch> expected = one_epoch(on_cpu), actual = one_epoch(on_cuda);
      REQUIRE(actual.size() == 2);
      for (std::size_t i = 0; i < actual.size(); ++i) {
        REQUIRE(actual[i].images.device() == Device::cuda());
        REQUIRE(actual[i].labels.device() == Device::cuda());
        testing::require_close(actual[i].images, expected[i].images, 1e-6, 1e-6, "images");
        testing::require_close(actual[i].labels, expected[i].labels, 0.0, 0.0, "labels");
      }
    }
  }
}
