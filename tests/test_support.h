// Helpers shared by the test binaries.
#pragma once

#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "minidl/core/device.h"
#include "minidl/core/error.h"
#include "minidl/core/tensor.h"

namespace minidl::testing {

// Catch2 v2 has no SKIP: a case that cannot run here returns after printing
// "skipped: <reason>", which CTest's SKIP_REGULAR_EXPRESSION reports as skipped.
// Use as: if (skip_unless_cuda()) return;
inline bool skip_unless_cuda() {
  if (cuda_is_available()) return false;
  Catch::cout() << "skipped: " << cuda_unavailable_reason() << "\n";
  return true;
}

// The same shape, dtype and bits (a NaN equals a NaN with the same payload), on any device.
inline bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor x = a.to(Device::cpu()), y = b.to(Device::cpu());
  return std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()) == 0;
}

// Matches a minidl::Error whose message contains a substring.
class ErrorMessageContains : public Catch::MatcherBase<Error> {
 public:
  explicit ErrorMessageContains(std::string substring) : substring_(std::move(substring)) {}
  bool match(const Error& error) const override {
    return std::string(error.what()).find(substring_) != std::string::npos;
  }
  std::string describe() const override { return "has a message containing \"" + substring_ + "\""; }

 private:
  std::string substring_;
};

}  // namespace minidl::testing

// Asserts that `expr` throws minidl::Error whose message contains `substring`.
#define REQUIRE_THROWS_MINIDL(expr, substring) \
  REQUIRE_THROWS_MATCHES(expr, minidl::Error, minidl::testing::ErrorMessageContains(substring))
