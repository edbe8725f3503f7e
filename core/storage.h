/// \file
/// Storage: one block of memory on one device, shared by every Tensor that views it.
#pragma once

#include <cstddef>

#include "minidl/core/device.h"

namespace minidl {

/// A block of memory on one device, freed when the last Tensor viewing it is gone.
class Storage {
 public:
  /// Allocates bytes on device (uninitialised).
  Storage(std::size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  /// The memory (on device).
  void* data() const { return data_; }
  /// Its size in bytes.
  std::size_t bytes() const { return bytes_; }
  /// Where it lives.
  Device device() const { return device_; }

 private:
  void* data_;
  std::size_t bytes_;
  Device device_;
};

}  // namespace minidl
