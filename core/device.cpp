#include "minidl/core/device.h"

#include <charconv>

#include "minidl/core/cuda_runtime.h"
#include "minidl/core/error.h"

namespace minidl {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : fmt::format("cuda:{}", index);
}

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  if (text.starts_with("cuda:")) {
    int index = -1;
    const char* first = text.data() + 5;
    const char* last = text.data() + text.size();
    auto [end, error] = std::from_chars(first, last, index);
    if (error == std::errc() && end == last && first != last && index >= 0) return Device::cuda(index);
  }
  fail("device: expected \"cpu\", \"cuda\" or \"cuda:N\", got \"{}\"", text);
}

bool cuda_is_built() { return cuda::is_built(); }
bool cuda_is_emulated() { return cuda::is_emulated(); }
bool cuda_is_available() { return cuda::is_available(); }
std::string cuda_unavailable_reason() { return cuda::unavailable_reason(); }

void require_cuda(const std::string& op) {
  if (!cuda_is_available()) fail("{}: {}", op, cuda_unavailable_reason());
}

}  // namespace minidl
