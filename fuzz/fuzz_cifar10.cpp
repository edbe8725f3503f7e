// Checks that the CIFAR-10 reader (data/cifar10.h, load_cifar10) either returns exactly
// the records of its files or throws minidl::Error, whatever the files hold: it never
// crashes, leaks or reads out of bounds (under AddressSanitizer and UBSan).
//
// An input is one control byte and the contents of the split's files:
//   byte 0, bits 0-1   records_per_file, 0..3 (0 must be refused)
//   byte 0, bit 2      the split: 0 test (one file), 1 train (five files)
//   bytes 1..          every file of the split holds these bytes
// A record is 3,073 bytes, so a valid file of one record is 3,073 bytes long.
#include <cstdint>
#include <cstring>
#include <string>

#include "minidl/core/error.h"
#include "minidl/data/cifar10.h"
#include "fuzz_support.h"

using namespace minidl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::int64_t records_per_file = data[0] & 0b11;
  const data::Split split = (data[0] & 0b100) ? data::Split::train : data::Split::test;
  const std::uint8_t* file_bytes = data + 1;
  const std::size_t file_size = size - 1;

  const std::filesystem::path& dir = fuzzing::scratch_dir();
  const std::vector<std::string> file_names = data::cifar10_file_names(split);
  for (const std::string& name : file_names) fuzzing::write_file(dir / name, file_bytes, file_size);

  data::Cifar10 dataset;
  try {
    dataset = data::load_cifar10(dir.string(), split, records_per_file);
  } catch (const Error&) {
    return 0;  // a clear refusal is a valid answer
  }

  // Accepted: every file held records_per_file records, and the split is their concatenation.
  fuzzing::require(static_cast<std::int64_t>(file_size) == records_per_file * data::kCifar10RecordBytes,
                   "an accepted file has records_per_file records");
  const std::int64_t records = static_cast<std::int64_t>(file_names.size()) * records_per_file;
  fuzzing::require(dataset.size() == records, "the split has every record of its files");
  fuzzing::require(dataset.images.shape() == Shape{records, 3, 32, 32}, "images are (N, 3, 32, 32)");
  const std::uint8_t* images = dataset.images.data<std::uint8_t>();
  const std::int32_t* labels = dataset.labels.data<std::int32_t>();
  for (std::int64_t index = 0; index < records; ++index) {
    const std::uint8_t* record = file_bytes + (index % records_per_file) * data::kCifar10RecordBytes;
    fuzzing::require(labels[index] == record[0], "a label is the first byte of its record");
    fuzzing::require(labels[index] >= 0 && labels[index] < data::kCifar10Classes, "a label is in 0..9");
    fuzzing::require(std::memcmp(images + index * data::kCifar10ImageBytes, record + 1, data::kCifar10ImageBytes) == 0,
                     "an image is the 3,072 bytes after its label");
  }
  return 0;
}
