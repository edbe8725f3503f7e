#include "report.h"

#include <filesystem>
#include <system_error>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "minidl/core/atomic_file.h"
#include "minidl/core/error.h"
#include "minidl/data/process.h"

namespace minidl::study {

namespace {

std::string study_accuracy_text(const RunSpec& spec) {
  return fmt::format("{}{:.2f} %", spec.study_accuracy_approximate ? "~" : "", spec.study_test_accuracy);
}

std::string lr_text(const RunSpec& spec) {
  return spec.lr_gamma == 1.0 ? fmt::format("{}", spec.lr) : fmt::format("{} x{}/epoch", spec.lr, spec.lr_gamma);
}

const RunResult* find(const std::vector<RunResult>& runs, const std::string& name) {
  for (const RunResult& run : runs)
    if (run.spec.name == name) return &run;
  return nullptr;
}

nlohmann::json pass_json(const PassResult& pass) {
  return {{"correct", pass.correct},       {"total", pass.total},     {"accuracy", pass.accuracy()},
          {"total_loss", pass.total_loss}, {"seconds", pass.seconds}};
}

// The comparisons the study draws: each method against the control, and
// preprocessing (large_batch: normalized and shuffled at batch 100) against none
// (no_preprocessing: the same batch and lr without either).
std::vector<std::string> comparisons(const std::vector<RunResult>& runs) {
  std::vector<std::string> lines;
  auto compare = [&](const char* better, const char* worse, const char* claim) {
    const RunResult* a = find(runs, better);
    const RunResult* b = find(runs, worse);
    if (a == nullptr || b == nullptr) return;
    const double difference = a->test.accuracy() - b->test.accuracy();
    lines.push_back(fmt::format("- {}: {} {:.2f} % vs {} {:.2f} % ({:+.2f} points): {}", claim, better,
                                a->test.accuracy(), worse, b->test.accuracy(), difference,
                                difference > 0 ? "holds" : "does NOT hold in this run"));
  };
  compare("large_batch", "control", "a larger batch beats the control");
  compare("lr_decay", "control", "lr decay beats the control");
  compare("batch_norm", "control", "batch norm beats the control");
  compare("large_batch", "no_preprocessing", "preprocessing (Normalize + shuffle) helps at batch 100");
  return lines;
}

}  // namespace

void write_results_csv(const std::string& path, const std::vector<RunResult>& runs) {
  std::string csv = "run,phase,epoch,lr,batch_size,correct,total,accuracy,total_loss,seconds\n";
  auto row = [&](const RunResult& run, const char* phase, std::string epoch, std::string lr, const PassResult& pass) {
    csv += fmt::format("{},{},{},{},{},{},{},{:.3f},{:.3f},{:.3f}\n", run.spec.name, phase, epoch, lr,
                       run.spec.batch_size, pass.correct, pass.total, pass.accuracy(), pass.total_loss, pass.seconds);
  };
  for (const RunResult& run : runs) {
    for (const EpochResult& epoch : run.epochs)
      row(run, "train", std::to_string(epoch.epoch), fmt::format("{}", epoch.lr), epoch.train);
    row(run, "test", "", "", run.test);
    if (run.test_batch_statistics) row(run, "test_batch_statistics", "", "", *run.test_batch_statistics);
  }
  write_file_atomically(path, csv, "results");
}

void write_results_json(const std::string& path, const StudyContext& context, const std::vector<RunResult>& runs) {
  nlohmann::ordered_json json = {{"machine", context.machine},     {"device", context.device},
                                 {"implementations", context.implementations},
                                 {"data", context.data},           {"date", context.date},
                                 {"seed", context.seed},           {"epochs", context.epochs}};
  json["runs"] = nlohmann::ordered_json::array();
  for (const RunResult& run : runs) {
    nlohmann::ordered_json entry = {{"name", run.spec.name},
                                    {"batch_size", run.spec.batch_size},
                                    {"lr", run.spec.lr},
                                    {"lr_gamma", run.spec.lr_gamma},
                                    {"batch_norm", run.spec.batch_norm},
                                    {"normalize", run.spec.normalize},
                                    {"shuffle", run.spec.shuffle},
                                    {"study_test_accuracy", run.spec.study_test_accuracy},
                                    {"seconds", run.seconds},
                                    {"cpu_seconds", run.cpu_seconds},
                                    {"model", run.model_path}};
    entry["epochs"] = nlohmann::ordered_json::array();
    for (const EpochResult& epoch : run.epochs) {
      nlohmann::ordered_json e = {{"epoch", epoch.epoch}, {"lr", epoch.lr}};
      e.update(pass_json(epoch.train));
      entry["epochs"].push_back(e);
    }
    entry["test"] = pass_json(run.test);
    if (run.test_batch_statistics) entry["test_batch_statistics"] = pass_json(*run.test_batch_statistics);
    json["runs"].push_back(entry);
  }
  write_file_atomically(path, json.dump(2) + "\n", "results");
}

void write_report(const std::string& path, const StudyContext& context, const std::vector<RunResult>& runs,
                  bool plots_drawn) {
  std::string md = "# CIFAR-10 study: network-optimization methods on a small CNN, reproduced with minidl\n\n";
  md += fmt::format(
      "Plain SGD (no momentum), {} epochs, seed {}. Machine: {}. Device: {}. Date: {}.\n\n"
      "Implementations: `{}`.\n\nData: {}.\n\n",
      context.epochs, context.seed, context.machine, context.device, context.date, context.implementations,
      context.data);
  md += "| run | batch | lr | what differs | study's test accuracy | minidl test accuracy | last epoch's training "
        "accuracy | wall time | CPU time |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const RunResult& run : runs) {
    std::string test = fmt::format("{:.2f} %", run.test.accuracy());
    if (run.test_batch_statistics)
      test += fmt::format(" (eval mode); {:.2f} % with batch statistics", run.test_batch_statistics->accuracy());
    const double train_accuracy = run.epochs.empty() ? 0.0 : run.epochs.back().train.accuracy();
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {:.2f} % | {:.0f} s | {:.0f} s |\n", run.spec.name,
                      run.spec.batch_size, lr_text(run.spec), run.spec.description, study_accuracy_text(run.spec), test,
                      train_accuracy, run.seconds, run.cpu_seconds);
  }
  std::vector<std::string> claims = comparisons(runs);
  if (!claims.empty()) {
    md += "\n## The study's claims, checked (one seed: differences of about a point are within noise)\n\n";
    for (const std::string& line : claims) md += line + "\n";
  }
  if (plots_drawn) {
    md += "\n## Plots\n\n![Training accuracy per epoch](training_accuracy.png)\n\n"
          "![Training loss per epoch](training_loss.png)\n\n![Test accuracy per run](test_accuracy.png)\n";
  }
  md += "\n## Per epoch, as the study printed it\n";
  for (const RunResult& run : runs) {
    md += fmt::format("\n### {}\n\n```\n", run.spec.name);
    for (const EpochResult& epoch : run.epochs) md += epoch_line(epoch) + "\n";
    md += test_line(run.test) + "\n";
    if (run.test_batch_statistics) md += test_line(*run.test_batch_statistics) + " (batch statistics)\n";
    md += "```\n";
  }
  write_file_atomically(path, md, "report");
}

namespace {

// The plots, each rendered to a temporary name first ("<plot>.tmp-<pid>-plot").
constexpr const char* kPlots[] = {"training_accuracy.png", "training_loss.png", "test_accuracy.png"};

std::string temporary_plot_name(const char* plot) { return fmt::format("{}.tmp-{}-plot", plot, ::getpid()); }

// gnuplot's script. It holds no text a user chose: gnuplot runs in the output
// directory and every file is named relative to it (a directory name pasted into the
// script could end its quotes and run a command through gnuplot's system()). Run
// names come from the study's own table.
std::string plot_script(const std::vector<RunResult>& runs) {
  std::string script = "set terminal pngcairo size 900,560 font ',11' noenhanced\nset datafile separator whitespace\n"
                       "set grid\nset key outside right\nset xlabel 'epoch'\n";
  auto lines = [&](int column) {
    std::string plot = "plot ";
    for (std::size_t i = 0; i < runs.size(); ++i)
      plot += fmt::format("{}'plots.dat' index {} using 1:{} with linespoints title '{}'", i ? ", " : "", i, column,
                          runs[i].spec.name);
    return plot + "\n";
  };
  script += fmt::format("set output '{}'\n", temporary_plot_name(kPlots[0])) +
            "set ylabel 'training accuracy (%)'\nset title 'Training accuracy per epoch'\n" + lines(2);
  script += fmt::format("set output '{}'\n", temporary_plot_name(kPlots[1])) +
            "set ylabel 'total loss (sum of batch means)'\nset logscale y\nset title 'Training loss per epoch'\n" +
            lines(3) + "unset logscale y\n";
  script += fmt::format("set output '{}'\n", temporary_plot_name(kPlots[2]));
  script += fmt::format(
      "set title 'Test accuracy per run'\nset ylabel 'test accuracy (%)'\n"
      "unset xlabel\nset yrange [0:100]\nset style data histograms\nset style histogram clustered gap 1\n"
      "set style fill solid 0.8 border -1\nset xtics rotate by -20\n"
      "plot 'plots.dat' index {} using 2:xtic(1) title 'minidl', '' index {} using 3 title \"study (reported)\"\n"
      "set output\n",
      runs.size(), runs.size());
  return script;
}

}  // namespace

std::string draw_plots(const std::string& dir, const std::vector<RunResult>& runs) {
  namespace fs = std::filesystem;
  // plots.dat: one block per run (epoch, training accuracy, training loss), blocks
  // separated by two blank lines for gnuplot's `index`; then a block of test accuracies.
  std::string data;
  for (const RunResult& run : runs) {
    data += fmt::format("# {}\n", run.spec.name);
    for (const EpochResult& epoch : run.epochs)
      data += fmt::format("{} {:.4f} {:.4f}\n", epoch.epoch, epoch.train.accuracy(), epoch.train.total_loss);
    data += "\n\n";
  }
  data += "# run minidl study\n";
  for (const RunResult& run : runs)
    data += fmt::format("{} {:.4f} {:.4f}\n", run.spec.name, run.test.accuracy(), run.spec.study_test_accuracy);
  write_file_atomically((fs::path(dir) / "plots.dat").string(), data, "plots");
  write_file_atomically((fs::path(dir) / "plots.gp").string(), plot_script(runs), "plots");

  // Every plot is replaced only when gnuplot drew them all; when it did not, the
  // plots of an earlier study are removed too (they would sit beside results that
  // describe this one), and so are the temporary files.
  std::string problem;
  try {
    data::ProcessResult result = data::run_process({"gnuplot", "plots.gp"}, {}, dir);
    if (result.exit_status != 0)
      problem = fmt::format("gnuplot failed with status {}: {}", result.exit_status, result.output);
  } catch (const Error& error) {
    problem = fmt::format("{} (install gnuplot: scripts/setup does)", error.what());
  }
  for (const char* plot : kPlots) {
    std::error_code error;
    const std::uintmax_t bytes = fs::file_size(fs::path(dir) / temporary_plot_name(plot), error);
    if (problem.empty() && (error || bytes == 0))
      problem = fmt::format("gnuplot drew nothing for {}", (fs::path(dir) / plot).string());
  }
  for (const char* plot : kPlots) {
    if (!problem.empty()) break;
    std::error_code error;
    fs::rename(fs::path(dir) / temporary_plot_name(plot), fs::path(dir) / plot, error);
    if (error) problem = fmt::format("cannot rename {} into place: {}", (fs::path(dir) / plot).string(), error.message());
  }
  if (!problem.empty()) {
    for (const char* plot : kPlots) {
      std::error_code ignored;
      fs::remove(fs::path(dir) / temporary_plot_name(plot), ignored);
      fs::remove(fs::path(dir) / plot, ignored);
    }
  }
  return problem;
}

}  // namespace minidl::study
