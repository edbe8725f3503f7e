#include "minidl/kernels/workspace.h"

namespace minidl::ops {

void* Workspace::memory(std::size_t bytes, Device device) {
  if (bytes == 0) return nullptr;
  if (!memory_.defined() || memory_.nbytes() < bytes || memory_.device() != device)
    memory_ = Tensor::empty({static_cast<std::int64_t>(bytes)}, DType::u8, device);
  return memory_.raw_data();
}

}  // namespace minidl::ops
