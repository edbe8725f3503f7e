// The study's command line. `study --help` prints kUsage.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "minidl/kernels/implementation.h"
#include "study.h"

namespace minidl::study {

extern const char* const kUsage;

struct StudyArgs {
  StudyOptions options;
  std::vector<std::string> runs;  // names, in the study's order
  std::vector<std::uint64_t> seeds = {1};  // --seeds (or --seed): every run once per seed, in this order
  std::optional<std::string> compare_with;  // --compare-with: another implementation's results.json
  bool grid = false;                       // --grid: one run over batch sizes x learning rates
  std::vector<std::int64_t> grid_batches = {10, 25, 50, 100, 200};
  std::vector<double> grid_lrs = {0.01, 0.03, 0.1, 0.3, 1.0};
  std::optional<std::string> data_dir;
  bool download = false;
  bool deterministic = false;  // ops::set_deterministic (kernels/implementation.h)
  std::int64_t records_per_file = 10'000;
  int threads = 0;  // 0: the default of core/parallel.h
  std::optional<bool> graphs;  // --graph on|off; unset: on for CUDA (StudyOptions::graphs)
  std::vector<std::string> implementations;  // "OP=NAME" each, for options.device (kernels/implementation.h)
  bool distributed = false;  // --distributed: data parallel over mpirun's processes
  bool help = false;
};

// Parses argv[1..]. Throws Error naming the flag and the problem: an unknown flag,
// a missing or unparsable value, or one out of range (epochs and batch size at
// least 1, lr finite and positive, threads 1..1024, an unknown run or device).
// The device defaults to cuda when a GPU can be used, else cpu.
StudyArgs parse_study_args(int argc, const char* const* argv);

}  // namespace minidl::study
