#include "minidl/core/storage.h"

#include "minidl/core/memory.h"

namespace minidl {

Storage::Storage(std::size_t bytes, Device device)
    : data_(allocate(device, bytes)), bytes_(bytes), device_(device) {}

Storage::~Storage() { deallocate(device_, data_, bytes_); }

}  // namespace minidl
