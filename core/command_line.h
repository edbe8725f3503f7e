/// \file
/// Numbers from a command line, checked once for every program: a whole number must be
/// all digits (after a minus sign for a negative one) and lie in a stated range, so no later size or
/// bound computed from it can overflow. A number outside is "out of range", naming the
/// flag and the range.
#pragma once

#include <cstdint>
#include <string_view>

namespace minidl {

/// text as a whole number from low to high, else Error: "--count: 'three' is not a
/// whole number" or "--count: 9223372036854775807 is out of range (1 to 10000)" (a
/// number past 64 bits is reported as out of range too).
std::int64_t parse_integer(std::string_view flag, std::string_view text, std::int64_t low, std::int64_t high);

/// text as a finite number above 0 ("--lr: must be finite and positive, got 'inf'").
double parse_positive(std::string_view flag, std::string_view text);

}  // namespace minidl
