// Small CIFAR-10 binary files and temporary directories for the data tests
// (test_data.cpp, test_download.cpp). Tests never read the real data set.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "minidl/data/cifar10.h"

namespace minidl::testing {

// A fresh directory under the system's temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "minidl-data-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// The synthetic data set: image `index` of a split has label index % 10 and pixel
//   (index + 3 c + 5 y + 7 x) mod 256   at channel c, row y, column x,
// so every plane, row and column of every image differs from its neighbours.
inline std::int32_t synthetic_label(std::int64_t index) { return static_cast<std::int32_t>(index % 10); }
inline std::uint8_t synthetic_pixel(std::int64_t index, int c, int y, int x) {
  return static_cast<std::uint8_t>((index + 3 * c + 5 * y + 7 * x) % 256);
}

inline void write_bytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(file.good());
}

// The records of images [first, first + count) of a split in the binary layout:
// label byte, then the red, green and blue planes.
inline std::vector<std::uint8_t> synthetic_records(std::int64_t first, std::int64_t count) {
  std::vector<std::uint8_t> bytes;
  for (std::int64_t index = first; index < first + count; ++index) {
    bytes.push_back(static_cast<std::uint8_t>(synthetic_label(index)));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) bytes.push_back(synthetic_pixel(index, c, y, x));
  }
  return bytes;
}

// Writes the six files of both splits into dir, records_per_file records each.
inline void write_synthetic_cifar10(const std::filesystem::path& dir, std::int64_t records_per_file) {
  std::filesystem::create_directories(dir);
  for (data::Split split : {data::Split::train, data::Split::test}) {
    std::int64_t first = 0;
    for (const std::string& name : data::cifar10_file_names(split)) {
      write_bytes(dir / name, synthetic_records(first, records_per_file));
      first += records_per_file;
    }
  }
}

}  // namespace minidl::testing
