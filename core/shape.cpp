#include "minidl/core/shape.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "minidl/core/error.h"

namespace minidl {

Shape::Shape(std::initializer_list<std::int64_t> sizes)
    : Shape(sizes.begin(), static_cast<int>(sizes.size())) {}

Shape::Shape(const std::int64_t* sizes, int rank) {
  if (rank > kMaxDims) fail("Shape: at most {} dimensions are supported, got {}", kMaxDims, rank);
  for (int d = 0; d < rank; ++d) {
    if (sizes[d] < 0) fail("Shape: sizes must be non-negative, got {}", sizes[d]);
    sizes_[rank_++] = sizes[d];
  }
}

std::int64_t Shape::numel() const {
  std::int64_t count = 1;
  for (std::int64_t size : *this) count *= size;
  return count;
}

bool Shape::operator==(const Shape& other) const {
  if (rank_ != other.rank_) return false;
  for (int d = 0; d < rank_; ++d)
    if (sizes_[d] != other.sizes_[d]) return false;
  return true;
}

std::string Shape::str() const { return fmt::format("({})", fmt::join(begin(), end(), ", ")); }

}  // namespace minidl
