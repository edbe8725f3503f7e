// Tensor: a contiguous, row-major (NCHW) array of up to 4 dimensions on one device.
//
// A Tensor is a cheap handle: copying one shares its storage, and views made by
// reshape(), flatten() and slice() share it too. clone() and to() copy data.
// Every operation that finds a mismatched shape, dtype or device throws
// minidl::Error naming the operation, what it expected and what it found.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/shape.h"
#include "core/storage.h"

namespace minidl {

class Tensor {
 public:
  // An undefined tensor (no storage); defined() is false.
  Tensor() = default;

  // Uninitialised memory of the given shape.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
  // Copies values (row-major, values.size() == shape.numel()) into a new tensor.
  template <typename T>
  static Tensor from_vector(const Shape& shape, const std::vector<T>& values, Device device = Device::cpu());

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int dim() const { return shape_.rank(); }
  // Size of dimension d; negative d counts from the end (-1 is the last).
  std::int64_t size(int d) const;
  std::int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }

  // Typed pointer to the first element; throws if T does not match dtype().
  template <typename T> T* data() const;
  void* raw_data() const;

  // Views sharing storage.
  // Same elements, new shape with the same numel.
  Tensor reshape(const Shape& shape) const;
  // Dimensions start_dim..last merged into one, as torch.flatten(x, start_dim).
  Tensor flatten(int start_dim = 1) const;
  // Rows [begin, end) of dimension 0.
  Tensor slice(std::int64_t begin, std::int64_t end) const;

  // Copies.
  Tensor to(Device device) const;
  // A copy on the same device with every element converted to dtype (as static_cast converts).
  Tensor to(DType dtype) const;
  Tensor clone() const;
  // Copies src's elements into this tensor (same shape and dtype, any devices).
  void copy_from(const Tensor& src);
  // Values as a host vector (copies from the device if needed).
  template <typename T> std::vector<T> to_vector() const;
  // The single element of a one-element tensor.
  template <typename T> T item() const;

  // In-place fills. Floating-point tensors only for the random ones.
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  // U(low, high): element i is low + (high - low) * u_i with u_i from word i of
  // the generator's stream (f32) or words 2i, 2i+1 (f64).
  Tensor& uniform_(double low, double high, Generator& generator);
  // N(mean, std) by the Box-Muller transform on pairs of uniform words.
  Tensor& normal_(double mean, double std, Generator& generator);

  // Multi-line description: header with shape, dtype and device, then the
  // values (long dimensions elided with "...").
  std::string str() const;

 private:
  void check_dtype(DType expected, const char* op) const;

  std::shared_ptr<Storage> storage_;
  std::size_t offset_bytes_ = 0;
  Shape shape_;
  DType dtype_ = DType::f32;
  Device device_;
};

// Throws Error unless t has the expected rank: "<op>: <name> must have 4 dimensions, got (3, 4)".
void check_rank(const Tensor& t, int rank, const char* op, const char* name);
// Throws Error unless t has the expected dtype.
void check_dtype(const Tensor& t, DType dtype, const char* op, const char* name);
// Throws Error unless t has exactly this shape.
void check_shape(const Tensor& t, const Shape& shape, const char* op, const char* name);
// Throws Error unless t lives on device.
void check_device(const Tensor& t, Device device, const char* op, const char* name);

}  // namespace minidl

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
