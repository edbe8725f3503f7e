// A table in device memory that a kernel reads: one record per tensor it works on
// (the parameters of an SGD step, the gradients a divergence check reads), so that
// one launch serves them all. A copy of a host vector, built once, when the tensors
// have their final storage, and reused at every step.
#pragma once

#include <cstddef>
#include <vector>

#include "minidl/core/cuda_runtime.h"

namespace minidl::cuda {

template <typename Record>
class DeviceTable {
 public:
  explicit DeviceTable(const std::vector<Record>& records) : size_(static_cast<unsigned>(records.size())) {
    if (records.empty()) return;
    device_table_ = static_cast<Record*>(device_malloc(bytes()));
    copy_host_to_device(device_table_, records.data(), bytes());
  }
  ~DeviceTable() { device_free(device_table_, bytes()); }  // nullptr (no records) is ignored
  DeviceTable(const DeviceTable&) = delete;
  DeviceTable& operator=(const DeviceTable&) = delete;

  const Record* device_table() const { return device_table_; }
  unsigned size() const { return size_; }

 private:
  std::size_t bytes() const { return size_ * sizeof(Record); }

  Record* device_table_ = nullptr;
  unsigned size_ = 0;
};

}  // namespace minidl::cuda
