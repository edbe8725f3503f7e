#include "minidl/data/cifar10.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>


#include "minidl/core/error.h"
#include "minidl/core/regular_file.h"

namespace minidl::data {

namespace {

namespace fs = std::filesystem;

// Reads the whole file at path, which must be exactly buffer.size() bytes long, into
// buffer.
void read_exact_file(const std::string& path, std::vector<std::uint8_t>& buffer, std::int64_t records_per_file) {
  std::optional<RegularFile> file;
  try {
    file.emplace(path, "data/cifar10");
  } catch (const MissingFile&) {
    fail("data/cifar10: missing file {}: put the CIFAR-10 binary files (cifar-10-batches-bin) there, set {}, or "
         "pass --download",
         path, kCifar10DirVariable);
  }
  const auto expected_bytes = static_cast<std::uint64_t>(buffer.size());
  if (file->size() != expected_bytes)
    fail("data/cifar10: {} is too {}: {} bytes, expected {} ({} records of {} bytes)", path,
         file->size() < expected_bytes ? "short" : "long", file->size(), expected_bytes, records_per_file,
         kCifar10RecordBytes);
  file->read_at(buffer.data(), buffer.size(), 0);
}

// True when dir holds every file of both splits, each of the size records_per_file gives.
bool has_cifar10_files(const std::string& dir, std::int64_t records_per_file) {
  for (Split split : {Split::train, Split::test}) {
    for (const std::string& name : cifar10_file_names(split)) {
      std::error_code error;
      auto size_bytes = fs::file_size(fs::path(dir) / name, error);
      if (error || static_cast<std::int64_t>(size_bytes) != records_per_file * kCifar10RecordBytes) return false;
    }
  }
  return true;
}

fs::path cache_dir(const Cifar10Location& location) {
  if (!location.cache_dir.empty()) return location.cache_dir;
  if (const char* xdg_cache_home = std::getenv("XDG_CACHE_HOME"); xdg_cache_home && *xdg_cache_home)
    return fs::path(xdg_cache_home) / "minidl";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "minidl";
  return fs::path(".cache") / "minidl";
}

// Downloads and unpacks the archive into dir; any failure becomes one message that
// also says how to put the files there by hand.
void download_cifar10(const Cifar10Location& location, const std::string& dir) {
  const DownloadSource& source = location.source;
  std::string archive = (fs::path(dir) / "cifar-10-binary.tar.gz").string();
  fmt::print(stderr, "data/cifar10: downloading {} ({} bytes) into {}\n", source.url, source.size_bytes, dir);
  try {
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) fail("cannot create {}: {}", dir, error.message());
    download_verified(source, archive);
    extract_tar_gz(archive, dir, 1);  // drops the archive's top folder, cifar-10-batches-bin/
    if (!has_cifar10_files(dir, location.records_per_file))
      fail("{} does not hold the six binary files of {} records each", archive, location.records_per_file);
  } catch (const Error& error) {
    fail("data/cifar10: could not download CIFAR-10: {}. Fetch {} yourself, unpack it and put the files of its "
         "folder cifar-10-batches-bin in {} (or elsewhere, and pass --data-dir or set {})",
         error.what(), source.url, dir, kCifar10DirVariable);
  }
}

}  // namespace

std::vector<std::string> cifar10_file_names(Split split) {
  if (split == Split::test) return {"test_batch.bin"};
  return {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"};
}

Cifar10 load_cifar10(const std::string& dir, Split split, std::int64_t records_per_file) {
  if (records_per_file < 1 || records_per_file > kCifar10RecordsPerFile)
    fail("data/cifar10: records_per_file {} is out of range (1 to {}, CIFAR-10's)", records_per_file,
         kCifar10RecordsPerFile);
  if (std::error_code error; fs::exists(dir, error) && !fs::is_directory(dir, error))
    fail("data/cifar10: {} is not a directory", dir);
  std::vector<std::string> file_names = cifar10_file_names(split);
  const auto size = static_cast<std::int64_t>(file_names.size()) * records_per_file;
  Cifar10 dataset{Tensor::empty({size, kCifar10Channels, kCifar10Height, kCifar10Width}, DType::u8),
                  Tensor::empty({size}, DType::i32)};
  std::uint8_t* images = dataset.images.data<std::uint8_t>();
  std::int32_t* labels = dataset.labels.data<std::int32_t>();

  std::vector<std::uint8_t> file_bytes(static_cast<std::size_t>(records_per_file * kCifar10RecordBytes));
  std::int64_t index = 0;  // of the image in the split
  for (const std::string& name : file_names) {
    std::string path = (fs::path(dir) / name).string();
    read_exact_file(path, file_bytes, records_per_file);
    for (std::int64_t record = 0; record < records_per_file; ++record, ++index) {
      // doc:cifar10-record
      const std::uint8_t* bytes = file_bytes.data() + record * kCifar10RecordBytes;
      if (bytes[0] >= kCifar10Classes)
        fail("data/cifar10: {}: record {} has label {}, expected 0..{}", path, record, bytes[0], kCifar10Classes - 1);
      labels[index] = bytes[0];
      std::memcpy(images + index * kCifar10ImageBytes, bytes + 1, kCifar10ImageBytes);
    }
  }
  return dataset;
}

std::string find_cifar10(const Cifar10Location& location) {
  std::string dir;
  bool named = true;  // by the caller or the environment
  if (location.data_dir) {
    dir = *location.data_dir;
  } else if (const char* env_dir = std::getenv(kCifar10DirVariable); env_dir && *env_dir) {
    dir = env_dir;
  } else {
    dir = (cache_dir(location) / "cifar-10-batches-bin").string();
    named = false;
  }

  if (has_cifar10_files(dir, location.records_per_file)) return dir;
  if (location.allow_download) {
    download_cifar10(location, dir);
    return dir;
  }
  if (named) return dir;
  fail("data/cifar10: no CIFAR-10 data: put the binary files (cifar-10-batches-bin) in a directory and pass "
       "--data-dir DIR or set {}, or pass --download to fetch them ({} MB) into {}",
       kCifar10DirVariable, location.source.size_bytes / 1'000'000, dir);
}

}  // namespace minidl::data
