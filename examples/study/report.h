// What the study writes after its runs, into the output directory:
//   results.csv    one row per run, seed and epoch (phase train), and the test passes
//   results.json   the same, with the run settings and the machine
//   report.md      the measured numbers beside the study's (with several seeds: mean ±
//                  sample standard deviation), the study's claims checked, plots
//   training_accuracy.png, training_loss.png, test_accuracy.png   drawn by gnuplot
// Every file is replaced atomically (core/atomic_file.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "study.h"

namespace minidl::study {

// Where and how the runs ran, for the report's header.
struct StudyContext {
  std::string machine;          // "AMD EPYC, 2 threads"
  std::string device;           // "cpu" or "cuda:0 (NVIDIA H100 ...)"
  std::string implementations;  // ops::implementations_summary
  std::string data;             // the data directory and split sizes
  std::string date;             // UTC, ISO 8601
  std::vector<std::uint64_t> seeds;  // every run ran once per seed
  int epochs = 0;
};

// Another implementation's results (examples/study/pytorch/study_pytorch.py writes them
// in the format of results.json), for --compare-with: each run's test accuracy per seed.
struct Reference {
  std::string path;
  std::string implementations;                                 // "PyTorch 1.13.0, 2 threads"
  std::map<std::string, std::map<std::uint64_t, double>> test_accuracy;  // run -> seed -> percent
};

// Reads and checks a results.json of the study's format; Error naming the file and the
// field when it is not one (runs with a known name, a seed, and a test accuracy 0..100).
Reference load_reference(const std::string& path);

void write_results_csv(const std::string& path, const std::vector<RunResult>& runs);
void write_results_json(const std::string& path, const StudyContext& context, const std::vector<RunResult>& runs);
// plots_drawn: whether the PNG files exist to be linked. reference: another
// implementation's results, shown beside minidl's with the difference per run.
void write_report(const std::string& path, const StudyContext& context, const std::vector<RunResult>& runs,
                  bool plots_drawn, const Reference* reference = nullptr);

// Draws the three PNG plots with gnuplot into dir (its data and script stay
// there as plots.dat and plots.gp; the script names no path, gnuplot runs in dir).
// The plots are replaced all together or not at all: when gnuplot fails, the plots
// of an earlier study are removed rather than left beside results they do not
// describe. Returns "" on success, else why not (gnuplot missing or failing), for a
// warning: the results themselves are complete without.
std::string draw_plots(const std::string& dir, const std::vector<RunResult>& runs);

// --grid: one run over batch sizes x learning rates (study --help).
struct GridCell {
  std::int64_t batch_size = 0;
  double lr = 0.0;
  std::optional<RunResult> result;  // absent: it diverged
  std::string diverged;             // then why (the Diverged message)
};

// grid.csv (one row per cell) and grid.json, as the cells come.
void write_grid_results(const std::string& dir, const StudyContext& context, const RunSpec& spec,
                        const std::vector<GridCell>& cells);
// grid.png, a heat map of test accuracy with each cell's figure ("diverged" where it did),
// drawn as draw_plots draws (no user text in the script, into place only when drawn).
// Returns "" or why not.
std::string draw_grid(const std::string& dir, const std::vector<GridCell>& cells,
                      const std::vector<std::int64_t>& batch_sizes, const std::vector<double>& lrs);
// grid.md: the table, the best and the largest stable lr per batch size, and the study's
// remark (a larger batch tolerates a larger lr) checked on them.
void write_grid_report(const std::string& path, const StudyContext& context, const RunSpec& spec,
                       const std::vector<GridCell>& cells, const std::vector<std::int64_t>& batch_sizes,
                       const std::vector<double>& lrs, bool plot_drawn);

}  // namespace minidl::study
