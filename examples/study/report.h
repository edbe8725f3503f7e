// What the study writes after its runs, into the output directory:
//   results.csv    one row per run, seed and epoch (phase train), and the test passes
//   results.json   the same, with the run settings and the machine
//   report.md      the measured numbers beside the study's (with several seeds: mean ±
//                  sample standard deviation), the study's claims checked, plots
//   training_accuracy.png, training_loss.png, test_accuracy.png   drawn by gnuplot
// Every file is replaced atomically (core/atomic_file.h).
#pragma once

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

void write_results_csv(const std::string& path, const std::vector<RunResult>& runs);
void write_results_json(const std::string& path, const StudyContext& context, const std::vector<RunResult>& runs);
// plots_drawn: whether the PNG files exist to be linked.
void write_report(const std::string& path, const StudyContext& context, const std::vector<RunResult>& runs,
                  bool plots_drawn);

// Draws the three PNG plots with gnuplot into dir (its data and script stay
// there as plots.dat and plots.gp; the script names no path, gnuplot runs in dir).
// The plots are replaced all together or not at all: when gnuplot fails, the plots
// of an earlier study are removed rather than left beside results they do not
// describe. Returns "" on success, else why not (gnuplot missing or failing), for a
// warning: the results themselves are complete without.
std::string draw_plots(const std::string& dir, const std::vector<RunResult>& runs);

}  // namespace minidl::study
