// Storage: one block of memory on one device, shared by every Tensor that views it.
#pragma once

#include <cstddef>

#include "core/device.h"

namespace minidl {

class Storage {
 public:
  // Allocates bytes on device (uninitialised).
  Storage(std::size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_;
  std::size_t bytes_;
  Device device_;
};

}  // namespace minidl
