// A small synthetic CIFAR-format data set that the study's CNN can learn, for the
// tests of the study's code path (test_study.cpp, test_resume.cpp): each class is a
// bright 8x8 square at its own place in one colour channel, over uniform noise.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "minidl/core/rng.h"
#include "minidl/data/cifar10.h"
#include "data_test_files.h"

namespace minidl::testing {

inline constexpr std::int64_t kRecordsPerFile = 200;  // 1,000 training and 200 test images

// Label index % 10; the square of class c sits at block (c % 4, c / 4) of a 4x4
// grid of 8x8 blocks, in channel c % 3, with values 192..255; the rest is noise in 0..63.
inline std::vector<std::uint8_t> separable_records(std::int64_t first, std::int64_t count, std::uint64_t seed) {
  Generator generator(seed);
  std::vector<std::uint8_t> bytes;
  for (std::int64_t index = first; index < first + count; ++index) {
    const int label = static_cast<int>(index % 10);
    bytes.push_back(static_cast<std::uint8_t>(label));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          const bool square = c == label % 3 && y / 8 == label / 4 && x / 8 == label % 4;
          const auto noise = static_cast<std::uint8_t>(generator.next_below(64));
          bytes.push_back(square ? static_cast<std::uint8_t>(192 + noise) : noise);
        }
  }
  return bytes;
}

inline void write_separable_cifar10(const std::filesystem::path& dir, std::int64_t records_per_file = kRecordsPerFile) {
  std::filesystem::create_directories(dir);
  std::uint64_t seed = 100;
  for (data::Split split : {data::Split::train, data::Split::test}) {
    std::int64_t first = 0;
    for (const std::string& name : data::cifar10_file_names(split)) {
      write_bytes(dir / name, separable_records(first, records_per_file, seed++));
      first += records_per_file;
    }
  }
}

}  // namespace minidl::testing
