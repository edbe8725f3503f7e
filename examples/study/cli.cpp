#include "cli.h"

#include <string_view>

#include "minidl/core/command_line.h"
#include "minidl/core/error.h"

namespace minidl::study {

const char* const kUsage = R"(usage: study [options]

Trains the study's small CNN on CIFAR-10 with plain SGD for each run, tests it,
and writes results.csv, results.json, report.md and PNG plots to the output dir.

runs (default: all, in this order)
  control            batch 10,  lr 0.1, normalized, shuffled
  large_batch        batch 100, lr 0.1
  lr_decay           batch 10,  lr 0.1 x 0.8 after each epoch
  batch_norm         batch 10,  lr 0.1, BatchNorm2d after each conv
  no_preprocessing   batch 100, lr 0.1, no Normalize, no shuffle

options
  --runs LIST              comma-separated run names, or all
  --epochs N               epochs per run (default 10)
  --batch-size N           overrides every run's batch size
  --lr X                   overrides every run's learning rate
  --device cpu|cuda        default: cuda when a GPU can be used, else cpu
  --threads N              CPU threads (default: MINIDL_NUM_THREADS, else all cores)
  --seed N                 initial weights and data order (default 1)
  --grid                   one run (--runs NAME, default control) over batch sizes x learning rates,
                           every cell trained and tested; writes grid.csv, grid.json, grid.md and a
                           heat map, grid.png (a diverged cell is marked, not dropped)
  --grid-batches LIST      the grid's batch sizes (default 10,25,50,100,200)
  --grid-lrs LIST          the grid's learning rates (default 0.01,0.03,0.1,0.3,1)
  --compare-with FILE      another implementation's results.json (examples/study/pytorch/study_pytorch.py
                           writes PyTorch's): the report shows its test accuracy beside minidl's
  --seeds LIST             several seeds, comma-separated (e.g. 1,2,3): every run once per seed; the
                           report gives mean and standard deviation, and checks the study's claims
                           on the means (files per seed: <run>-seed<N>)
  --data-dir DIR           the CIFAR-10 binary files (else $MINIDL_CIFAR10_DIR, else --download)
  --download               fetch cifar-10-binary.tar.gz (170 MB, MD5-checked) when no data is found
  --output-dir DIR         where results go (default study-results)
  --graph on|off           each training step as one CUDA graph replay (default: on for cuda)
  --implementation OP=NAME an op's implementation on the device, e.g. conv2d=reference (repeatable;
                           bench_ops --list shows every registered one)
  --records-per-file N     records in each data file (default 10000; for small test sets)
  --resume                 go on from each run's checkpoint (output dir/checkpoints/RUN.safetensors),
                           written at every epoch's end and on SIGINT or SIGTERM
  --deterministic          CUDA results are the same bits in every run (cuDNN: deterministic
                           algorithms only; also MINIDL_DETERMINISTIC=1)
  --on-divergence stop|skip  when the loss or a gradient turns NaN or Inf: stop the run and name
                           the step (default), or skip such steps and go on
  --distributed            data parallel over the processes mpirun started (mpirun -np N study
                           --distributed ...): each batch is split over the N ranks, gradients
                           averaged (MPI for cpu, NCCL for cuda); rank 0 prints and writes the
                           results. The batch size must divide by N (docs/distributed.md)
  --help                   this text

SIGINT (Ctrl-C) or SIGTERM: the run in progress finishes its step, saves its checkpoint
and the study exits with status 0. If the step cannot finish within a second (or the
study is blocked, say writing to a full pipe), it stops at once with status 128 + the
signal, its temporary files removed; --resume goes on from the last checkpoint saved
(each epoch's end). A second signal ends it at once.
)";

namespace {

// "a,b,c" -> {"a", "b", "c"}; at most 100 items.
std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> items;
  while (true) {
    const std::size_t comma = text.find(',');
    items.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (items.size() > 100) fail("{} items in a list, at most 100", items.size());
  return items;
}

std::vector<std::uint64_t> parse_seeds(std::string_view flag, std::string_view text) {
  std::vector<std::uint64_t> seeds;
  for (std::string_view item : split_list(text)) {
    const auto seed = static_cast<std::uint64_t>(parse_integer(flag, item, 0, std::int64_t{1} << 32));
    for (std::uint64_t earlier : seeds)
      if (earlier == seed) fail("{}: seed {} is given twice", flag, seed);
    seeds.push_back(seed);
  }
  return seeds;
}

std::vector<std::string> parse_runs(std::string_view text) {
  std::vector<std::string> wanted;
  for (std::string_view name : split_list(text)) wanted.emplace_back(name);
  std::vector<std::string> runs;
  for (const RunSpec& run : study_runs()) {
    for (const std::string& name : wanted)
      if (name == "all" || name == run.name) {
        runs.push_back(run.name);
        break;
      }
  }
  for (const std::string& name : wanted)
    if (name != "all") find_run(name);  // throws for an unknown name
  return runs;
}

}  // namespace

StudyArgs parse_study_args(int argc, const char* const* argv) {
  StudyArgs args;
  args.options.device = cuda_is_available() ? Device::cuda() : Device::cpu();
  args.runs = parse_runs("all");
  std::vector<std::string> implementation_texts;
  bool runs_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      args.help = true;
      continue;
    }
    if (arg == "--download") {
      args.download = true;
      continue;
    }
    if (arg == "--deterministic") {
      args.deterministic = true;
      continue;
    }
    if (arg == "--grid") {
      args.grid = true;
      continue;
    }
    if (arg == "--resume") {
      args.options.resume = true;
      continue;
    }
    if (arg == "--distributed") {
      args.distributed = true;
      continue;
    }
    // Every other flag takes a value: "--flag value" or "--flag=value".
    std::string_view flag = arg, value;
    if (std::size_t equals = arg.find('='); equals != std::string_view::npos && arg.starts_with("--")) {
      flag = arg.substr(0, equals);
      value = arg.substr(equals + 1);
    } else if (arg.starts_with("--") && i + 1 < argc) {
      value = argv[++i];
    } else if (arg.starts_with("--")) {
      fail("{}: missing value (see --help)", arg);
    } else {
      fail("unexpected argument '{}' (see --help)", arg);
    }
    if (flag == "--runs") {
      args.runs = parse_runs(value);
      runs_given = true;
    } else if (flag == "--epochs") {
      args.options.epochs = static_cast<int>(parse_integer(flag, value, 1, 100'000));
    } else if (flag == "--batch-size") {
      args.options.batch_size = parse_integer(flag, value, 1, 1'000'000'000);
    } else if (flag == "--lr") {
      args.options.lr = parse_positive(flag, value);
    } else if (flag == "--device") {
      args.options.device = parse_device(std::string(value));
    } else if (flag == "--threads") {
      args.threads = static_cast<int>(parse_integer(flag, value, 1, 1024));
    } else if (flag == "--seed") {
      args.seeds = {static_cast<std::uint64_t>(parse_integer(flag, value, 0, std::int64_t{1} << 32))};
    } else if (flag == "--seeds") {
      args.seeds = parse_seeds(flag, value);
    } else if (flag == "--compare-with") {
      args.compare_with = std::string(value);
    } else if (flag == "--grid-batches") {
      args.grid_batches.clear();
      for (std::string_view item : split_list(value))
        args.grid_batches.push_back(parse_integer(flag, item, 1, 1'000'000'000));
    } else if (flag == "--grid-lrs") {
      args.grid_lrs.clear();
      for (std::string_view item : split_list(value)) args.grid_lrs.push_back(parse_positive(flag, item));
    } else if (flag == "--data-dir") {
      args.data_dir = std::string(value);
    } else if (flag == "--output-dir") {
      if (value.empty()) fail("--output-dir: must not be empty");
      args.options.output_dir = std::string(value);
    } else if (flag == "--records-per-file") {
      args.records_per_file = parse_integer(flag, value, 1, 10'000);
    } else if (flag == "--on-divergence") {
      if (value == "stop")
        args.options.on_divergence = optim::DivergencePolicy::stop;
      else if (value == "skip")
        args.options.on_divergence = optim::DivergencePolicy::skip_bad_steps;
      else
        fail("--on-divergence: expected stop or skip, got '{}'", value);
    } else if (flag == "--graph") {
      if (value != "on" && value != "off") fail("--graph: expected on or off, got '{}'", value);
      args.graphs = value == "on";
    } else if (flag == "--implementation") {
      implementation_texts.emplace_back(value);
    } else {
      fail("unknown flag '{}' (see --help)", flag);
    }
  }
  if (args.grid) {
    if (args.runs.size() != 1 && !runs_given) args.runs = {"control"};
    if (args.runs.size() != 1) fail("--grid trains one run: --runs names {}, give one", args.runs.size());
    if (args.options.batch_size || args.options.lr) fail("--grid sets each cell's batch size and lr: no --batch-size or --lr");
    if (args.seeds.size() > 1) fail("--grid takes one seed");
  }
  // The op names now; the implementation names when main() chooses them for the device.
  for (const std::string& text : implementation_texts) {
    std::size_t equals = text.find('=');
    if (equals == std::string::npos) fail("--implementation: expected OP=NAME, got '{}'", text);
    ops::parse_op(text.substr(0, equals));
    args.implementations.push_back(text);
  }
  return args;
}

}  // namespace minidl::study
