#include "minidl/core/tensor.h"

#include <cmath>
#include <cstring>
#include <numbers>

#include "minidl/core/cuda_runtime.h"
#include "minidl/core/memory.h"
#include "minidl/core/philox.h"

namespace minidl {

namespace {

// Calls fn(T*) with T the C++ type of dtype.
template <typename Fn>
void visit_dtype(DType dtype, void* data, Fn&& fn) {
  switch (dtype) {
    case DType::f32: fn(static_cast<float*>(data)); return;
    case DType::f64: fn(static_cast<double*>(data)); return;
    case DType::u8: fn(static_cast<std::uint8_t*>(data)); return;
    case DType::i32: fn(static_cast<std::int32_t*>(data)); return;
    case DType::i64: fn(static_cast<std::int64_t*>(data)); return;
  }
}

bool is_floating(DType dtype) { return dtype == DType::f32 || dtype == DType::f64; }

// Runs fill(host_tensor) on a CPU tensor of t's shape and dtype, then copies it
// into t. CPU tensors are filled in place.
template <typename Fill>
void fill_through_host(Tensor& t, Fill&& fill) {
  if (t.device().is_cpu()) {
    fill(t);
    return;
  }
  Tensor host = Tensor::empty(t.shape(), t.dtype());
  fill(host);
  t.copy_from(host);
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.device_ = device;
  t.storage_ = std::make_shared<Storage>(t.nbytes(), device);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

template <typename T>
Tensor Tensor::from_vector(const Shape& shape, const std::vector<T>& values, Device device) {
  if (static_cast<std::int64_t>(values.size()) != shape.numel())
    fail("Tensor::from_vector: shape {} needs {} values, got {}", shape.str(), shape.numel(), values.size());
  Tensor t = empty(shape, dtype_of<T>(), device);
  copy_bytes(t.raw_data(), device, values.data(), Device::cpu(), t.nbytes());
  return t;
}

std::int64_t Tensor::size(int d) const {
  int rank = dim();
  int index = d < 0 ? d + rank : d;
  if (index < 0 || index >= rank) fail("Tensor::size: dimension {} is out of range for shape {}", d, shape_.str());
  return shape_[index];
}

void Tensor::check_dtype(DType expected, const char* op) const {
  if (!defined()) fail("{}: the tensor is undefined", op);
  if (dtype_ != expected) fail("{}: expected dtype {}, got {}", op, dtype_name(expected), dtype_name(dtype_));
}

template <typename T>
T* Tensor::data() const {
  check_dtype(dtype_of<T>(), "Tensor::data");
  return static_cast<T*>(raw_data());
}

void* Tensor::raw_data() const {
  if (!defined()) fail("Tensor::raw_data: the tensor is undefined");
  return static_cast<char*>(storage_->data()) + offset_bytes_;
}

Tensor Tensor::reshape(const Shape& shape) const {
  if (shape.numel() != numel())
    fail("Tensor::reshape: cannot view {} ({} elements) as {} ({} elements)", shape_.str(), numel(), shape.str(), shape.numel());
  Tensor view = *this;
  view.shape_ = shape;
  return view;
}

Tensor Tensor::flatten(int start_dim) const {
  int rank = dim();
  int start = start_dim < 0 ? start_dim + rank : start_dim;
  if (start < 0 || start >= rank) fail("Tensor::flatten: start_dim {} is out of range for shape {}", start_dim, shape_.str());
  std::int64_t sizes[Shape::kMaxDims];
  for (int d = 0; d < start; ++d) sizes[d] = shape_[d];
  sizes[start] = 1;
  for (int d = start; d < rank; ++d) sizes[start] *= shape_[d];
  return reshape(Shape(sizes, start + 1));
}

Tensor Tensor::slice(std::int64_t begin, std::int64_t end) const {
  if (dim() == 0) fail("Tensor::slice: cannot slice a 0-dimensional tensor");
  if (begin < 0 || end < begin || end > shape_[0])
    fail("Tensor::slice: rows [{}, {}) are out of range for shape {}", begin, end, shape_.str());
  std::int64_t sizes[Shape::kMaxDims];
  for (int d = 0; d < dim(); ++d) sizes[d] = shape_[d];
  sizes[0] = end - begin;
  Tensor view = *this;
  view.shape_ = Shape(sizes, dim());
  std::int64_t row_elements = shape_[0] == 0 ? 0 : numel() / shape_[0];
  view.offset_bytes_ += static_cast<std::size_t>(begin * row_elements) * dtype_size(dtype_);
  return view;
}

Tensor Tensor::to(Device device) const {
  Tensor copy = empty(shape_, dtype_, device);
  copy.copy_from(*this);
  return copy;
}

Tensor Tensor::to(DType dtype) const {
  Tensor source = device_.is_cpu() ? *this : to(Device::cpu());
  Tensor converted = empty(shape_, dtype);
  visit_dtype(dtype_, source.raw_data(), [&](auto* from) {
    visit_dtype(dtype, converted.raw_data(), [&](auto* to) {
      using To = std::remove_pointer_t<decltype(to)>;
      for (std::int64_t i = 0; i < numel(); ++i) to[i] = static_cast<To>(from[i]);
    });
  });
  return device_.is_cpu() ? converted : converted.to(device_);
}

Tensor Tensor::clone() const { return to(device_); }

void Tensor::copy_from(const Tensor& src) {
  if (!defined() || !src.defined()) fail("Tensor::copy_from: the tensor is undefined");
  if (src.dtype_ != dtype_) fail("Tensor::copy_from: expected dtype {}, got {}", dtype_name(dtype_), dtype_name(src.dtype_));
  if (src.shape_ != shape_) fail("Tensor::copy_from: expected shape {}, got {}", shape_.str(), src.shape_.str());
  copy_bytes(raw_data(), device_, src.raw_data(), src.device_, nbytes());
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  check_dtype(dtype_of<T>(), "Tensor::to_vector");
  std::vector<T> values(static_cast<std::size_t>(numel()));
  copy_bytes(values.data(), Device::cpu(), raw_data(), device_, nbytes());
  return values;
}

template <typename T>
T Tensor::item() const {
  if (numel() != 1) fail("Tensor::item: expected one element, got shape {}", shape_.str());
  return to_vector<T>()[0];
}

Tensor& Tensor::fill_(double value) {
  if (!defined()) fail("Tensor::fill_: the tensor is undefined");
  // +0 is all zero bytes in every dtype: on CUDA one memset, which the host does not
  // wait for (zero_grad runs it every step).
  if (device_.is_cuda() && value == 0.0 && !std::signbit(value)) {
    cuda::memset_device(raw_data(), 0, nbytes());
    return *this;
  }
  fill_through_host(*this, [value](Tensor& host) {
    visit_dtype(host.dtype(), host.raw_data(), [&](auto* data) {
      using T = std::remove_pointer_t<decltype(data)>;
      for (std::int64_t i = 0; i < host.numel(); ++i) data[i] = static_cast<T>(value);
    });
  });
  return *this;
}

Tensor& Tensor::uniform_(double low, double high, Generator& generator) {
  if (!is_floating(dtype_)) fail("Tensor::uniform_: expected a floating-point tensor, got dtype {}", dtype_name(dtype_));
  std::uint64_t words_per_element = dtype_ == DType::f64 ? 2 : 1;
  std::uint64_t seed = generator.seed();
  std::uint64_t start = generator.reserve(static_cast<std::uint64_t>(numel()) * words_per_element);
  fill_through_host(*this, [&](Tensor& host) {
    if (host.dtype() == DType::f32) {
      float* data = host.data<float>();
      float lo = static_cast<float>(low), range = static_cast<float>(high - low);
      for (std::int64_t i = 0; i < host.numel(); ++i)
        data[i] = std::fma(uniform01_float(philox_word(seed, start, i)), range, lo);
    } else {
      double* data = host.data<double>();
      for (std::int64_t i = 0; i < host.numel(); ++i) {
        double u = uniform01_double(philox_word(seed, start, 2 * i), philox_word(seed, start, 2 * i + 1));
        data[i] = std::fma(u, high - low, low);
      }
    }
  });
  return *this;
}

// Box-Muller: for uniforms u1 in (0, 1] and u2 in [0, 1),
//   z0 = sqrt(-2 ln u1) cos(2 pi u2),  z1 = sqrt(-2 ln u1) sin(2 pi u2)
// are independent standard normals. Element 2k gets z0 and element 2k+1 gets z1
// of the pair drawn from words 2k and 2k+1, computed in double and rounded.
Tensor& Tensor::normal_(double mean, double std, Generator& generator) {
  if (!is_floating(dtype_)) fail("Tensor::normal_: expected a floating-point tensor, got dtype {}", dtype_name(dtype_));
  std::uint64_t pairs = (static_cast<std::uint64_t>(numel()) + 1) / 2;
  std::uint64_t seed = generator.seed();
  std::uint64_t start = generator.reserve(2 * pairs);
  fill_through_host(*this, [&](Tensor& host) {
    visit_dtype(host.dtype(), host.raw_data(), [&](auto* data) {
      using T = std::remove_pointer_t<decltype(data)>;
      if constexpr (std::is_floating_point_v<T>) {
        for (std::int64_t i = 0; i < host.numel(); ++i) {
          std::uint64_t pair = static_cast<std::uint64_t>(i) / 2;
          double u1 = 1.0 - uniform01_float(philox_word(seed, start, 2 * pair));
          double u2 = uniform01_float(philox_word(seed, start, 2 * pair + 1));
          double radius = std::sqrt(-2.0 * std::log(u1));
          double angle = 2.0 * std::numbers::pi * u2;
          double z = (i % 2 == 0) ? radius * std::cos(angle) : radius * std::sin(angle);
          data[i] = static_cast<T>(mean + std * z);
        }
      }
    });
  });
  return *this;
}

namespace {

// Appends the values of dimension `d` starting at flat index `base` to out.
void format_values(const Tensor& host, int d, std::int64_t base, int indent, std::string& out) {
  constexpr std::int64_t kEdge = 3;  // values shown at each end of a long dimension
  std::int64_t n = host.size(d);
  std::int64_t stride = 1;
  for (int k = d + 1; k < host.dim(); ++k) stride *= host.size(k);
  out += '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (n > 2 * kEdge && i == kEdge) {
      out += d + 1 == host.dim() ? "..., " : fmt::format("...,\n{:{}}", "", indent + 1);
      i = n - kEdge;
    }
    if (d + 1 == host.dim()) {
      visit_dtype(host.dtype(), host.raw_data(), [&](auto* data) {
        using T = std::remove_pointer_t<decltype(data)>;
        if constexpr (std::is_floating_point_v<T>) out += fmt::format("{:.4f}", data[base + i]);
        else out += fmt::format("{}", static_cast<std::int64_t>(data[base + i]));
      });
    } else {
      format_values(host, d + 1, base + i * stride, indent + 1, out);
    }
    if (i + 1 < n) out += d + 1 == host.dim() ? ", " : fmt::format(",\n{:{}}", "", indent + 1);
  }
  out += ']';
}

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "Tensor(undefined)";
  std::string out = fmt::format("Tensor(shape={}, dtype={}, device={})", shape_.str(), dtype_name(dtype_), device_.str());
  Tensor host = device_.is_cpu() ? *this : to(Device::cpu());
  out += '\n';
  if (dim() == 0) {
    visit_dtype(dtype_, host.raw_data(), [&](auto* data) { out += fmt::format("{}", data[0]); });
  } else {
    format_values(host, 0, 0, 0, out);
  }
  return out;
}

void check_rank(const Tensor& t, int rank, const char* op, const char* name) {
  if (!t.defined()) fail("{}: {} is undefined", op, name);
  if (t.dim() != rank) fail("{}: {} must have {} dimensions, got shape {}", op, name, rank, t.shape().str());
}

void check_dtype(const Tensor& t, DType dtype, const char* op, const char* name) {
  if (!t.defined()) fail("{}: {} is undefined", op, name);
  if (t.dtype() != dtype) fail("{}: {} must have dtype {}, got {}", op, name, dtype_name(dtype), dtype_name(t.dtype()));
}

void check_shape(const Tensor& t, const Shape& shape, const char* op, const char* name) {
  if (!t.defined()) fail("{}: {} is undefined", op, name);
  if (t.shape() != shape) fail("{}: {} must have shape {}, got {}", op, name, shape.str(), t.shape().str());
}

void check_device(const Tensor& t, Device device, const char* op, const char* name) {
  if (!t.defined()) fail("{}: {} is undefined", op, name);
  if (t.device() != device) fail("{}: {} must be on {}, got {}", op, name, device.str(), t.device().str());
}

#define MINIDL_INSTANTIATE(T)                                                                  \
  template Tensor Tensor::from_vector<T>(const Shape&, const std::vector<T>&, Device);         \
  template T* Tensor::data<T>() const;                                                         \
  template std::vector<T> Tensor::to_vector<T>() const;                                        \
  template T Tensor::item<T>() const;
MINIDL_INSTANTIATE(float)
MINIDL_INSTANTIATE(double)
MINIDL_INSTANTIATE(std::uint8_t)
MINIDL_INSTANTIATE(std::int32_t)
MINIDL_INSTANTIATE(std::int64_t)
#undef MINIDL_INSTANTIATE

}  // namespace minidl
