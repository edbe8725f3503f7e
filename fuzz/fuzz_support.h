// What both fuzz targets need: the readers take file paths, so each input is written
// to a file in a temporary directory of the fuzzing process first.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace minidl::fuzzing {

// A directory of its own for this process, made on first use and removed at exit.
inline const std::filesystem::path& scratch_dir() {
  struct ScratchDir {
    std::filesystem::path path;
    ScratchDir() {
      std::string pattern = (std::filesystem::temp_directory_path() / "minidl-fuzz-XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) {
        std::perror("minidl fuzz: mkdtemp");
        std::abort();
      }
      path = pattern;
    }
    ~ScratchDir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const ScratchDir dir;
  return dir.path;
}

// Replaces the file at path with the bytes data[0, size).
inline void write_file(const std::filesystem::path& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!file.good()) {
    std::fprintf(stderr, "minidl fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

// A broken property of a reader: prints it and aborts, which libFuzzer reports as a crash
// and saves the input.
inline void require(bool condition, const char* property) {
  if (condition) return;
  std::fprintf(stderr, "minidl fuzz: property broken: %s\n", property);
  std::abort();
}

}  // namespace minidl::fuzzing
