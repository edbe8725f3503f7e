/// \file
/// minidl::Error: the one exception type of the library.
///
/// Every message says what operation failed, what was expected and what was
/// found, e.g. "conv2d: input has 4 channels, weight expects 3". Errors raised
/// by a failing library call (CUDA, cuBLAS, cuDNN, a file) also carry the call
/// and the file:line of the caller.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "minidl/core/source_location.h"

namespace minidl {

/// The exception every check of minidl throws; what() is the whole message.
class Error : public std::runtime_error {
 public:
  /// An error with this message.
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// Throws Error with a formatted message: fail("conv2d: input has {} channels", c).
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

/// Throws Error(message) when condition is false.
inline void check(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

/// The body of a program's main(): returns body()'s exit status, or, when it throws,
/// prints "program: what went wrong" on stderr and returns 1.
template <typename Body>
int run_main(const char* program, Body&& body) {
  try {
    return body();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: %s\n", program, error.what());
    return 1;
  }
}

}  // namespace minidl
