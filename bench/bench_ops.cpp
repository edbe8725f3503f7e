// bench_ops: forward and backward time of each op of the study's network, for each CUDA
// implementation this build has (kernels/implementation.h): minidl's hand-written kernels,
// cuBLAS (linear, conv2d through im2col) and cuDNN (conv2d, batch_norm2d).
//
//   bench_ops [--batch 10,100] [--warmup 10] [--reps 30] [--inner 10] [--json PATH]
//             [--ops conv2d,linear,...] [--implementations kernels,cublas,cudnn] [--quick]
//
// The shapes are the study's network at each batch N: three times conv 3x3 with padding 1
// (3->32 on 32x32, 32->32 on 16x16, 32->32 on 8x8) -> batch_norm2d -> relu -> max_pool2d 2x2,
// then linear 512->64 -> relu -> linear 64->10 and cross_entropy over 10 classes.
// Each implementation is called directly on device pointers (kernels/cuda/*.h,
// kernels/cuda/cublas_ops.h, kernels/cudnn/*.h), all on the default stream, in fp32
// (no TF32 anywhere), on random data.
//
// Timing: `warmup` calls first (cuDNN finds its algorithms then), then `reps` samples,
// each `inner` back-to-back calls between two CUDA events; the time of a call is a
// sample's time / inner, and the median sample is reported (and the fastest). When a
// call's kernels are shorter than its launches, this measures the launch rate.
// FLOPs count multiplies and adds of the products (2 per multiply-add) and, for the
// elementwise ops, a nominal count per element (see flops_* below); bytes are the
// fewest a call must move (each input read once, each output written once).
// cross_entropy's forward is loss and count only, its backward the fused forward and
// gradient (minidl has no separate backward).
//
// Prints the device, then a short table; --json writes every number. --quick (one call of
// each case, batch 1, images 4 times smaller) is a smoke test, for the emulated flavour in CI.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/cuda_runtime.h"
#include "core/device.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/max_pool2d.h"
#include "kernels/cuda/batch_norm2d.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/cross_entropy.h"
#include "kernels/cuda/cublas_ops.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/max_pool2d.h"
#include "kernels/cuda/relu.h"
#include "kernels/implementation.h"
#if defined(MINIDL_WITH_CUDNN)
#include "kernels/cudnn/batch_norm2d.h"
#include "kernels/cudnn/conv2d.h"
#endif

namespace {

using namespace minidl;
using ops::Implementation;
using ops::Op;

struct Options {
  std::vector<std::int64_t> batches = {10, 100};
  int warmup = 10;
  int reps = 30;
  int inner = 10;
  std::string json_path;
  std::vector<std::string> ops;              // empty: all
  std::vector<std::string> implementations;  // empty: all available
  std::int64_t side_divisor = 1;             // --quick: images 4 times smaller (8x8 instead of 32x32)
};

// One op at one shape and batch, with one implementation: what to call, and its cost.
struct Case {
  Op op;
  std::string shape;  // e.g. "3->32 32x32"
  std::int64_t batch;
  Implementation implementation;
  double forward_flops, backward_flops, forward_bytes, backward_bytes;
  std::function<void()> forward, backward;
  std::string note;  // e.g. cuDNN's chosen algorithms, filled after the run
  std::function<std::string()> describe_after;
};

struct Timing {
  double median_ms = 0, min_ms = 0;
};

// Device tensors of random values in [low, high): kept alive by the cases' lambdas.
Tensor random_cuda(const Shape& shape, std::uint64_t seed, double low = -1.0, double high = 1.0) {
  Generator generator(seed);
  Tensor host = Tensor::empty(shape, DType::f32);
  host.uniform_(low, high, generator);
  return host.to(Device::cuda());
}

Tensor empty_cuda(const Shape& shape, DType dtype = DType::f32) { return Tensor::empty(shape, dtype, Device::cuda()); }

float* f(const Tensor& t) { return t.data<float>(); }

constexpr double kBytes = sizeof(float);

cpu::Conv2dShape conv_shape(std::int64_t N, std::int64_t C_in, std::int64_t side, std::int64_t C_out) {
  cpu::Conv2dShape s;
  s.batch = N;
  s.in_channels = C_in;
  s.height = s.width = side;
  s.out_channels = C_out;
  s.kernel_height = s.kernel_width = 3;
  s.stride = 1;
  s.padding = 1;
  s.out_height = s.out_width = side;
  return s;
}

void add_conv2d_cases(std::vector<Case>& cases, std::int64_t N, Implementation implementation, std::int64_t d) {
  for (auto [C_in, side] : {std::pair<std::int64_t, std::int64_t>{3, 32 / d}, {32, 16 / d}, {32, 8 / d}}) {
    cpu::Conv2dShape s = conv_shape(N, C_in, side, 32);
    Tensor input = random_cuda({N, C_in, side, side}, 1), weight = random_cuda({32, C_in, 3, 3}, 2, -0.2, 0.2);
    Tensor bias = random_cuda({32}, 3), output = empty_cuda({N, 32, side, side});
    Tensor grad_output = random_cuda({N, 32, side, side}, 4), grad_input = empty_cuda({N, C_in, side, side});
    Tensor grad_weight = empty_cuda({32, C_in, 3, 3}), grad_bias = empty_cuda({32});
    grad_weight.zero_();
    grad_bias.zero_();
    using Forward = void (*)(const float*, const float*, const float*, float*, const cpu::Conv2dShape&, cudaStream_t);
    using Backward = void (*)(const float*, const float*, const float*, float*, float*, float*,
                              const cpu::Conv2dShape&, cudaStream_t);
    Forward forward = cuda::conv2d_forward;
    Backward backward = cuda::conv2d_backward;
    std::function<std::string()> describe_after;
    if (implementation == Implementation::cublas) {
      forward = cublas::conv2d_forward;
      backward = cublas::conv2d_backward;
    }
#if defined(MINIDL_WITH_CUDNN)
    if (implementation == Implementation::cudnn) {
      forward = cudnn::conv2d_forward;
      backward = cudnn::conv2d_backward;
      describe_after = [s] { return cudnn::conv2d_algorithms(s); };
    }
#endif
    const double macs = static_cast<double>(N) * 32 * side * side * C_in * 9;
    const double outputs = static_cast<double>(N) * 32 * side * side, inputs = static_cast<double>(N) * C_in * side * side;
    const double weights = 32.0 * C_in * 9;
    cases.push_back(Case{
        Op::conv2d, fmt::format("{}->32 {}x{}", C_in, side, side), N, implementation,
        2 * macs + outputs, 4 * macs + outputs, kBytes * (inputs + weights + 32 + outputs),
        kBytes * (outputs + inputs + weights + inputs + 2 * weights + 2 * 32),
        [=] { forward(f(input), f(weight), f(bias), f(output), s, nullptr); },
        [=] { backward(f(grad_output), f(input), f(weight), f(grad_input), f(grad_weight), f(grad_bias), s, nullptr); },
        "", describe_after});
  }
}

void add_max_pool2d_cases(std::vector<Case>& cases, std::int64_t N, std::int64_t d) {
  for (std::int64_t side : {32 / d, 16 / d, 8 / d}) {
    cpu::MaxPool2dShape s;
    s.batch = N;
    s.channels = 32;
    s.height = s.width = side;
    s.kernel_size = s.stride = 2;
    s.out_height = s.out_width = side / 2;
    Tensor input = random_cuda({N, 32, side, side}, 5), output = empty_cuda({N, 32, side / 2, side / 2});
    Tensor indices = empty_cuda({N, 32, side / 2, side / 2}, DType::i32);
    Tensor grad_output = random_cuda({N, 32, side / 2, side / 2}, 6), grad_input = empty_cuda({N, 32, side, side});
    cuda::max_pool2d_forward(f(input), f(output), indices.data<std::int32_t>(), s);
    const double inputs = static_cast<double>(N) * 32 * side * side, outputs = inputs / 4;
    cases.push_back(Case{
        Op::max_pool2d, fmt::format("32x{}x{} 2x2", side, side), N, Implementation::kernels, 3 * outputs, outputs,
        kBytes * (inputs + 2 * outputs), kBytes * (2 * outputs + inputs),
        [=] { cuda::max_pool2d_forward(f(input), f(output), indices.data<std::int32_t>(), s); },
        [=] { cuda::max_pool2d_backward(f(grad_output), indices.data<std::int32_t>(), f(grad_input), s); }, "", {}});
  }
}

void add_batch_norm2d_cases(std::vector<Case>& cases, std::int64_t N, Implementation implementation,
                            std::int64_t d) {
  for (std::int64_t side : {32 / d, 16 / d, 8 / d}) {
    const std::int64_t C = 32, HW = side * side;
    Tensor input = random_cuda({N, C, side, side}, 7), weight = random_cuda({C}, 8, 0.5, 1.5);
    Tensor bias = random_cuda({C}, 9), running_mean = random_cuda({C}, 10), running_var = random_cuda({C}, 11, 0.5, 2);
    Tensor output = empty_cuda({N, C, side, side}), save_mean = empty_cuda({C}), save_invstd = empty_cuda({C});
    Tensor grad_output = random_cuda({N, C, side, side}, 12), grad_input = empty_cuda({N, C, side, side});
    Tensor grad_weight = empty_cuda({C}), grad_bias = empty_cuda({C});
    grad_weight.zero_();
    grad_bias.zero_();
    const float eps = 1e-5f, momentum = 0.1f;
    std::function<void()> forward = [=] {
      cuda::batch_norm2d_forward_train(f(input), f(weight), f(bias), f(running_mean), f(running_var), f(output),
                                       f(save_mean), f(save_invstd), N, C, HW, eps, momentum);
    };
    std::function<void()> backward = [=] {
      cuda::batch_norm2d_backward_train(f(grad_output), f(input), f(weight), f(save_mean), f(save_invstd),
                                        f(grad_input), f(grad_weight), f(grad_bias), N, C, HW);
    };
#if defined(MINIDL_WITH_CUDNN)
    if (implementation == Implementation::cudnn) {
      forward = [=] {
        cudnn::batch_norm2d_forward_train(f(input), f(weight), f(bias), f(running_mean), f(running_var), f(output),
                                          f(save_mean), f(save_invstd), N, C, HW, {eps, momentum});
      };
      backward = [=] {
        cudnn::batch_norm2d_backward_train(f(grad_output), f(input), f(weight), f(save_mean), f(save_invstd),
                                           f(grad_input), f(grad_weight), f(grad_bias), N, C, HW);
      };
    }
#endif
    forward();  // the saved statistics the backward reads
    const double elements = static_cast<double>(N) * C * HW;
    // Forward: mean (1), variance (2), normalise (2), scale and shift (2) per element.
    // Backward: two sums (3), the input gradient (5) per element.
    cases.push_back(Case{Op::batch_norm2d, fmt::format("32x{}x{}", side, side), N, implementation, 7 * elements,
                         8 * elements, kBytes * 2 * elements, kBytes * 3 * elements, forward, backward, "", {}});
  }
}

void add_relu_cases(std::vector<Case>& cases, std::int64_t N, std::int64_t d) {
  for (std::int64_t side : {32 / d, 16 / d, 8 / d}) {
    const std::int64_t count = N * 32 * side * side;
    Tensor input = random_cuda({count}, 13), output = empty_cuda({count});
    Tensor grad_output = random_cuda({count}, 14), grad_input = empty_cuda({count});
    cuda::relu_forward(f(input), f(output), count);
    const double elements = static_cast<double>(count);
    cases.push_back(Case{Op::relu, fmt::format("32x{}x{}", side, side), N, Implementation::kernels, elements,
                         elements, kBytes * 2 * elements, kBytes * 3 * elements,
                         [=] { cuda::relu_forward(f(input), f(output), count); },
                         [=] { cuda::relu_backward(f(grad_output), f(output), f(grad_input), count); }, "", {}});
  }
}

void add_linear_cases(std::vector<Case>& cases, std::int64_t N, Implementation implementation, std::int64_t d) {
  // fc1 takes the last pool's 32 x (4/d) x (4/d) values.
  for (auto [in, out] : {std::pair<std::int64_t, std::int64_t>{512 / (d * d), 64}, {64, 10}}) {
    Tensor input = random_cuda({N, in}, 15), weight = random_cuda({out, in}, 16, -0.1, 0.1);
    Tensor bias = random_cuda({out}, 17), output = empty_cuda({N, out});
    Tensor grad_output = random_cuda({N, out}, 18), grad_input = empty_cuda({N, in});
    Tensor grad_weight = empty_cuda({out, in}), grad_bias = empty_cuda({out});
    grad_weight.zero_();
    grad_bias.zero_();
    using Forward = void (*)(const float*, const float*, const float*, float*, std::int64_t, std::int64_t,
                             std::int64_t, cudaStream_t);
    using Backward = void (*)(const float*, const float*, const float*, float*, float*, float*, std::int64_t,
                              std::int64_t, std::int64_t, cudaStream_t);
    Forward forward = implementation == Implementation::cublas ? cublas::linear_forward : cuda::linear_forward;
    Backward backward = implementation == Implementation::cublas ? cublas::linear_backward : cuda::linear_backward;
    const double macs = static_cast<double>(N) * in * out;
    const double weights = static_cast<double>(in) * out;
    cases.push_back(Case{
        Op::linear, fmt::format("{}->{}", in, out), N, implementation, 2 * macs + N * out, 4 * macs + N * out,
        kBytes * (N * in + weights + out + N * out), kBytes * (N * out + N * in + weights + N * in + 2 * weights + 2 * out),
        [=] { forward(f(input), f(weight), f(bias), f(output), N, in, out, nullptr); },
        [=] { backward(f(grad_output), f(input), f(weight), f(grad_input), f(grad_weight), f(grad_bias), N, in, out,
                       nullptr); },
        "", {}});
  }
}

void add_cross_entropy_cases(std::vector<Case>& cases, std::int64_t N) {
  const std::int64_t K = 10;
  Tensor logits = random_cuda({N, K}, 19, -3, 3), grad_logits = empty_cuda({N, K});
  std::vector<std::int32_t> label_values(N);
  for (std::int64_t n = 0; n < N; ++n) label_values[n] = static_cast<std::int32_t>(n * 7 % K);
  Tensor labels = Tensor::from_vector<std::int32_t>({N}, label_values, Device::cuda());
  Tensor loss = empty_cuda({1}), num_correct = empty_cuda({1}, DType::i32);
  const double elements = static_cast<double>(N) * K;
  // Per element: the row maximum (1), exp and its sum (2), the correct count (1); the gradient adds 2.
  cases.push_back(Case{
      Op::cross_entropy, "10 classes", N, Implementation::kernels, 4 * elements, 6 * elements,
      kBytes * (elements + N), kBytes * (2 * elements + N),
      [=] {
        cuda::cross_entropy_forward_backward(f(logits), labels.data<std::int32_t>(), f(loss), nullptr,
                                             num_correct.data<std::int32_t>(), N, K);
      },
      [=] {
        cuda::cross_entropy_forward_backward(f(logits), labels.data<std::int32_t>(), f(loss), f(grad_logits),
                                             num_correct.data<std::int32_t>(), N, K);
      },
      "", {}});
}

bool wanted(const std::vector<std::string>& filter, const std::string& name) {
  return filter.empty() || std::find(filter.begin(), filter.end(), name) != filter.end();
}

// Every case the options ask for, in the network's order.
std::vector<Case> make_cases(const Options& options) {
  std::vector<Case> cases;
  for (std::int64_t N : options.batches) {
    for (Op op : {Op::conv2d, Op::batch_norm2d, Op::relu, Op::max_pool2d, Op::linear, Op::cross_entropy}) {
      if (!wanted(options.ops, ops::op_name(op))) continue;
      for (Implementation implementation : ops::available_implementations(op, DeviceType::CUDA)) {
        if (!wanted(options.implementations, ops::implementation_name(implementation))) continue;
        switch (op) {
          case Op::conv2d: add_conv2d_cases(cases, N, implementation, options.side_divisor); break;
          case Op::batch_norm2d: add_batch_norm2d_cases(cases, N, implementation, options.side_divisor); break;
          case Op::relu: add_relu_cases(cases, N, options.side_divisor); break;
          case Op::max_pool2d: add_max_pool2d_cases(cases, N, options.side_divisor); break;
          case Op::linear: add_linear_cases(cases, N, implementation, options.side_divisor); break;
          case Op::cross_entropy: add_cross_entropy_cases(cases, N); break;
          case Op::sgd: break;
        }
      }
    }
  }
  return cases;
}

Timing time_calls(const std::function<void()>& call, const Options& options) {
  for (int i = 0; i < options.warmup; ++i) call();
  cuda::synchronize();
  std::vector<double> samples;
  cuda::Event start, stop;
  for (int rep = 0; rep < options.reps; ++rep) {
    start.record();
    for (int i = 0; i < options.inner; ++i) call();
    stop.record();
    stop.synchronize();
    samples.push_back(stop.elapsed_ms_since(start) / options.inner);
  }
  std::sort(samples.begin(), samples.end());
  return Timing{samples[samples.size() / 2], samples.front()};
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : text + ",") {
    if (c != ',') {
      part += c;
    } else if (!part.empty()) {
      parts.push_back(part);
      part.clear();
    }
  }
  return parts;
}

void print_help() {
  std::puts(
      "bench_ops: forward and backward time of the study's ops for each CUDA implementation\n"
      "  --batch LIST            batch sizes, comma-separated (default 10,100)\n"
      "  --warmup N              calls before timing (default 10)\n"
      "  --reps N                timed samples; the median is reported (default 30)\n"
      "  --inner N               back-to-back calls per sample (default 10)\n"
      "  --ops LIST              only these ops (conv2d,batch_norm2d,relu,max_pool2d,linear,cross_entropy)\n"
      "  --implementations LIST  only these (kernels,cublas,cudnn)\n"
      "  --json PATH             write every result there\n"
      "  --quick                 a smoke test: one call of each case, batch 1, images of 8x8 instead of 32x32");
}

Options parse(int argc, char** argv) {
  Options options;
  bool batch_given = false, quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail("bench_ops: {} needs a value", arg);
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      print_help();
      std::exit(0);
    } else if (arg == "--batch") {
      options.batches.clear();
      for (const std::string& b : split(value())) options.batches.push_back(std::stoll(b));
      batch_given = true;
    } else if (arg == "--warmup") {
      options.warmup = std::stoi(value());
    } else if (arg == "--reps") {
      options.reps = std::max(1, std::stoi(value()));
    } else if (arg == "--inner") {
      options.inner = std::max(1, std::stoi(value()));
    } else if (arg == "--json") {
      options.json_path = value();
    } else if (arg == "--ops") {
      options.ops = split(value());
      for (const std::string& op : options.ops) ops::parse_op(op);  // throws on an unknown name
    } else if (arg == "--implementations") {
      options.implementations = split(value());
      for (const std::string& name : options.implementations) ops::parse_implementation(name);
    } else if (arg == "--quick") {
      quick = true;
    } else {
      fail("bench_ops: unknown argument '{}' (see --help)", arg);
    }
  }
  if (quick) {
    options.warmup = 0;
    options.reps = 1;
    options.inner = 1;
    options.side_divisor = 4;
    if (!batch_given) options.batches = {1};
  }
  return options;
}

double per_second(double amount, double ms) { return ms > 0 ? amount / (ms * 1e-3) : 0.0; }

int run(const Options& options) {
  std::printf("bench_ops: %s%s\n", cuda::describe().c_str(), cuda::is_emulated() ? " (emulated: times are not GPU times)" : "");
  std::printf("bench_ops: implementations per op on cuda:");
  for (Op op : ops::all_ops()) {
    if (op == Op::sgd) continue;
    std::string names;
    for (Implementation implementation : ops::available_implementations(op, DeviceType::CUDA))
      names += fmt::format("{}{}", names.empty() ? "" : ",", ops::implementation_name(implementation));
    std::printf(" %s=%s", ops::op_name(op), names.c_str());
  }
  std::printf("\nbench_ops: warm-up %d, median of %d samples of %d calls, batches", options.warmup, options.reps,
              options.inner);
  for (std::int64_t N : options.batches) std::printf(" %lld", static_cast<long long>(N));
  std::printf("\n");
  std::fflush(stdout);

  nlohmann::json results = nlohmann::json::array();
  // (op, shape, batch) -> implementation -> "fwd / bwd" in microseconds, for the table.
  std::map<std::tuple<int, std::string, std::int64_t>, std::map<std::string, std::string>> table;
  std::vector<std::tuple<int, std::string, std::int64_t>> row_order;
  int failures = 0;
  std::vector<Case> cases = make_cases(options);
  for (std::size_t index = 0; index < cases.size(); ++index) {
    Case& c = cases[index];
    const char* implementation = ops::implementation_name(c.implementation);
    auto row = std::make_tuple(static_cast<int>(c.op), c.shape, c.batch);
    if (table.find(row) == table.end()) row_order.push_back(row);
    std::string cell;
    for (const char* direction : {"forward", "backward"}) {
      bool forward = std::string(direction) == "forward";
      nlohmann::json result = {{"op", ops::op_name(c.op)},     {"shape", c.shape},
                               {"batch", c.batch},            {"implementation", implementation},
                               {"direction", direction}};
      try {
        Timing timing = time_calls(forward ? c.forward : c.backward, options);
        double flops = forward ? c.forward_flops : c.backward_flops, bytes = forward ? c.forward_bytes : c.backward_bytes;
        result["median_us"] = timing.median_ms * 1e3;
        result["min_us"] = timing.min_ms * 1e3;
        result["flops"] = flops;
        result["gflop_per_s"] = per_second(flops, timing.median_ms) * 1e-9;
        result["bytes"] = bytes;
        result["gb_per_s"] = per_second(bytes, timing.median_ms) * 1e-9;
        if (c.describe_after) result["note"] = c.describe_after();
        cell += fmt::format("{}{:.1f}", cell.empty() ? "" : " / ", timing.median_ms * 1e3);
      } catch (const std::exception& error) {
        ++failures;
        result["error"] = error.what();
        cell += fmt::format("{}error", cell.empty() ? "" : " / ");
        std::fprintf(stderr, "bench_ops: %s %s batch %lld %s %s failed: %s\n", ops::op_name(c.op), c.shape.c_str(),
                     static_cast<long long>(c.batch), implementation, direction, error.what());
      }
      results.push_back(result);
    }
    table[row][implementation] = cell;
    c.forward = c.backward = {};  // frees this case's device tensors
  }

  if (!options.json_path.empty()) {
    nlohmann::json document = {{"device", cuda::describe()},
                               {"emulated", cuda::is_emulated()},
                               {"warmup", options.warmup},
                               {"reps", options.reps},
                               {"inner", options.inner},
                               {"time_unit", "microseconds per call (median of reps samples of inner calls)"},
                               {"results", results}};
    std::ofstream(options.json_path) << document.dump(2) << "\n";
    std::printf("bench_ops: wrote %s\n", options.json_path.c_str());
  }

  std::printf("\n%-14s %-14s %6s  %-21s %-21s %-21s\n", "op", "shape", "batch", "kernels fwd / bwd us",
              "cublas fwd / bwd us", "cudnn fwd / bwd us");
  for (const auto& row : row_order) {
    auto& cells = table[row];
    auto cell = [&](const char* name) { return cells.count(name) ? cells[name] : std::string("-"); };
    std::printf("%-14s %-14s %6lld  %-21s %-21s %-21s\n", ops::op_name(static_cast<Op>(std::get<0>(row))),
                std::get<1>(row).c_str(), static_cast<long long>(std::get<2>(row)), cell("kernels").c_str(),
                cell("cublas").c_str(), cell("cudnn").c_str());
  }
  if (failures > 0) std::printf("\nbench_ops: %d timings failed (see above)\n", failures);
  return failures > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options options = parse(argc, argv);
    if (!cuda::is_built()) {
      std::fprintf(stderr, "bench_ops: minidl was built without CUDA: nothing to benchmark\n");
      return 2;
    }
    if (!cuda::is_available()) {
      std::fprintf(stderr, "bench_ops: %s\n", cuda::unavailable_reason().c_str());
      return 2;
    }
    return run(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 1;
  }
}
