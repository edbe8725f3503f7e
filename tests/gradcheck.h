// Tools for checking gradients and comparing tensors in tests.
//
// A backward is checked against central finite differences in double precision:
// for a scalar function L(x) = sum(forward(x) * R) with a fixed random R, the
// analytical gradient is backward(grad_output = R), and element i of the numerical
// gradient is (L(x + eps e_i) - L(x - eps e_i)) / (2 eps). The truncation error is
// O(eps^2) times the third derivative and the rounding error O(1e-16 / eps), so with
// eps = 1e-6 both are far below the 1e-6 tolerance the op tests use, unless the
// function has a kink within eps of x (ReLU at 0, max-pool ties): tests draw inputs
// away from those.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "minidl/core/tensor.h"

namespace minidl::testing {

// A tensor of uniform values in [low, high) (f32 or f64).
inline Tensor random_tensor(const Shape& shape, Generator& generator, DType dtype = DType::f64, double low = -1.0,
                            double high = 1.0) {
  Tensor t = Tensor::empty(shape, dtype);
  t.uniform_(low, high, generator);
  return t;
}

// Uniform values in [-1.05, -0.05) and [0.05, 1.05) (f32 or f64): at least 0.05 away
// from a kink at 0 (ReLU, LeakyReLU), so no finite-difference step (1e-6) crosses it.
inline Tensor away_from_zero(const Shape& shape, Generator& generator, DType dtype = DType::f64) {
  Tensor t = random_tensor(shape, generator, DType::f64);
  double* values = t.data<double>();
  for (std::int64_t i = 0; i < t.numel(); ++i) values[i] += values[i] < 0.0 ? -0.05 : 0.05;
  if (dtype == DType::f64) return t;
  std::vector<double> doubles = t.to_vector<double>();
  return Tensor::from_vector(shape, std::vector<float>(doubles.begin(), doubles.end()));
}

// sum_i a[i] * b[i], in double, for f32 or f64 host tensors of the same numel.
inline double dot(const Tensor& a, const Tensor& b) {
  REQUIRE(a.numel() == b.numel());
  auto as_double = [](const Tensor& t, std::int64_t i) {
    return t.dtype() == DType::f64 ? t.data<double>()[i] : static_cast<double>(t.data<float>()[i]);
  };
  double sum = 0.0;
  for (std::int64_t i = 0; i < a.numel(); ++i) sum += as_double(a, i) * as_double(b, i);
  return sum;
}

// Central-difference gradient of loss() with respect to every element of x (an f64
// host tensor that loss() reads): x is perturbed in place and restored.
inline Tensor numerical_gradient(Tensor& x, const std::function<double()>& loss, double eps = 1e-6) {
  Tensor grad = Tensor::zeros(x.shape(), DType::f64);
  double* values = x.data<double>();
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    double saved = values[i];
    values[i] = saved + eps;
    double plus = loss();
    values[i] = saved - eps;
    double minus = loss();
    values[i] = saved;
    grad.data<double>()[i] = (plus - minus) / (2.0 * eps);
  }
  return grad;
}

// Requires |actual - expected| <= atol + rtol * |expected| elementwise (host tensors,
// f32/f64/i32, any mix), reporting the first offending element.
inline void require_close(const Tensor& actual, const Tensor& expected, double rtol, double atol,
                          const std::string& what = "tensor") {
  INFO(what << ": actual " << actual.shape().str() << " expected " << expected.shape().str());
  REQUIRE(actual.shape() == expected.shape());
  Tensor a = actual.device().is_cpu() ? actual : actual.to(Device::cpu());
  Tensor e = expected.device().is_cpu() ? expected : expected.to(Device::cpu());
  auto value = [](const Tensor& t, std::int64_t i) -> double {
    switch (t.dtype()) {
      case DType::f64: return t.data<double>()[i];
      case DType::f32: return t.data<float>()[i];
      case DType::i32: return t.data<std::int32_t>()[i];
      case DType::i64: return static_cast<double>(t.data<std::int64_t>()[i]);
      case DType::u8: return t.data<std::uint8_t>()[i];
    }
    return 0.0;
  };
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    double x = value(a, i), y = value(e, i);
    double excess = std::abs(x - y) - (atol + rtol * std::abs(y));
    if (!(excess <= 0.0) || std::isnan(x) != std::isnan(y)) {
      INFO(what << ": element " << i << " is " << x << ", expected " << y);
      REQUIRE(std::abs(x - y) <= atol + rtol * std::abs(y));
    }
  }
}

}  // namespace minidl::testing
