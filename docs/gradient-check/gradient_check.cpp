// The numbers of docs/gradient-check.md: conv2d's weight gradient and batch norm's
// input gradient (training mode) checked by central finite differences, in float and
// in double, and two functions where the check must fail (ReLU at 0, a max-pool tie).
//
//   gradient_check      prints the page's tables, each after a line <!-- gradient_check table NAME -->
//
// scripts/check-teaching-programs compares them with the page. Every op runs its CPU
// reference (the implementation named "reference", kernels/implementation.h): plain
// loops with one order of operations and no FMA, so the bits are the same on any x86-64
// machine. (The float fast paths use FMA where the CPU has it: the same magnitudes,
// other last digits.)
#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "minidl/core/tensor.h"
#include "minidl/kernels/implementation.h"
#include "minidl/kernels/ops.h"

using namespace minidl;

namespace {

// ---- The check -----------------------------------------------------------------------

// A scalar function of one tensor x, L(x) = sum(f(x) * R) with a fixed random R (so that
// every output element counts), and the gradient that f's backward gives for it:
// backward with grad_output = R is dL/dx.
struct Problem {
  Tensor x;                                       // the tensor perturbed, f32 or f64
  std::function<double()> loss;                   // L(x), summed in double
  std::function<std::vector<double>()> analytic;  // dL/dx by the op's backward
};

// sum_i a[i] * b[i] in double, for two f32 or two f64 tensors.
double dot(const Tensor& a, const Tensor& b) {
  double sum = 0.0;
  for (std::int64_t i = 0; i < a.numel(); ++i)
    sum += a.dtype() == DType::f64 ? a.data<double>()[i] * b.data<double>()[i]
                                   : double(a.data<float>()[i]) * double(b.data<float>()[i]);
  return sum;
}

// One central difference of L at element i of x, everything kept for the step-by-step
// table. x[i] ± eps is rounded to x's dtype, so the step taken, x_plus - x_minus, is not
// 2 eps in general: the quotient divides by the step taken, and is none when it is 0.
struct Difference {
  double x_plus, x_minus, loss_plus, loss_minus;
  std::optional<double> derivative;
};

template <typename T>
Difference central_difference_as(const Problem& p, std::int64_t i, double eps) {
  T* x = p.x.data<T>();
  const T saved = x[i];
  Difference d{};
  x[i] = static_cast<T>(saved + eps);
  d.x_plus = x[i];
  d.loss_plus = p.loss();
  x[i] = static_cast<T>(saved - eps);
  d.x_minus = x[i];
  d.loss_minus = p.loss();
  x[i] = saved;
  if (d.x_plus != d.x_minus) d.derivative = (d.loss_plus - d.loss_minus) / (d.x_plus - d.x_minus);
  return d;
}

Difference central_difference(const Problem& p, std::int64_t i, double eps) {
  return p.x.dtype() == DType::f64 ? central_difference_as<double>(p, i, eps)
                                   : central_difference_as<float>(p, i, eps);
}

// The numerical gradient at every element of x; none when some step rounds to 0.
std::optional<std::vector<double>> numerical_gradient(const Problem& p, double eps) {
  std::vector<double> gradient(p.x.numel());
  for (std::int64_t i = 0; i < p.x.numel(); ++i) {
    std::optional<double> derivative = central_difference(p, i, eps).derivative;
    if (!derivative) return std::nullopt;
    gradient[i] = *derivative;
  }
  return gradient;
}

double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double value : v) m = std::max(m, std::abs(value));
  return m;
}

double max_abs_error(const std::vector<double>& analytic, const std::vector<double>& numerical) {
  double m = 0.0;
  for (std::size_t i = 0; i < analytic.size(); ++i) m = std::max(m, std::abs(analytic[i] - numerical[i]));
  return m;
}

// The relative error of a gradient as a whole: max |a - n| / max(max |a|, max |n|).
// (Element by element, |a_i - n_i| / |a_i| explodes where a gradient element is near 0,
// and batch norm's input gradient sums to 0 over each channel.)
double relative_error(const std::vector<double>& analytic, const std::vector<double>& numerical) {
  return max_abs_error(analytic, numerical) / std::max(max_abs(analytic), max_abs(numerical));
}

// ---- The problems ------------------------------------------------------------------------

// Uniform values in [low, high), drawn in double and then rounded to dtype, so that the
// float and the double problem hold the same numbers up to float rounding.
Tensor uniform(const Shape& shape, DType dtype, Generator& generator, double low = -1.0, double high = 1.0) {
  Tensor t = Tensor::empty(shape, DType::f64);
  t.uniform_(low, high, generator);
  return dtype == DType::f64 ? t : t.to(dtype);
}

// conv2d's weight: input (2, 3, 5, 5), weight (4, 3, 3, 3), padding 1 (as the study's).
Problem conv2d_weight_problem(DType dtype) {
  Generator generator(21);
  Tensor input = uniform({2, 3, 5, 5}, dtype, generator), weight = uniform({4, 3, 3, 3}, dtype, generator);
  Tensor bias = uniform({4}, dtype, generator), grad_output = uniform({2, 4, 5, 5}, dtype, generator);
  Tensor output = Tensor::empty(grad_output.shape(), dtype);
  const ops::Conv2dParams params{.stride = 1, .padding = 1};
  auto loss = [=]() mutable {
    ops::conv2d_forward(input, weight, bias, output, params);
    return dot(output, grad_output);
  };
  auto analytic = [=]() mutable {
    Tensor no_grad_input, no_grad_bias, grad_weight = Tensor::zeros(weight.shape(), dtype);
    ops::conv2d_backward(grad_output, input, weight, no_grad_input, grad_weight, no_grad_bias, params);
    return grad_weight.to(DType::f64).to_vector<double>();
  };
  return {weight, loss, analytic};
}

// What a batch norm backward can get wrong: forgetting the path through the variance.
enum class BatchNormBackward { right, without_variance_path };

// batch norm's input in training mode: input (4, 2, 3, 3), so M = 36 values per channel.
// R is scaled by grad_output_scale, and with it the gradient.
Problem batch_norm_input_problem(DType dtype, double grad_output_scale = 1.0,
                                 BatchNormBackward backward = BatchNormBackward::right) {
  Generator generator(21);
  Tensor input = uniform({4, 2, 3, 3}, dtype, generator);
  Tensor weight = uniform({2}, dtype, generator, 0.5, 1.5), bias = uniform({2}, dtype, generator);
  Tensor grad_output = uniform({4, 2, 3, 3}, DType::f64, generator, -grad_output_scale, grad_output_scale).to(dtype);
  Tensor output = Tensor::empty(input.shape(), dtype), save_mean = Tensor::empty({2}, dtype),
         save_invstd = Tensor::empty({2}, dtype), running_mean = Tensor::zeros({2}, dtype),
         running_var = Tensor::full({2}, 1.0, dtype);
  auto loss = [=]() mutable {
    ops::batch_norm2d_forward_train(input, weight, bias, running_mean, running_var, output, save_mean, save_invstd, {});
    return dot(output, grad_output);
  };
  auto analytic = [=]() mutable {
    ops::batch_norm2d_forward_train(input, weight, bias, running_mean, running_var, output, save_mean, save_invstd, {});
    Tensor grad_input = Tensor::empty(input.shape(), dtype);
    Tensor grad_weight = Tensor::zeros({2}, dtype), grad_bias = Tensor::zeros({2}, dtype);
    ops::batch_norm2d_backward_train(grad_output, input, weight, save_mean, save_invstd, grad_input, grad_weight,
                                     grad_bias);
    std::vector<double> gradient = grad_input.to(DType::f64).to_vector<double>();
    if (backward == BatchNormBackward::without_variance_path) {
      // The right grad_x = weight * invstd / M * (M * dy - sum dy - x_hat * sum(dy * x_hat)),
      // and grad_weight = sum(dy * x_hat): add the last term back.
      const std::vector<double> x = input.to(DType::f64).to_vector<double>();
      const std::vector<double> mean = save_mean.to(DType::f64).to_vector<double>();
      const std::vector<double> invstd = save_invstd.to(DType::f64).to_vector<double>();
      const std::vector<double> gamma = weight.to(DType::f64).to_vector<double>();
      const std::vector<double> sum_dy_xhat = grad_weight.to(DType::f64).to_vector<double>();
      const std::int64_t C = 2, HW = 9, M = 36;
      for (std::size_t k = 0; k < gradient.size(); ++k) {
        const std::int64_t c = std::int64_t(k) / HW % C;
        const double x_hat = (x[k] - mean[c]) * invstd[c];
        gradient[k] += gamma[c] * invstd[c] / M * x_hat * sum_dy_xhat[c];
      }
    }
    return gradient;
  };
  return {input, loss, analytic};
}

// One function of a small f64 tensor x: L = sum(f(x)), and its backward with grad_output = 1.
Problem elementwise_problem(const std::vector<double>& values, const Shape& shape,
                            const std::function<Tensor(const Tensor&)>& forward,
                            const std::function<Tensor(const Tensor&)>& backward) {
  Tensor x = Tensor::from_vector<double>(shape, values);
  auto loss = [=]() {
    Tensor y = forward(x);
    return dot(y, Tensor::full(y.shape(), 1.0, DType::f64));
  };
  auto analytic = [=]() { return backward(x).to_vector<double>(); };
  return {x, loss, analytic};
}

Problem relu_problem(const std::vector<double>& values) {
  const Shape shape{std::int64_t(values.size())};
  auto forward = [](const Tensor& x) {
    Tensor y = Tensor::empty(x.shape(), DType::f64);
    ops::relu_forward(x, y);
    return y;
  };
  auto backward = [forward](const Tensor& x) {
    Tensor grad_input = Tensor::empty(x.shape(), DType::f64);
    ops::relu_backward(Tensor::full(x.shape(), 1.0, DType::f64), forward(x), grad_input);
    return grad_input;
  };
  return elementwise_problem(values, shape, forward, backward);
}

// One 2x2 window: (1, 1, 2, 2) -> (1, 1, 1, 1).
Problem max_pool_problem(const std::vector<double>& window) {
  const ops::MaxPool2dParams params{.kernel_size = 2, .stride = 2};
  auto forward_indices = [params](const Tensor& x, Tensor& indices) {
    Tensor y = Tensor::empty({1, 1, 1, 1}, DType::f64);
    indices = Tensor::empty({1, 1, 1, 1}, DType::i32);
    ops::max_pool2d_forward(x, y, indices, params);
    return y;
  };
  auto forward = [forward_indices](const Tensor& x) {
    Tensor indices;
    return forward_indices(x, indices);
  };
  auto backward = [forward_indices, params](const Tensor& x) {
    Tensor indices, grad_input = Tensor::empty(x.shape(), DType::f64);
    forward_indices(x, indices);
    ops::max_pool2d_backward(Tensor::full({1, 1, 1, 1}, 1.0, DType::f64), indices, grad_input, params);
    return grad_input;
  };
  return elementwise_problem(window, {1, 1, 2, 2}, forward, backward);
}

// ---- The tables ----------------------------------------------------------------------

void table_heading(const char* name) { fmt::print("<!-- gradient_check table {} -->\n", name); }

// 1e-05, or "—" for none.
std::string scientific(std::optional<double> value, int digits = 1) {
  return value ? fmt::format("{:.{}e}", *value, digits) : "—";
}

// Step by step, one element: conv2d's weight[0, 0, 0, 0] and batch norm's input[0, 0, 0, 0].
void print_step_by_step(double eps) {
  table_heading("step-by-step");
  const Problem problems[] = {conv2d_weight_problem(DType::f32), conv2d_weight_problem(DType::f64),
                              batch_norm_input_problem(DType::f32), batch_norm_input_problem(DType::f64)};
  Difference d[4];
  double analytic[4];
  for (int k = 0; k < 4; ++k) {
    d[k] = central_difference(problems[k], 0, eps);
    analytic[k] = problems[k].analytic()[0];
  }
  fmt::print("| eps = {:g} | conv2d weight[0], float32 | conv2d weight[0], float64 | batch norm x[0], float32 | "
             "batch norm x[0], float64 |\n|---|---:|---:|---:|---:|\n",
             eps);
  auto row = [&](const char* what, const std::function<std::string(int)>& cell) {
    fmt::print("| {} | {} | {} | {} | {} |\n", what, cell(0), cell(1), cell(2), cell(3));
  };
  auto digits = [](double v) { return fmt::format("{:.12g}", v); };
  row("x+ = x[0] + eps, rounded", [&](int k) { return digits(d[k].x_plus); });
  row("x− = x[0] − eps, rounded", [&](int k) { return digits(d[k].x_minus); });
  row("step taken x+ − x−", [&](int k) { return digits(d[k].x_plus - d[k].x_minus); });
  row("L(x+)", [&](int k) { return digits(d[k].loss_plus); });
  row("L(x−)", [&](int k) { return digits(d[k].loss_minus); });
  row("L(x+) − L(x−)", [&](int k) { return digits(d[k].loss_plus - d[k].loss_minus); });
  row("numerical = (L(x+) − L(x−)) / step", [&](int k) { return digits(*d[k].derivative); });
  row("analytic (backward)", [&](int k) { return digits(analytic[k]); });
  row("relative error", [&](int k) {
    return scientific(std::abs(*d[k].derivative - analytic[k]) / std::abs(analytic[k]));
  });
  fmt::print("\n");
}

struct SweepColumn {
  std::string name;
  Problem problem;
  std::vector<double> analytic;
  std::vector<std::optional<double>> errors;  // per eps
};

// The relative error of the whole gradient as eps goes from 1e-1 to 1e-12.
std::vector<SweepColumn> print_sweep(const std::vector<double>& epsilons) {
  std::vector<SweepColumn> columns;
  for (DType dtype : {DType::f32, DType::f64})
    columns.push_back({fmt::format("conv2d weight, {}", dtype == DType::f32 ? "float32" : "float64"),
                       conv2d_weight_problem(dtype), {}, {}});
  for (DType dtype : {DType::f32, DType::f64})
    columns.push_back({fmt::format("batch norm input, {}", dtype == DType::f32 ? "float32" : "float64"),
                       batch_norm_input_problem(dtype), {}, {}});
  table_heading("sweep");
  fmt::print("| eps |");
  for (const SweepColumn& column : columns) fmt::print(" {} |", column.name);
  fmt::print("\n|---:|");
  for (std::size_t i = 0; i < columns.size(); ++i) fmt::print("---:|");
  fmt::print("\n");
  for (SweepColumn& column : columns) column.analytic = column.problem.analytic();
  for (double eps : epsilons) {
    fmt::print("| {:.0e} |", eps);
    for (SweepColumn& column : columns) {
      std::optional<std::vector<double>> numerical = numerical_gradient(column.problem, eps);
      column.errors.push_back(numerical ? std::optional(relative_error(column.analytic, *numerical)) : std::nullopt);
      fmt::print(" {} |", scientific(column.errors.back()));
    }
    fmt::print("\n");
  }
  fmt::print("\n");
  return columns;
}

// Where each column of the sweep is smallest, beside the unit roundoff u and u^(1/3).
void print_best(const std::vector<SweepColumn>& columns, const std::vector<double>& epsilons) {
  table_heading("best-eps");
  fmt::print("| gradient | unit roundoff u | u^(1/3) | best eps of the sweep | its relative error |\n"
             "|---|---:|---:|---:|---:|\n");
  for (const SweepColumn& column : columns) {
    const bool is_float = column.problem.x.dtype() == DType::f32;
    const double u = is_float ? 0x1p-24 : 0x1p-53;
    std::size_t best = 0;
    for (std::size_t i = 0; i < column.errors.size(); ++i)
      if (column.errors[i] && (!column.errors[best] || *column.errors[i] < *column.errors[best])) best = i;
    fmt::print("| {} | {:.1e} | {:.1e} | {:.0e} | {} |\n", column.name, u, std::cbrt(u), epsilons[best],
               scientific(column.errors[best]));
  }
  fmt::print("\n");
}

// The same check in double with R scaled: the error grows with the gradient, so a fixed
// absolute tolerance passes a wrong backward for small gradients and fails a right one
// for large ones; the relative error does neither.
void print_absolute_against_relative(double eps, double absolute_tolerance) {
  table_heading("absolute-relative");
  fmt::print("| R scaled by | max abs gradient | right backward: abs error | rel error | without the variance path: "
             "abs error | rel error |\n|---:|---:|---:|---:|---:|---:|\n");
  auto verdict = [&](double error) { return fmt::format("{:.1e} ({})", error, error <= absolute_tolerance ? "pass" : "fail"); };
  for (double scale : {1e-6, 1.0, 1e6}) {
    Problem right = batch_norm_input_problem(DType::f64, scale);
    Problem wrong = batch_norm_input_problem(DType::f64, scale, BatchNormBackward::without_variance_path);
    const std::vector<double> numerical = *numerical_gradient(right, eps);
    const std::vector<double> right_gradient = right.analytic(), wrong_gradient = wrong.analytic();
    fmt::print("| {:.0e} | {:.1e} | {} | {:.1e} | {} | {:.1e} |\n", scale, max_abs(numerical),
               verdict(max_abs_error(right_gradient, numerical)), relative_error(right_gradient, numerical),
               verdict(max_abs_error(wrong_gradient, numerical)), relative_error(wrong_gradient, numerical));
  }
  fmt::print("\n");
}

// ReLU near its kink at 0: the backward says 0 or 1, the difference quotient sees both sides.
void print_relu_kink(double eps) {
  table_heading("relu-kink");
  const std::vector<double> values{-2e-3, -5e-4, 0.0, 5e-4, 2e-3};
  const Problem relu = relu_problem(values);
  const std::vector<double> analytic = relu.analytic();
  const std::vector<double> numerical = *numerical_gradient(relu, eps);
  fmt::print("| x | backward: relu'(x) | numerical, eps = {:g} |\n|---:|---:|---:|\n", eps);
  for (std::size_t i = 0; i < values.size(); ++i)
    fmt::print("| {:g} | {:g} | {:.4g} |\n", values[i], analytic[i], numerical[i]);
  fmt::print("\n");
}

// Max-pool with a tie and a near tie in one 2x2 window.
void print_max_pool_tie(double eps) {
  table_heading("max-pool-tie");
  fmt::print("| window (x0, x1, x2, x3) | element | backward | numerical, eps = {:g} |\n|---|---|---:|---:|\n", eps);
  for (const std::vector<double>& window : {std::vector<double>{0.5, 0.5, 0.2, 0.1},
                                           std::vector<double>{0.5, 0.5004, 0.2, 0.1}}) {
    const Problem pool = max_pool_problem(window);
    const std::vector<double> analytic = pool.analytic();
    const std::vector<double> numerical = *numerical_gradient(pool, eps);
    for (std::size_t i = 0; i < window.size(); ++i)
      fmt::print("| {} | x{} | {:g} | {:.4g} |\n",
                 i == 0 ? fmt::format("{:g}, {:g}, {:g}, {:g}", window[0], window[1], window[2], window[3]) : "", i,
                 analytic[i], numerical[i]);
  }
  fmt::print("\n");
}

}  // namespace

int main() {
  // The plain loops for float too (see the top of this file).
  ops::ImplementationGuard conv2d_reference(ops::Op::conv2d, DeviceType::CPU, "reference");
  ops::ImplementationGuard batch_norm_reference(ops::Op::batch_norm2d, DeviceType::CPU, "reference");
  ops::ImplementationGuard relu_reference(ops::Op::relu, DeviceType::CPU, "reference");
  ops::ImplementationGuard max_pool_reference(ops::Op::max_pool2d, DeviceType::CPU, "reference");

  print_step_by_step(1e-3);
  const std::vector<double> epsilons{1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12};
  const std::vector<SweepColumn> sweep = print_sweep(epsilons);
  print_best(sweep, epsilons);
  print_absolute_against_relative(1e-5, 1e-6);
  print_relu_kink(1e-3);
  print_max_pool_tie(1e-3);
}
