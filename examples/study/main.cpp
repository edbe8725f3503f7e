// study: the CIFAR-10 study of network-optimization methods, reproduced with minidl.
// See study.h for the runs and `study --help` for the flags.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <csignal>
#include <unistd.h>

#include <fmt/format.h>

#include "cli.h"
#include "minidl/core/directory_lock.h"
#include "minidl/core/error.h"
#include "minidl/core/parallel.h"
#include "minidl/core/program.h"
#include "minidl/data/cifar10.h"
#include "minidl/distributed/communicator.h"
#include "report.h"
#include "study.h"
#include "minidl/core/cuda_runtime.h"

using namespace minidl;
using namespace minidl::study;

namespace {

// Data parallel: rank 0 prints and writes the results (is_leader); the other ranks train
// in silence. Set once the options are known.
bool leader = true;

// Writes text to standard output on rank 0.
void say(const std::string& text) {
  if (leader) write_standard_output(text);
}

const char* signal_name(int signal) { return signal == SIGINT ? "SIGINT" : "SIGTERM"; }

// "AMD EPYC" from /proc/cpuinfo, or "unknown CPU".
std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return text;
}

std::string device_description(Device device) {
  if (device.is_cuda()) return fmt::format("{} ({})", device.str(), cuda::describe());
  return fmt::format("{} ({} threads)", device.str(), num_threads());
}

// ", data parallel over 2 ranks (mpi)", or "" for a single process.
std::string data_parallel_description(const StudyOptions& options) {
  if (!options.communicator) return "";
  const bool stand_in = cuda_is_emulated() && options.device.is_cuda();
  return fmt::format(", data parallel over {} ranks ({}{})", options.communicator->size(),
                     options.communicator->backend(), stand_in ? ", minidl's stand-in over MPI" : "");
}

// True, after saying so, when SIGINT or SIGTERM came before `which` began; in data
// parallel, when it came to any rank (every rank asks here, between runs, and all stop).
bool stopped_before(const std::string& which, const StudyOptions& options) {
  if (!stop_requested_by_any_rank(options)) return false;
  say(fmt::format("\nstudy: stopped by {} before {}; `--resume` with the same flags goes on\n",
                  signal_name(stop_signal()), which));
  return true;
}

// Says where a signal stopped `which` and where its training state is.
void say_interrupted(const std::string& which, const Interruption& interrupted) {
  say(fmt::format("\nstudy: stopped by {} in {} at epoch {} after step {}: its training state is in {}; "
                  "`--resume` with the same flags goes on from there\n",
                  signal_name(stop_signal()), which, interrupted.epoch, interrupted.steps_done,
                  interrupted.checkpoint_path));
}

// --grid: the one run over every batch size x learning rate, each cell trained and
// tested; a cell that diverges is marked and the grid goes on.
int run_grid(StudyArgs& args, const data::Cifar10& train, const data::Cifar10& test, const StudyContext& context,
             const Output& output) {
  StudyOptions& options = args.options;
  const RunSpec& spec = find_run(args.runs.front());
  std::vector<GridCell> cells;
  for (const std::int64_t batch_size : args.grid_batches) {
    for (const double lr : args.grid_lrs) {
      options.batch_size = batch_size;
      options.lr = lr;
      options.file_suffix = fmt::format("-b{}-lr{}", batch_size, lr);
      const std::string which = fmt::format("{} at batch {}, lr {}", spec.name, batch_size, lr);
      if (stopped_before(which, options)) return 0;
      say(fmt::format("\n== {} ==\n", which));
      GridCell cell{.batch_size = batch_size, .lr = lr, .result = {}, .diverged = {}};
      try {
        RunResult result = run_study(spec, train, test, options, output);
        if (result.interrupted) {
          say_interrupted(which, *result.interrupted);
          return 0;
        }
        cell.result = std::move(result);
      } catch (const Diverged& diverged) {
        cell.diverged = diverged.what();
        say(fmt::format("   diverged: {}\n", diverged.what()));
      }
      cells.push_back(std::move(cell));
      if (leader) write_grid_results(options.output_dir, context, spec, cells);
    }
  }
  if (!leader) return 0;
  std::string plot_problem = draw_grid(options.output_dir, cells, args.grid_batches, args.grid_lrs);
  if (!plot_problem.empty()) fmt::print(stderr, "study: warning: no grid plot: {}\n", plot_problem);
  write_grid_report(options.output_dir + "/grid.md", context, spec, cells, args.grid_batches, args.grid_lrs,
                    plot_problem.empty());
  say(fmt::format("\nresults: {0}/grid.csv, {0}/grid.json, {0}/grid.md\n", options.output_dir));
  return 0;
}

int run(int argc, char** argv) {
  StudyArgs args = parse_study_args(argc, argv);
  if (args.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  StudyOptions& options = args.options;
  options.stop_requested = stop_requested;
  if (options.device.is_cuda()) require_cuda("--device cuda");
  if (args.threads > 0) set_num_threads(args.threads);
  for (const std::string& op_equals_name : args.implementations)
    ops::set_implementation(op_equals_name, options.device.type);
  if (args.deterministic) ops::set_deterministic(true);
  // Data parallel: first, so that each rank chooses its GPU before CUDA memory is used.
  std::unique_ptr<distributed::Communicator> communicator;
  if (args.distributed) {
    communicator = distributed::make_communicator(options.device);
    options.communicator = communicator.get();
    leader = is_leader(options);
  } else if (distributed::launcher_world_size() > 1) {
    fail("started by mpirun as one of {} processes without --distributed: each would train alone and write the "
         "same files; add --distributed for data parallel",
         distributed::launcher_world_size());
  }
  options.graphs = args.graphs.value_or(options.device.is_cuda());
  if (options.graphs && !options.device.is_cuda()) fail("--graph on needs --device cuda (CUDA graphs)");

  // Read before anything is trained: a bad file is refused at once.
  const std::optional<Reference> reference =
      args.compare_with ? std::optional<Reference>(load_reference(*args.compare_with)) : std::nullopt;
  const std::string data_dir = data::find_cifar10(
      {.data_dir = args.data_dir, .allow_download = args.download, .records_per_file = args.records_per_file});
  const data::Cifar10 train = data::load_cifar10(data_dir, data::Split::train, args.records_per_file);
  const data::Cifar10 test = data::load_cifar10(data_dir, data::Split::test, args.records_per_file);
  // Every run's batch must fit the data before the first one starts.
  for (const std::string& name : args.runs) {
    std::vector<std::int64_t> batch_sizes = {options.batch_size.value_or(find_run(name).batch_size)};
    if (args.grid) batch_sizes = args.grid_batches;
    for (const std::int64_t batch_size : batch_sizes)
      if (batch_size > train.size() || batch_size > test.size())
        fail("run {}: batch size {} is larger than the data ({} training, {} test images)", name, batch_size,
             train.size(), test.size());
  }
  // Two studies writing one directory would overwrite each other's results (rank 0
  // alone writes, in data parallel).
  std::optional<DirectoryLock> output_lock;
  if (leader) {
    std::filesystem::create_directories(options.output_dir);
    output_lock.emplace(options.output_dir, "study");
  }
  // Under mpirun a rank's standard output is a terminal of mpirun's (a pty), not the
  // user's: no redrawn progress line there.
  options.progress_bar = !communicator && ::isatty(STDOUT_FILENO) != 0;

  StudyContext context{.machine = fmt::format("{}, {} hardware threads", cpu_model(),
                                              std::thread::hardware_concurrency()),
                       .device = device_description(options.device) + data_parallel_description(options),
                       .implementations = ops::implementations_summary(options.device.type) +
                                          (ops::deterministic() ? " (deterministic)" : "") +
                                          (options.graphs ? ", each training step one CUDA graph" : ""),
                       .data = fmt::format("{} ({} training, {} test images)", data_dir, train.size(), test.size()),
                       .date = utc_now(),
                       .seeds = args.seeds,
                       .epochs = options.epochs};

  say(fmt::format(
      "minidl study: device {}\n  implementations: {}\n  data: {}\n  {} {}, {} epochs, runs: {}\n  output: {}\n",
      context.device, context.implementations, context.data, args.seeds.size() > 1 ? "seeds" : "seed",
      fmt::join(args.seeds, ", "), context.epochs, fmt::join(args.runs, ", "), options.output_dir));
  Output output{.line = [](const std::string& line) { say(line + "\n"); },
                .progress = [](const std::string& partial) { say(partial); }};
  const std::string dir = options.output_dir;
  if (args.grid) return run_grid(args, train, test, context, output);
  std::vector<RunResult> results;
  // Every run once per seed, seed after seed.
  for (const std::uint64_t seed : args.seeds) {
    options.seed = seed;
    options.file_suffix = args.seeds.size() > 1 ? fmt::format("-seed{}", seed) : "";
    for (const std::string& name : args.runs) {
      const RunSpec& spec = find_run(name);
      const std::string which = args.seeds.size() > 1 ? fmt::format("{} (seed {})", name, seed) : name;
      if (stopped_before("run " + which, options)) return 0;
      say(fmt::format("\n== {}: {} ==\n", which, spec.description));
      RunResult result = run_study(spec, train, test, options, output);
      if (result.interrupted) {
        say_interrupted("run " + which, *result.interrupted);
        return 0;
      }
      results.push_back(result);
      say(fmt::format("   ({:.0f} s)\n", results.back().seconds));
      // Results are written as they come, so an interrupted study keeps its finished runs.
      if (leader) {
        write_results_csv(dir + "/results.csv", results);
        write_results_json(dir + "/results.json", context, results);
      }
    }
  }
  if (!leader) return 0;
  std::string plot_problem = draw_plots(dir, results);
  if (!plot_problem.empty()) fmt::print(stderr, "study: warning: no plots: {}\n", plot_problem);
  write_report(dir + "/report.md", context, results, plot_problem.empty(), reference ? &*reference : nullptr);

  say(fmt::format("\n{:<18} {:>6} {:>14} {:>14} {:>10}\n", "run", "seed", "test accuracy", "study", "wall time"));
  for (const RunResult& result : results)
    say(fmt::format("{:<18} {:>6} {:>12.2f} % {:>12.2f} % {:>8.0f} s\n", result.spec.name, result.seed,
                    result.test.accuracy(), result.spec.study_test_accuracy, result.seconds));
  say(fmt::format("\nresults: {}/results.csv, {}/results.json, {}/report.md\n", dir, dir, dir));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ignore_write_signals();
  install_stop_signals("study");
  const int status = run_main("study", [&] { return run(argc, argv); });
  // An error on one rank would leave the others waiting in a collective: end them all.
  if (status != 0) distributed::abort_job_if_distributed(status);
  return status;
}
