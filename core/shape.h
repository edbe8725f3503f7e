/// \file
/// Shape: the sizes of a tensor's dimensions, at most 4 (N, C, H, W).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace minidl {

/// The sizes of up to 4 dimensions; see the top of this file.
class Shape {
 public:
  static constexpr int kMaxDims = 4;  ///< the most dimensions a Shape holds

  /// Rank 0: a scalar.
  Shape() = default;
  /// Shape{N, C, H, W}; throws Error for more than 4 dimensions or a negative size.
  Shape(std::initializer_list<std::int64_t> sizes);
  /// From sizes held elsewhere (a file header, a vector); same checks.
  Shape(const std::int64_t* sizes, int rank);

  /// The number of dimensions, 0 to 4.
  int rank() const { return rank_; }
  /// The size of dimension dim (0 <= dim < rank(), not checked).
  std::int64_t operator[](int dim) const { return sizes_[dim]; }
  /// Number of elements: the product of the sizes (1 for rank 0).
  std::int64_t numel() const;
  ///@{
  /// The sizes, for range-for loops.
  const std::int64_t* begin() const { return sizes_.data(); }
  const std::int64_t* end() const { return sizes_.data() + rank_; }
  ///@}

  ///@{
  /// Same rank and same sizes.
  bool operator==(const Shape& other) const;
  bool operator!=(const Shape& other) const { return !(*this == other); }
  ///@}

  /// "(10, 3, 32, 32)"
  std::string str() const;

 private:
  std::array<std::int64_t, kMaxDims> sizes_{};
  int rank_ = 0;
};

}  // namespace minidl
