#include "minidl/core/command_line.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <system_error>

#include "minidl/core/error.h"

namespace minidl {

std::int64_t parse_integer(std::string_view flag, std::string_view text, std::int64_t low, std::int64_t high) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool all_used = end == text.data() + text.size();
  if (error == std::errc::result_out_of_range && all_used)
    fail("{}: {} is out of range ({} to {})", flag, text, low, high);
  if (error != std::errc() || !all_used) fail("{}: '{}' is not a whole number", flag, text);
  if (value < low || value > high) fail("{}: {} is out of range ({} to {})", flag, value, low, high);
  return value;
}

double parse_positive(std::string_view flag, std::string_view text) {
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size()) fail("{}: '{}' is not a number", flag, text);
  if (!(std::isfinite(value) && value > 0.0)) fail("{}: must be finite and positive, got {}", flag, text);
  return value;
}

}  // namespace minidl
