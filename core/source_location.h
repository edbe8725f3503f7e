/// \file
/// SourceLocation: the file and line of the code that called a checking helper.
///
/// Kept apart from core/error.h (which needs fmt) so that sources compiled by nvcc,
/// where fmt's headers do not compile, can pass their position to the CUDA checks.
#pragma once

namespace minidl {

/// Where a check was made. As a default argument, the initialisers capture the
/// caller's position, so a helper can report the line that called it without a macro:
///   void check_cuda(cudaError_t status, const char* call, SourceLocation where = SourceLocation::current());
/// In code that nvcc compiles, write `SourceLocation::current()`: nvcc 13 aborts
/// on the shorter `SourceLocation where = {}`.
struct SourceLocation {
  const char* file = __builtin_FILE();  ///< the caller's source file
  int line = __builtin_LINE();          ///< the caller's line

  /// The caller's position (when both arguments are left to their defaults).
  static constexpr SourceLocation current(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return {file, line};
  }
};

}  // namespace minidl
