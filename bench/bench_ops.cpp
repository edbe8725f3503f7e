// bench_ops: forward and backward time of each op of the study's network, for each
// implementation this build registers on a device (kernels/implementation.h): on CUDA the
// rungs of minidl's hand-written kernels (the first simple version of each op and the
// fast one), cuBLAS (linear, conv2d through im2col) and cuDNN (conv2d, batch_norm2d); on
// the CPU the plain-loop reference and the fast paths.
//
//   bench_ops [--device cuda|cpu] [--threads N] [--batch 10,100] [--warmup 10] [--reps 30]
//             [--inner 10] [--json PATH] [--ops conv2d,linear,...]
//             [--implementations blocked,cudnn,...] [--timing graph|launched] [--quick] [--list]
//
// The cases (bench/op_cases.h) are the study's shapes at each batch, each op called as the
// layers call it (kernels/ops.h) with its implementation chosen for the case
// (ImplementationGuard), in fp32 (no TF32 anywhere), on random data; an implementation
// that fuses the following ReLU is also timed fused (variant "+relu"), and max_pool2d's
// backward with the preceding ReLU's backward fused.
//
// Timing: `warmup` calls (workspaces are sized and cuDNN finds its algorithms then), then
// `reps` samples of `inner` back-to-back calls each; a call's time is a sample's / inner,
// and the median sample is reported (and the fastest). On CUDA the `inner` calls are
// captured once as a CUDA graph and each sample replays it between two events, so the
// time is the kernels' and not the host's launches (a case whose calls a capture refuses
// is timed as launched, and says so; --timing launched times every case so, as the first
// bench_ops did); on the CPU the host's steady clock times the calls.
// FLOPs count 2 per multiply-add and, for the elementwise ops, a nominal count per
// element; bytes are the fewest a call must move (see bench/op_cases.cpp).
//
// Prints the device, one row per case and implementation (forward, backward, their sum,
// GFLOP/s, and the sum over the fastest implementation's), then at the largest batch the
// issue's targets: each hand-written conv2d and linear against cuDNN and cuBLAS. On the
// CPU it first measures the machine's FP32 peak (bench/cpu_peak.h), gives each row's
// share of it, and at the largest batch each conv2d's forward and backward share.
// --json writes every number. --quick (one call of each case, batch 1, images 4 times
// smaller) is a smoke test, for the emulated flavour and the CPU in CI.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cpu_peak.h"
#include "minidl/core/cuda_runtime.h"
#include "minidl/core/device.h"
#include "minidl/core/command_line.h"
#include "minidl/core/error.h"
#include "minidl/core/parallel.h"
#include "minidl/kernels/implementation.h"
#include "op_cases.h"

namespace {

using namespace minidl;
using bench::Case;
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
  bool graphs = true;                        // CUDA: time graph replays (--timing graph), else launches
};

struct Timing {
  double median_ms = 0, min_ms = 0;
  bool launched = false;  // CUDA: a capture refused the calls, so they were timed as launched
};

// Milliseconds per call: the median and the fastest of `reps` samples of `inner` calls,
// after `warmup` calls.
Timing time_calls(const std::function<void()>& call, const Options& options) {
  for (int i = 0; i < options.warmup; ++i) call();
  const bool on_cuda = options.device == DeviceType::CUDA;
  Timing timing;
  std::unique_ptr<cuda::Graph> graph;
  if (on_cuda) cuda::synchronize();
  if (on_cuda && !options.graphs) {
    timing.launched = true;
  } else if (on_cuda) {
    try {
      graph = std::make_unique<cuda::Graph>([&] {
        for (int i = 0; i < options.inner; ++i) call();
      });
    } catch (const Error&) {
      // A call the capture refuses (it allocates or waits): timed as launched instead.
      timing.launched = true;
      cuda::synchronize();
    }
  }
  std::vector<double> samples;
  for (int rep = 0; rep < options.reps; ++rep) {
    if (on_cuda) {
      cuda::Event start, stop;
      start.record();
      if (graph) {
        graph->replay();
      } else {
        for (int i = 0; i < options.inner; ++i) call();
      }
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
  timing.median_ms = samples[samples.size() / 2];
  timing.min_ms = samples.front();
  return timing;
}

bool wanted(const std::vector<std::string>& filter, const std::string& name) {
  return filter.empty() || std::find(filter.begin(), filter.end(), name) != filter.end();
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
      "  --ops LIST              only these ops (conv2d,batch_norm2d,relu,max_pool2d,linear,cross_entropy,sgd)\n"
      "  --implementations LIST  only these names (--list shows them)\n"
      "  --json PATH             write every result there\n"
      "  --timing graph|launched CUDA: time replays of a graph of the calls (default), or the calls as launched\n"
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
      options.threads = static_cast<int>(parse_integer(arg, value(), 1, 1024));
    } else if (arg == "--batch") {
      options.batches.clear();
      for (const std::string& b : split(value())) options.batches.push_back(parse_integer(arg, b, 1, 100'000));
      if (options.batches.empty()) fail("bench_ops: --batch needs at least one batch size");
      batch_given = true;
    } else if (arg == "--warmup") {
      options.warmup = static_cast<int>(parse_integer(arg, value(), 0, 1'000'000));
      counts_given = true;
    } else if (arg == "--reps") {
      options.reps = static_cast<int>(parse_integer(arg, value(), 1, 1'000'000));
      counts_given = true;
    } else if (arg == "--inner") {
      options.inner = static_cast<int>(parse_integer(arg, value(), 1, 1'000'000));
      counts_given = true;
    } else if (arg == "--json") {
      options.json_path = value();
    } else if (arg == "--ops") {
      options.ops = split(value());
      for (const std::string& op : options.ops) ops::parse_op(op);  // throws on an unknown name
    } else if (arg == "--implementations") {
      options.implementations = split(value());
      // Checked against the registry once the device is known (run()).
    } else if (arg == "--timing") {
      const std::string timing = value();
      if (timing != "graph" && timing != "launched")
        fail("bench_ops: --timing: expected graph or launched, got '{}'", timing);
      options.graphs = timing == "graph";
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
    options.warmup = 1;  // sizes the workspaces, so that the timed call can be captured
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

// One timed case: its numbers, or the error that stopped it.
struct Row {
  Op op;
  std::string shape, variant, implementation;
  std::int64_t batch;
  std::optional<Timing> forward, backward;  // absent: the case has no such direction
  double flops = 0;                         // of the directions timed
  double forward_flops = 0, backward_flops = 0;
  std::string error, note;
  double pair_find_fastest_ms = 0, pair_find_gemm_ms = 0;  // cuDNN's Find times, conv2d only

  double total_ms() const {
    return (forward ? forward->median_ms : 0.0) + (backward ? backward->median_ms : 0.0);
  }
  bool ok() const { return error.empty(); }
  std::string group() const { return fmt::format("{}|{}|{}|{}", ops::op_name(op), shape, variant, batch); }
};

Row run_case(Case& c, const Options& options) {
  Row row{c.op, c.shape, c.variant, c.implementation, c.batch, {}, {}, 0, 0, 0, "", "", 0, 0};
  try {
    ops::ImplementationGuard use(c.op, options.device, c.implementation);
    if (c.forward) {
      row.forward = time_calls(c.forward, options);
      row.flops += c.forward_flops;
      row.forward_flops = c.forward_flops;
    }
    if (c.backward) {
      row.backward = time_calls(c.backward, options);
      row.flops += c.backward_flops;
      row.backward_flops = c.backward_flops;
    }
    if (c.note) row.note = c.note();
    if (c.library_find_times) std::tie(row.pair_find_fastest_ms, row.pair_find_gemm_ms) = c.library_find_times();
  } catch (const std::exception& error) {
    row.error = error.what();
    std::fprintf(stderr, "bench_ops: %s %s%s batch %lld %s failed: %s\n", ops::op_name(c.op), c.shape.c_str(),
                 c.variant.c_str(), static_cast<long long>(c.batch), c.implementation.c_str(), error.what());
  }
  return row;
}

nlohmann::json to_json(const Row& row, const Case& c, bool on_cuda) {
  nlohmann::json result = {{"op", ops::op_name(row.op)}, {"shape", row.shape},
                           {"variant", row.variant},     {"batch", row.batch},
                           {"implementation", row.implementation}};
  if (!row.ok()) {
    result["error"] = row.error;
    return result;
  }
  auto direction = [&](const std::optional<Timing>& timing, double flops, double bytes) {
    if (!timing) return nlohmann::json();
    return nlohmann::json{{"median_us", timing->median_ms * 1e3},
                          {"min_us", timing->min_ms * 1e3},
                          {"timed_as", !on_cuda ? "host clock" : timing->launched ? "launched" : "graph"},
                          {"flops", flops},
                          {"gflop_per_s", per_second(flops, timing->median_ms) * 1e-9},
                          {"bytes", bytes},
                          {"gb_per_s", per_second(bytes, timing->median_ms) * 1e-9}};
  };
  result["forward"] = direction(row.forward, c.forward_flops, c.forward_bytes);
  result["backward"] = direction(row.backward, c.backward_flops, c.backward_bytes);
  if (!row.note.empty()) result["note"] = row.note;
  if (row.pair_find_fastest_ms > 0) {
    result["cudnn_find_fastest_us"] = row.pair_find_fastest_ms * 1e3;
    result["cudnn_find_gemm_based_us"] = row.pair_find_gemm_ms * 1e3;
  }
  return result;
}

std::string microseconds(const std::optional<Timing>& timing) {
  if (!timing) return "-";
  return fmt::format("{:.1f}{}", timing->median_ms * 1e3, timing->launched ? "*" : "");
}

// The targets at batch N: each hand-written conv2d (forward + backward) within
// 1.25x of cuDNN on each of the study's three shapes, and linear within 1.25x of cuBLAS.
// Returns the lines to print.
std::vector<std::string> targets(const std::vector<Row>& rows, std::int64_t N) {
  std::vector<std::string> lines;
  auto find = [&](Op op, const std::string& shape, const std::string& implementation) -> const Row* {
    for (const Row& row : rows)
      if (row.op == op && row.shape == shape && row.variant.empty() && row.batch == N &&
          row.implementation == implementation && row.ok())
        return &row;
    return nullptr;
  };
  auto compare = [&](Op op, const char* library) {
    std::vector<std::string> shapes;
    for (const Row& row : rows)
      if (row.op == op && row.batch == N && row.variant.empty() &&
          std::find(shapes.begin(), shapes.end(), row.shape) == shapes.end())
        shapes.push_back(row.shape);
    for (const std::string& shape : shapes) {
      const Row* reference = find(op, shape, library);
      if (!reference) continue;
      for (const Row& row : rows) {
        if (row.op != op || row.shape != shape || !row.variant.empty() || row.batch != N || !row.ok() ||
            row.implementation == library || row.implementation == "cublas" || row.implementation == "cudnn")
          continue;
        const double ratio = row.total_ms() / reference->total_ms();
        std::string line = fmt::format("{:<8} {:<14} {:<10} {:>9.1f} us  {:<7} {:>9.1f} us  {:>5.2f}x  {}",
                                       ops::op_name(op), shape, row.implementation, row.total_ms() * 1e3, library,
                                       reference->total_ms() * 1e3, ratio, ratio <= 1.25 ? "met" : "NOT met");
        if (reference->pair_find_gemm_ms > 0)
          line += fmt::format("  (cuDNN's own Find: fastest {:.1f} us, best GEMM-based {:.1f} us: {:.2f}x)",
                              reference->pair_find_fastest_ms * 1e3, reference->pair_find_gemm_ms * 1e3,
                              row.total_ms() / reference->pair_find_gemm_ms);
        lines.push_back(line);
      }
    }
  };
  compare(Op::conv2d, "cudnn");
  compare(Op::linear, "cublas");
  return lines;
}

// Each conv2d of the fastest unfused CPU implementation at batch N: forward and backward
// GFLOP/s apart, each as a share of the peak.
std::vector<std::string> cpu_ceiling_lines(const std::vector<Row>& rows, std::int64_t N, double peak) {
  std::map<std::string, const Row*> fastest;  // by shape
  for (const Row& row : rows)
    if (row.op == Op::conv2d && row.batch == N && row.variant.empty() && row.ok() &&
        (!fastest[row.shape] || row.total_ms() < fastest[row.shape]->total_ms()))
      fastest[row.shape] = &row;
  std::vector<std::string> lines;
  for (const auto& [shape, row] : fastest) {
    auto share = [&](const std::optional<Timing>& timing, double flops) {
      if (!timing) return std::string("-");
      const double gflop_per_s = per_second(flops, timing->median_ms) * 1e-9;
      return fmt::format("{:6.1f} GFLOP/s {:5.1f} % {:<7}", gflop_per_s, 100.0 * gflop_per_s / peak,
                         gflop_per_s >= 0.75 * peak ? "met" : "NOT met");
    };
    lines.push_back(fmt::format("{:<14} {:<10} forward {}  backward {}", shape, row->implementation,
                                share(row->forward, row->forward_flops), share(row->backward, row->backward_flops)));
  }
  return lines;
}

int run(const Options& options) {
  const char* device_name = options.device == DeviceType::CPU ? "cpu" : "cuda";
  std::printf("bench_ops: %s\n", describe(options).c_str());
  // On the CPU, the ceiling every GFLOP/s is a share of.
  std::optional<bench::CpuPeak> peak;
  if (options.device == DeviceType::CPU) {
    peak = bench::measure_cpu_peak();
    std::printf("bench_ops: this machine's FP32 peak: %.1f GFLOP/s on %d threads (FMA probe: %s)\n",
                peak->gflop_per_s, peak->threads, peak->instructions);
  }
  std::printf("bench_ops: implementations per op on %s:", device_name);
  std::vector<std::string> registered;  // every name on the device
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
  std::vector<Row> rows;
  // Each case's line goes to stderr and the JSON is rewritten as each case ends: a run cut
  // off (gpu-check's deadline) keeps what it measured.
  auto write_json = [&] {
    if (options.json_path.empty()) return;
    nlohmann::json document = {{"device", describe(options)},
                               {"emulated", options.device == DeviceType::CUDA && cuda::is_emulated()},
                               {"warmup", options.warmup},
                               {"reps", options.reps},
                               {"inner", options.inner},
                               {"peak_gflop_per_s", peak ? nlohmann::json(peak->gflop_per_s) : nlohmann::json()},
                               {"time_unit", "microseconds per call (median of reps samples of inner calls)"},
                               {"results", results}};
    const std::string partial = options.json_path + ".partial";
    std::ofstream(partial) << document.dump(2) << "\n";
    std::rename(partial.c_str(), options.json_path.c_str());
  };
  for (std::size_t b = 0; b < options.batches.size(); ++b) {
    const std::int64_t N = options.batches[b];
    for (Op op : ops::all_ops()) {
      if (!wanted(options.ops, ops::op_name(op))) continue;
      if (op == Op::sgd && b > 0) continue;  // the update does not depend on the batch
      for (const ops::ImplementationInfo& info : ops::implementations(op, options.device)) {
        if (!wanted(options.implementations, info.name)) continue;
        std::vector<Case> cases;
        {
          // The set-up calls some cases make (a forward whose results the backward reads)
          // run the case's implementation too.
          ops::ImplementationGuard use(op, options.device, info.name);
          cases = bench::op_cases(op, info.name, info.fuses_relu, Device{options.device, 0}, N, options.side_divisor);
        }
        for (Case& c : cases) {
          const Row& row = rows.emplace_back(run_case(c, options));
          results.push_back(to_json(row, c, options.device == DeviceType::CUDA));
          write_json();
          if (row.ok())
            std::fprintf(stderr, "bench_ops: %s %s%s batch %lld %s: %s / %s us\n", ops::op_name(row.op),
                         row.shape.c_str(), row.variant.c_str(), static_cast<long long>(row.batch),
                         row.implementation.c_str(), microseconds(row.forward).c_str(),
                         microseconds(row.backward).c_str());
        }
      }  // the cases' tensors are freed here
    }
  }

  if (!options.json_path.empty()) std::printf("bench_ops: wrote %s\n", options.json_path.c_str());

  // The fastest total per (op, shape, variant, batch), for the last column.
  std::map<std::string, double> best_ms;
  for (const Row& row : rows)
    if (row.ok()) {
      auto [it, inserted] = best_ms.emplace(row.group(), row.total_ms());
      if (!inserted) it->second = std::min(it->second, row.total_ms());
    }
  std::printf("\n%-13s %-14s %-6s %5s  %-14s %10s %10s %10s %9s %8s%s\n", "op", "shape", "fused", "batch",
              "implementation", "fwd us", "bwd us", "total us", "GFLOP/s", "vs best", peak ? "  % peak" : "");
  int failures = 0;
  for (const Row& row : rows) {
    const std::string batch = row.op == Op::sgd ? "-" : std::to_string(row.batch);
    std::printf("%-13s %-14s %-6s %5s  %-14s ", ops::op_name(row.op), row.shape.c_str(), row.variant.c_str(),
                batch.c_str(), row.implementation.c_str());
    if (!row.ok()) {
      ++failures;
      std::printf("error: %s\n", row.error.c_str());
      continue;
    }
    const double gflop_per_s = per_second(row.flops, row.total_ms()) * 1e-9;
    std::printf("%10s %10s %10.1f %9.1f %7.2fx", microseconds(row.forward).c_str(), microseconds(row.backward).c_str(),
                row.total_ms() * 1e3, gflop_per_s, row.total_ms() / best_ms[row.group()]);
    if (peak) std::printf("  %5.1f %%", 100.0 * gflop_per_s / peak->gflop_per_s);
    std::printf("\n");
  }
  if (options.device == DeviceType::CUDA)
    std::printf("(* marks a case timed as launched: %s)\n",
                options.graphs ? "a CUDA graph capture refused it; the others are graph replays" : "--timing launched");
  for (const Row& row : rows)
    if (!row.note.empty())
      std::printf("%s %s batch %lld %s: %s\n", ops::op_name(row.op), row.shape.c_str(),
                  static_cast<long long>(row.batch), row.implementation.c_str(), row.note.c_str());

  const std::int64_t largest = *std::max_element(options.batches.begin(), options.batches.end());
  const std::vector<std::string> target_lines = targets(rows, largest);
  if (!target_lines.empty()) {
    std::printf("\ntargets at batch %lld: hand-written forward + backward within 1.25x of the library's\n",
                static_cast<long long>(largest));
    for (const std::string& line : target_lines) std::printf("%s\n", line.c_str());
  }
  if (peak) {
    const std::vector<std::string> ceiling = cpu_ceiling_lines(rows, largest, peak->gflop_per_s);
    if (!ceiling.empty()) {
      std::printf("\nconv2d at batch %lld against the peak (%.1f GFLOP/s), end to end (im2col, GEMM, epilogue); "
                  "target 75 %%:\n",
                  static_cast<long long>(largest), peak->gflop_per_s);
      for (const std::string& line : ceiling) std::printf("%s\n", line.c_str());
    }
  }
  if (failures > 0) std::printf("\nbench_ops: %d cases failed (see above)\n", failures);
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
