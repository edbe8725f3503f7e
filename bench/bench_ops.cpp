// bench_ops: forward and backward time of each op of the study's network, for each
// implementation this build has on a device (kernels/implementation.h): on CUDA minidl's
// hand-written kernels, cuBLAS (linear, conv2d through im2col) and cuDNN (conv2d,
// batch_norm2d); on the CPU the plain-loop reference and the fast paths (gemm,
// vectorized).
//
//   bench_ops [--device cuda|cpu] [--threads N] [--batch 10,100] [--warmup 10] [--reps 30]
//             [--inner 10] [--json PATH] [--ops conv2d,linear,...]
//             [--implementations kernels,cublas,cudnn,...] [--quick] [--list]
//
// The shapes are the study's network at each batch N: three times conv 3x3 with padding 1
// (3->32 on 32x32, 32->32 on 16x16, 32->32 on 8x8) -> batch_norm2d -> relu -> max_pool2d 2x2,
// then linear 512->64 -> relu -> linear 64->10 and cross_entropy over 10 classes. As in the
// study's network, conv1 (3->32) computes no input gradient. Each case calls the
// Tensor-level op (kernels/ops.h), what the layers call, with its implementation chosen
// for the case (ImplementationGuard), on the default stream, in fp32 (no TF32 anywhere),
// on random data.
//
// Timing: `warmup` calls first (cuDNN finds its algorithms then), then `reps` samples,
// each `inner` back-to-back calls, timed between two CUDA events or by the host's steady
// clock; the time of a call is a sample's time / inner, and the median sample is
// reported (and the fastest). When a call's kernels are shorter than its launches, this
// measures the launch rate.
// FLOPs count multiplies and adds of the products (2 per multiply-add) and, for the
// elementwise ops, a nominal count per element (see each case); bytes are the fewest a
// call must move (each input read once, each output written once).
// cross_entropy's forward is loss and count only, its backward the fused forward and
// gradient (minidl has no separate backward).
//
// Prints the device, then a short table; --json writes every number. --quick (one call of
// each case, batch 1, images 4 times smaller) is a smoke test, for the emulated flavour in CI.
#include <algorithm>
#include <chrono>
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

#include "minidl/core/cuda_runtime.h"
#include "minidl/core/device.h"
#include "minidl/core/error.h"
#include "minidl/core/parallel.h"
#include "minidl/core/rng.h"
#include "minidl/core/tensor.h"
#include "minidl/kernels/implementation.h"
#include "minidl/kernels/ops.h"
#if defined(MINIDL_WITH_CUDNN)
#include "minidl/kernels/cpu/conv2d.h"
#include "minidl/kernels/cudnn/conv2d.h"
#endif

namespace {

using namespace minidl;
using ops::Op;

struct Options {
  DeviceType device = DeviceType::CUDA;
  int threads = 0;  // CPU threads; 0: the default (core/parallel.h)
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
  std::string implementation;  // its name in the registry
  double forward_flops, backward_flops, forward_bytes, backward_bytes;
  std::function<void()> forward, backward;
  std::function<std::string()> describe_after;  // e.g. cuDNN's chosen algorithms, after the run
};

struct Timing {
  double median_ms = 0, min_ms = 0;
};

// The tensors of the cases, on the benchmarked device; the cases' lambdas keep them alive.
class Tensors {
 public:
  explicit Tensors(DeviceType device) : device_(device == DeviceType::CPU ? Device::cpu() : Device::cuda()) {}

  // Random values in [low, high).
  Tensor random(const Shape& shape, std::uint64_t seed, double low = -1.0, double high = 1.0) const {
    Generator generator(seed);
    Tensor host = Tensor::empty(shape, DType::f32);
    host.uniform_(low, high, generator);
    return host.to(device_);
  }
  Tensor empty(const Shape& shape, DType dtype = DType::f32) const { return Tensor::empty(shape, dtype, device_); }
  Tensor zeros(const Shape& shape) const { return Tensor::zeros(shape, DType::f32, device_); }
  Device device() const { return device_; }

 private:
  Device device_;
};

constexpr double kBytes = sizeof(float);

void add_conv2d_cases(std::vector<Case>& cases, const Tensors& t, std::int64_t N, const std::string& implementation,
                      std::int64_t d) {
  for (auto [C_in, side] : {std::pair<std::int64_t, std::int64_t>{3, 32 / d}, {32, 16 / d}, {32, 8 / d}}) {
    const ops::Conv2dParams params{.stride = 1, .padding = 1};
    Tensor input = t.random({N, C_in, side, side}, 1), weight = t.random({32, C_in, 3, 3}, 2, -0.2, 0.2);
    Tensor bias = t.random({32}, 3), output = t.empty({N, 32, side, side});
    Tensor grad_output = t.random({N, 32, side, side}, 4);
    // conv1's input is the images, whose gradient the study's network does not compute.
    const bool input_grad = C_in != 3;
    Tensor grad_input = input_grad ? t.empty({N, C_in, side, side}) : Tensor();
    Tensor grad_weight = t.zeros({32, C_in, 3, 3}), grad_bias = t.zeros({32});
    std::function<std::string()> describe_after;
#if defined(MINIDL_WITH_CUDNN)
    if (implementation == "cudnn") {
      cpu::Conv2dShape s{.batch = N, .in_channels = C_in, .height = side, .width = side, .out_channels = 32,
                         .kernel_height = 3, .kernel_width = 3, .stride = 1, .padding = 1, .out_height = side,
                         .out_width = side};
      describe_after = [s] { return cudnn::conv2d_algorithms(s); };
    }
#endif
    const double macs = static_cast<double>(N) * 32 * side * side * C_in * 9;
    const double outputs = static_cast<double>(N) * 32 * side * side, inputs = static_cast<double>(N) * C_in * side * side;
    const double weights = 32.0 * C_in * 9;
    const double backward_macs = input_grad ? 2 * macs : macs;  // grad_weight, and grad_input unless conv1
    cases.push_back(Case{
        Op::conv2d, fmt::format("{}->32 {}x{}", C_in, side, side), N, implementation,
        2 * macs + outputs, 2 * backward_macs + outputs, kBytes * (inputs + weights + 32 + outputs),
        kBytes * (outputs + inputs + weights + (input_grad ? inputs : 0) + 2 * weights + 2 * 32),
        [=]() mutable { ops::conv2d_forward(input, weight, bias, output, params); },
        [=]() mutable { ops::conv2d_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias, params); },
        describe_after});
  }
}

void add_max_pool2d_cases(std::vector<Case>& cases, const Tensors& t, std::int64_t N, const std::string& implementation,
                          std::int64_t d) {
  for (std::int64_t side : {32 / d, 16 / d, 8 / d}) {
    const ops::MaxPool2dParams params{.kernel_size = 2, .stride = 2};
    Tensor input = t.random({N, 32, side, side}, 5), output = t.empty({N, 32, side / 2, side / 2});
    Tensor indices = t.empty({N, 32, side / 2, side / 2}, DType::i32);
    Tensor grad_output = t.random({N, 32, side / 2, side / 2}, 6), grad_input = t.empty({N, 32, side, side});
    ops::max_pool2d_forward(input, output, indices, params);  // the indices the backward reads
    const double inputs = static_cast<double>(N) * 32 * side * side, outputs = inputs / 4;
    cases.push_back(Case{
        Op::max_pool2d, fmt::format("32x{}x{} 2x2", side, side), N, implementation, 3 * outputs, outputs,
        kBytes * (inputs + 2 * outputs), kBytes * (2 * outputs + inputs),
        [=]() mutable { ops::max_pool2d_forward(input, output, indices, params); },
        [=]() mutable { ops::max_pool2d_backward(grad_output, indices, grad_input, params); }, {}});
  }
}

void add_batch_norm2d_cases(std::vector<Case>& cases, const Tensors& t, std::int64_t N, const std::string& implementation,
                            std::int64_t d) {
  for (std::int64_t side : {32 / d, 16 / d, 8 / d}) {
    const std::int64_t C = 32;
    const ops::BatchNormParams params{.eps = 1e-5, .momentum = 0.1};
    Tensor input = t.random({N, C, side, side}, 7), weight = t.random({C}, 8, 0.5, 1.5);
    Tensor bias = t.random({C}, 9), running_mean = t.random({C}, 10), running_var = t.random({C}, 11, 0.5, 2);
    Tensor output = t.empty({N, C, side, side}), save_mean = t.empty({C}), save_invstd = t.empty({C});
    Tensor grad_output = t.random({N, C, side, side}, 12), grad_input = t.empty({N, C, side, side});
    Tensor grad_weight = t.zeros({C}), grad_bias = t.zeros({C});
    auto forward = [=]() mutable {
      ops::batch_norm2d_forward_train(input, weight, bias, running_mean, running_var, output, save_mean, save_invstd,
                                      params);
    };
    auto backward = [=]() mutable {
      ops::batch_norm2d_backward_train(grad_output, input, weight, save_mean, save_invstd, grad_input, grad_weight,
                                       grad_bias);
    };
    const double elements = static_cast<double>(N) * C * side * side;
    // Forward: mean (1), variance (2), normalise (2), scale and shift (2) per element.
    // Backward: two sums (3), the input gradient (5) per element.
    cases.push_back(Case{Op::batch_norm2d, fmt::format("32x{}x{}", side, side), N, implementation, 7 * elements,
                         8 * elements, kBytes * 2 * elements, kBytes * 3 * elements, forward, backward, {}});
  }
}

void add_relu_cases(std::vector<Case>& cases, const Tensors& t, std::int64_t N, const std::string& implementation,
                    std::int64_t d) {
  for (std::int64_t side : {32 / d, 16 / d, 8 / d}) {
    const std::int64_t count = N * 32 * side * side;
    Tensor input = t.random({count}, 13), output = t.empty({count});
    Tensor grad_output = t.random({count}, 14), grad_input = t.empty({count});
    ops::relu_forward(input, output);  // the output the backward reads
    const double elements = static_cast<double>(count);
    cases.push_back(Case{Op::relu, fmt::format("32x{}x{}", side, side), N, implementation, elements, elements,
                         kBytes * 2 * elements, kBytes * 3 * elements,
                         [=]() mutable { ops::relu_forward(input, output); },
                         [=]() mutable { ops::relu_backward(grad_output, output, grad_input); }, {}});
  }
}

void add_linear_cases(std::vector<Case>& cases, const Tensors& t, std::int64_t N, const std::string& implementation,
                      std::int64_t d) {
  // fc1 takes the last pool's 32 x (4/d) x (4/d) values.
  for (auto [in, out] : {std::pair<std::int64_t, std::int64_t>{512 / (d * d), 64}, {64, 10}}) {
    Tensor input = t.random({N, in}, 15), weight = t.random({out, in}, 16, -0.1, 0.1);
    Tensor bias = t.random({out}, 17), output = t.empty({N, out});
    Tensor grad_output = t.random({N, out}, 18), grad_input = t.empty({N, in});
    Tensor grad_weight = t.zeros({out, in}), grad_bias = t.zeros({out});
    const double macs = static_cast<double>(N) * in * out;
    const double weights = static_cast<double>(in) * out;
    cases.push_back(Case{
        Op::linear, fmt::format("{}->{}", in, out), N, implementation, 2 * macs + N * out, 4 * macs + N * out,
        kBytes * (N * in + weights + out + N * out), kBytes * (N * out + N * in + weights + N * in + 2 * weights + 2 * out),
        [=]() mutable { ops::linear_forward(input, weight, bias, output); },
        [=]() mutable { ops::linear_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias); }, {}});
  }
}

void add_cross_entropy_cases(std::vector<Case>& cases, const Tensors& t, std::int64_t N,
                             const std::string& implementation) {
  const std::int64_t K = 10;
  Tensor logits = t.random({N, K}, 19, -3, 3), grad_logits = t.empty({N, K});
  std::vector<std::int32_t> label_values(N);
  for (std::int64_t n = 0; n < N; ++n) label_values[n] = static_cast<std::int32_t>(n * 7 % K);
  Tensor labels = Tensor::from_vector<std::int32_t>({N}, label_values, t.device());
  Tensor loss = t.empty({1}), num_correct = t.empty({1}, DType::i32);
  const double elements = static_cast<double>(N) * K;
  // Per element: the row maximum (1), exp and its sum (2), the correct count (1); the gradient adds 2.
  cases.push_back(Case{
      Op::cross_entropy, "10 classes", N, implementation, 4 * elements, 6 * elements, kBytes * (elements + N),
      kBytes * (2 * elements + N),
      [=]() mutable {
        Tensor no_gradient;
        ops::cross_entropy_forward_backward(logits, labels, loss, no_gradient, num_correct);
      },
      [=]() mutable { ops::cross_entropy_forward_backward(logits, labels, loss, grad_logits, num_correct); }, {}});
}

bool wanted(const std::vector<std::string>& filter, const std::string& name) {
  return filter.empty() || std::find(filter.begin(), filter.end(), name) != filter.end();
}

// Every case the options ask for, in the network's order.
std::vector<Case> make_cases(const Options& options) {
  const Tensors tensors(options.device);
  std::vector<Case> cases;
  for (std::int64_t N : options.batches) {
    for (Op op : {Op::conv2d, Op::batch_norm2d, Op::relu, Op::max_pool2d, Op::linear, Op::cross_entropy}) {
      if (!wanted(options.ops, ops::op_name(op))) continue;
      for (const ops::ImplementationInfo& info : ops::implementations(op, options.device)) {
        const std::string& implementation = info.name;
        if (!wanted(options.implementations, implementation)) continue;
        // The set-up calls some cases make (a forward whose results the backward reads)
        // run the case's implementation too.
        ops::ImplementationGuard use(op, options.device, implementation);
        const std::int64_t d = options.side_divisor;
        switch (op) {
          case Op::conv2d: add_conv2d_cases(cases, tensors, N, implementation, d); break;
          case Op::batch_norm2d: add_batch_norm2d_cases(cases, tensors, N, implementation, d); break;
          case Op::relu: add_relu_cases(cases, tensors, N, implementation, d); break;
          case Op::max_pool2d: add_max_pool2d_cases(cases, tensors, N, implementation, d); break;
          case Op::linear: add_linear_cases(cases, tensors, N, implementation, d); break;
          case Op::cross_entropy: add_cross_entropy_cases(cases, tensors, N, implementation); break;
          default: break;  // no cases (yet)
        }
      }
    }
  }
  return cases;
}

// Milliseconds per call: the median and the fastest of `reps` samples of `inner` calls,
// after `warmup` calls. CUDA times between two events on the stream; the CPU by the
// steady clock (the ops return when done).
Timing time_calls(const std::function<void()>& call, const Options& options) {
  for (int i = 0; i < options.warmup; ++i) call();
  const bool on_cuda = options.device == DeviceType::CUDA;
  if (on_cuda) cuda::synchronize();
  std::vector<double> samples;
  for (int rep = 0; rep < options.reps; ++rep) {
    if (on_cuda) {
      cuda::Event start, stop;
      start.record();
      for (int i = 0; i < options.inner; ++i) call();
      stop.record();
      stop.synchronize();
      samples.push_back(stop.elapsed_ms_since(start) / options.inner);
    } else {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < options.inner; ++i) call();
      const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
      samples.push_back(elapsed.count() / options.inner);
    }
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
      "bench_ops: forward and backward time of the study's ops for each implementation on a device\n"
      "  --device cuda|cpu       the device (default cuda)\n"
      "  --threads N             CPU threads (default: MINIDL_NUM_THREADS, else every core)\n"
      "  --batch LIST            batch sizes, comma-separated (default 10,100)\n"
      "  --warmup N              calls before timing (default 10; on the cpu 2)\n"
      "  --reps N                timed samples; the median is reported (default 30; on the cpu 7)\n"
      "  --inner N               back-to-back calls per sample (default 10; on the cpu 1)\n"
      "  --ops LIST              only these ops (conv2d,batch_norm2d,relu,max_pool2d,linear,cross_entropy)\n"
      "  --implementations LIST  only these names (--list shows them)\n"
      "  --json PATH             write every result there\n"
      "  --quick                 a smoke test: one call of each case, batch 1, images of 8x8 instead of 32x32\n"
      "  --list                  print every registered implementation of every op (kernels/registry.h) and exit");
}

Options parse(int argc, char** argv) {
  Options options;
  bool batch_given = false, quick = false, counts_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail("bench_ops: {} needs a value", arg);
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      print_help();
      std::exit(0);
    } else if (arg == "--list") {
      std::fputs(ops::registry_listing().c_str(), stdout);
      std::exit(0);
    } else if (arg == "--device") {
      const std::string device = value();
      if (device != "cuda" && device != "cpu") fail("bench_ops: --device: expected cuda or cpu, got '{}'", device);
      options.device = device == "cpu" ? DeviceType::CPU : DeviceType::CUDA;
    } else if (arg == "--threads") {
      options.threads = std::stoi(value());
      if (options.threads < 1) fail("bench_ops: --threads must be at least 1, got {}", options.threads);
    } else if (arg == "--batch") {
      options.batches.clear();
      for (const std::string& b : split(value())) options.batches.push_back(std::stoll(b));
      batch_given = true;
    } else if (arg == "--warmup") {
      options.warmup = std::stoi(value());
      counts_given = true;
    } else if (arg == "--reps") {
      options.reps = std::max(1, std::stoi(value()));
      counts_given = true;
    } else if (arg == "--inner") {
      options.inner = std::max(1, std::stoi(value()));
      counts_given = true;
    } else if (arg == "--json") {
      options.json_path = value();
    } else if (arg == "--ops") {
      options.ops = split(value());
      for (const std::string& op : options.ops) ops::parse_op(op);  // throws on an unknown name
    } else if (arg == "--implementations") {
      options.implementations = split(value());
      // Checked against the registry once the device is known (run()).
    } else if (arg == "--quick") {
      quick = true;
    } else {
      fail("bench_ops: unknown argument '{}' (see --help)", arg);
    }
  }
  // A CPU call takes milliseconds, not microseconds, and the host's clock resolves one:
  // fewer calls give as steady a median (the reference conv2d at batch 100 takes seconds).
  if (options.device == DeviceType::CPU && !counts_given) {
    options.warmup = 2;
    options.reps = 7;
    options.inner = 1;
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

// The device in words, for the header and the JSON.
std::string describe(const Options& options) {
  if (options.device == DeviceType::CPU) return fmt::format("cpu, {} threads", num_threads());
  return cuda::describe() + (cuda::is_emulated() ? " (emulated: times are not GPU times)" : "");
}

int run(const Options& options) {
  const char* device_name = options.device == DeviceType::CPU ? "cpu" : "cuda";
  std::printf("bench_ops: %s\n", describe(options).c_str());
  std::printf("bench_ops: implementations per op on %s:", device_name);
  std::vector<std::string> registered;  // every name on the device, in order of first appearance
  for (Op op : ops::all_ops()) {
    std::string names;
    for (const ops::ImplementationInfo& info : ops::implementations(op, options.device)) {
      names += fmt::format("{}{}", names.empty() ? "" : ",", info.name);
      if (std::find(registered.begin(), registered.end(), info.name) == registered.end())
        registered.push_back(info.name);
    }
    std::printf(" %s=%s", ops::op_name(op), names.c_str());
  }
  for (const std::string& name : options.implementations)
    if (std::find(registered.begin(), registered.end(), name) == registered.end())
      fail("bench_ops: no op has an implementation '{}' on {} (registered: {})", name, device_name,
           fmt::join(registered, ", "));
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
    const std::string& implementation = c.implementation;
    auto row = std::make_tuple(static_cast<int>(c.op), c.shape, c.batch);
    if (table.find(row) == table.end()) row_order.push_back(row);
    std::string cell;
    for (const char* direction : {"forward", "backward"}) {
      bool forward = std::string(direction) == "forward";
      nlohmann::json result = {{"op", ops::op_name(c.op)},     {"shape", c.shape},
                               {"batch", c.batch},            {"implementation", implementation},
                               {"direction", direction}};
      try {
        ops::ImplementationGuard use(c.op, options.device, c.implementation);
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
                     static_cast<long long>(c.batch), implementation.c_str(), direction, error.what());
      }
      results.push_back(result);
    }
    table[row][implementation] = cell;
    c.forward = c.backward = {};  // frees this case's tensors
  }

  if (!options.json_path.empty()) {
    nlohmann::json document = {{"device", describe(options)},
                               {"emulated", options.device == DeviceType::CUDA && cuda::is_emulated()},
                               {"warmup", options.warmup},
                               {"reps", options.reps},
                               {"inner", options.inner},
                               {"time_unit", "microseconds per call (median of reps samples of inner calls)"},
                               {"results", results}};
    std::ofstream(options.json_path) << document.dump(2) << "\n";
    std::printf("bench_ops: wrote %s\n", options.json_path.c_str());
  }

  // One column per implementation name registered on the device, in the registry's order.
  const std::vector<std::string>& columns = registered;
  std::printf("\n%-14s %-14s %6s", "op", "shape", "batch");
  for (const std::string& column : columns) std::printf("  %-23s", (column + " fwd / bwd us").c_str());
  std::printf("\n");
  for (const auto& row : row_order) {
    auto& cells = table[row];
    std::printf("%-14s %-14s %6lld", ops::op_name(static_cast<Op>(std::get<0>(row))), std::get<1>(row).c_str(),
                static_cast<long long>(std::get<2>(row)));
    for (const std::string& column : columns)
      std::printf("  %-23s", cells.count(column) ? cells[column].c_str() : "-");
    std::printf("\n");
  }
  if (failures > 0) std::printf("\nbench_ops: %d timings failed (see above)\n", failures);
  return failures > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options options = parse(argc, argv);
    if (options.threads > 0) set_num_threads(options.threads);
    if (options.device == DeviceType::CUDA && !cuda::is_built()) {
      std::fprintf(stderr, "bench_ops: minidl was built without CUDA: use --device cpu\n");
      return 2;
    }
    if (options.device == DeviceType::CUDA && !cuda::is_available()) {
      std::fprintf(stderr, "bench_ops: %s\n", cuda::unavailable_reason().c_str());
      return 2;
    }
    return run(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 1;
  }
}
