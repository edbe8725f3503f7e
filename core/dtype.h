/// \file
/// Element types a Tensor can hold. Ops work on f32 unless they say otherwise;
/// the CPU reference also accepts f64 (gradient checks run in double).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace minidl {

/// An element type: float, double, unsigned byte, 32- or 64-bit signed integer.
enum class DType { f32, f64, u8, i32, i64 };

/// Size of one element in bytes.
constexpr std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::u8: return 1;
    case DType::i32: return 4;
    case DType::i64: return 8;
  }
  return 0;
}

/// Lower-case name as used in messages and printing: "f32", "u8", ...
constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::u8: return "u8";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
  }
  return "?";
}

///@{
/// The DType of a C++ element type: dtype_of<float> == DType::f32.
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::i64; }
///@}

}  // namespace minidl
