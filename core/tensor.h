/// \file
/// Tensor: a contiguous, row-major (NCHW) array of up to 4 dimensions on one device.
///
/// A Tensor is a cheap handle: copying one shares its storage, and views made by
/// reshape(), flatten() and slice() share it too. clone() and to() copy data.
/// Every operation that finds a mismatched shape, dtype or device throws
/// minidl::Error naming the operation, what it expected and what it found.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "minidl/core/device.h"
#include "minidl/core/dtype.h"
#include "minidl/core/error.h"
#include "minidl/core/rng.h"
#include "minidl/core/shape.h"
#include "minidl/core/storage.h"

namespace minidl {

/// A contiguous NCHW array on one device, a handle that shares its storage; see the top of this file.
class Tensor {
 public:
  /// An undefined tensor (no storage); defined() is false.
  Tensor() = default;

  /// Uninitialised memory of the given shape.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  /// Zeros of the given shape.
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  /// Every element set to value (converted to dtype).
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
  /// Copies values (row-major, values.size() == shape.numel()) into a new tensor.
  template <typename T>
  static Tensor from_vector(const Shape& shape, const std::vector<T>& values, Device device = Device::cpu());

  /// False for a default-constructed tensor, which has no storage.
  bool defined() const { return storage_ != nullptr; }
  /// The sizes of its dimensions.
  const Shape& shape() const { return shape_; }
  /// The number of dimensions (the shape's rank).
  int dim() const { return shape_.rank(); }
  /// Size of dimension d; negative d counts from the end (-1 is the last).
  std::int64_t size(int d) const;
  /// The number of elements.
  std::int64_t numel() const { return shape_.numel(); }
  /// The element type.
  DType dtype() const { return dtype_; }
  /// Where the elements live.
  Device device() const { return device_; }
  /// The size of the elements in bytes.
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }

  /// Typed pointer to the first element; throws if T does not match dtype().
  template <typename T> T* data() const;
  /// Untyped pointer to the first element.
  void* raw_data() const;

  /// \name Views sharing storage
  ///@{
  /// Same elements, new shape with the same numel.
  Tensor reshape(const Shape& shape) const;
  /// Dimensions start_dim..last merged into one, as torch.flatten(x, start_dim).
  Tensor flatten(int start_dim = 1) const;
  /// Rows [begin, end) of dimension 0.
  Tensor slice(std::int64_t begin, std::int64_t end) const;
  ///@}

  /// \name Copies
  ///@{
  /// A copy on device, with the same dtype.
  Tensor to(Device device) const;
  /// A copy on the same device with every element converted to dtype (as static_cast converts).
  Tensor to(DType dtype) const;
  /// A copy on the same device, with the same dtype.
  Tensor clone() const;
  /// Copies src's elements into this tensor (same shape and dtype, any devices). A copy
  /// from or to the host is done when it returns; one between CUDA tensors is queued on
  /// minidl's stream like an op (the host does not wait, and a CUDA graph can capture it).
  void copy_from(const Tensor& src);
  /// Values as a host vector (copies from the device if needed).
  template <typename T> std::vector<T> to_vector() const;
  /// The single element of a one-element tensor.
  template <typename T> T item() const;
  ///@}

  /// \name In-place fills
  /// Floating-point tensors only for the random ones.
  ///@{
  /// Sets every element to value (converted to dtype).
  Tensor& fill_(double value);
  /// Sets every element to 0.
  Tensor& zero_() { return fill_(0.0); }
  /// U(low, high): element i is low + (high - low) * u_i with u_i from word i of
  /// the generator's stream (f32) or words 2i, 2i+1 (f64).
  Tensor& uniform_(double low, double high, Generator& generator);
  /// N(mean, std) by the Box-Muller transform on pairs of uniform words.
  Tensor& normal_(double mean, double std, Generator& generator);
  ///@}

  /// Multi-line description: header with shape, dtype and device, then the
  /// values (long dimensions elided with "...").
  std::string str() const;

 private:
  void check_dtype(DType expected, const char* op) const;

  std::shared_ptr<Storage> storage_;
  std::size_t offset_bytes_ = 0;
  Shape shape_;
  DType dtype_ = DType::f32;
  Device device_;
};

/// Throws Error unless t has the expected rank: "<op>: <name> must have 4 dimensions, got (3, 4)".
void check_rank(const Tensor& t, int rank, const char* op, const char* name);
/// Throws Error unless t has the expected dtype.
void check_dtype(const Tensor& t, DType dtype, const char* op, const char* name);
/// Throws Error unless t has exactly this shape.
void check_shape(const Tensor& t, const Shape& shape, const char* op, const char* name);
/// Throws Error unless t lives on device.
void check_device(const Tensor& t, Device device, const char* op, const char* name);

}  // namespace minidl

// fmt::format("{}", shape) and fmt::format("{}", tensor) print str(). Left out of the
// API reference (cond): they are fmt's, not minidl's.
/// \cond
template <>
struct fmt::formatter<minidl::Shape> : fmt::formatter<std::string> {
  auto format(const minidl::Shape& shape, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(shape.str(), ctx);
  }
};

template <>
struct fmt::formatter<minidl::Tensor> : fmt::formatter<std::string> {
  auto format(const minidl::Tensor& tensor, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(tensor.str(), ctx);
  }
};
/// \endcond
