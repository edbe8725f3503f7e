/// \file
/// Opening a file to read that must be a regular file (a data file, a model, a
/// checkpoint), in the one way every reader of minidl shares: the open never blocks
/// (a FIFO's plain open would wait for a writer, forever) and the file's type is read
/// from the open descriptor, not from a stat before the open that a rename could
/// outdate. A FIFO, socket, device or directory is refused with its kind named.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "minidl/core/error.h"

namespace minidl {

/// Thrown when the file does not exist, so that a reader can say where the file
/// should come from; what() is "<what>: <path>: cannot open: No such file or directory".
class MissingFile : public Error {
 public:
  using Error::Error;
};

/// A regular file open for reading, closed on destruction. Every Error names what
/// reads it (what, e.g. "safetensors") and the path.
class RegularFile {
 public:
  /// Opens path, else Error: "<what>: <path>: a FIFO, not a regular file",
  /// "<what>: <path>: cannot open: Permission denied", or MissingFile.
  RegularFile(std::string path, const char* what);
  ~RegularFile();
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  /// Its size in bytes when it was opened.
  std::uint64_t size() const { return size_; }
  /// The path it was opened by.
  const std::string& path() const { return path_; }

  /// Reads exactly bytes bytes at offset, else Error ("<what>: <path>: the file ended
  /// early at byte N", or the system's reason).
  void read_at(void* destination, std::size_t bytes, std::uint64_t offset) const;

  /// Reads at most bytes bytes at offset and returns how many (0 at the end).
  std::size_t read_some_at(void* destination, std::size_t bytes, std::uint64_t offset) const;

 private:
  std::string path_;
  const char* what_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace minidl
