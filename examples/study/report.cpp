#include "report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <system_error>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "minidl/core/atomic_file.h"
#include "minidl/core/error.h"
#include "minidl/core/regular_file.h"
#include "minidl/data/process.h"

namespace minidl::study {

namespace {

std::string study_accuracy_text(const RunSpec& spec) {
  return fmt::format("{}{:.2f} %", spec.study_accuracy_approximate ? "~" : "", spec.study_test_accuracy);
}

std::string lr_text(const RunSpec& spec) {
  return spec.lr_gamma == 1.0 ? fmt::format("{}", spec.lr) : fmt::format("{} x{}/epoch", spec.lr, spec.lr_gamma);
}

// The results of one run over the seeds, in the order they ran.
struct RunSeeds {
  const RunSpec* spec = nullptr;
  std::vector<const RunResult*> seeds;
};

// The runs by name, in the order each first ran.
std::vector<RunSeeds> by_run(const std::vector<RunResult>& runs) {
  std::vector<RunSeeds> groups;
  for (const RunResult& run : runs) {
    auto group = std::find_if(groups.begin(), groups.end(),
                              [&](const RunSeeds& g) { return g.spec->name == run.spec.name; });
    if (group == groups.end()) group = groups.insert(groups.end(), RunSeeds{&run.spec, {}});
    group->seeds.push_back(&run);
  }
  return groups;
}

const RunSeeds* find(const std::vector<RunSeeds>& groups, const std::string& name) {
  for (const RunSeeds& group : groups)
    if (group.spec->name == name) return &group;
  return nullptr;
}

// Mean and sample standard deviation (divided by n - 1; 0 for a single value).
struct Spread {
  double mean = 0.0, sd = 0.0;
};

template <typename Value>
Spread spread_of(const RunSeeds& group, Value value) {
  Spread result;
  const auto n = static_cast<double>(group.seeds.size());
  for (const RunResult* run : group.seeds) result.mean += value(*run) / n;
  if (group.seeds.size() > 1) {
    double squares = 0.0;
    for (const RunResult* run : group.seeds) squares += (value(*run) - result.mean) * (value(*run) - result.mean);
    result.sd = std::sqrt(squares / (n - 1.0));
  }
  return result;
}

double test_accuracy(const RunResult& run) { return run.test.accuracy(); }

// A run's test confusion matrix summed over its seeds ([true * 10 + predicted]).
std::vector<std::int64_t> confusion_of(const RunSeeds& group) {
  std::vector<std::int64_t> sum(data::kCifar10Classes * data::kCifar10Classes, 0);
  for (const RunResult* run : group.seeds)
    for (std::size_t i = 0; i < run->test_confusion.size() && i < sum.size(); ++i) sum[i] += run->test_confusion[i];
  return sum;
}

// Percent of class k's test images predicted as k (0 when there are none).
double class_accuracy(const std::vector<std::int64_t>& confusion, int k) {
  std::int64_t row = 0;
  for (int predicted = 0; predicted < data::kCifar10Classes; ++predicted) row += confusion[k * data::kCifar10Classes + predicted];
  return row > 0 ? 100.0 * static_cast<double>(confusion[k * data::kCifar10Classes + k]) / static_cast<double>(row) : 0.0;
}

std::string confusion_plot_name(const std::string& run) { return "confusion_" + run + ".png"; }

nlohmann::json pass_json(const PassResult& pass) {
  return {{"correct", pass.correct},       {"total", pass.total},     {"accuracy", pass.accuracy()},
          {"total_loss", pass.total_loss}, {"seconds", pass.seconds}};
}

// The comparisons the study draws: each method against the control, and
// preprocessing (large_batch: normalized and shuffled at batch 100) against none
// (no_preprocessing: the same batch and lr without either). With several seeds each is
// checked on the means: it holds when the difference of the means exceeds twice the
// larger standard deviation, is reversed when it is below minus that, and is not shown
// in between.
std::vector<std::string> comparisons(const std::vector<RunSeeds>& groups) {
  std::vector<std::string> lines;
  auto compare = [&](const char* better, const char* worse, const char* claim) {
    const RunSeeds* a = find(groups, better);
    const RunSeeds* b = find(groups, worse);
    if (a == nullptr || b == nullptr) return;
    const Spread sa = spread_of(*a, test_accuracy), sb = spread_of(*b, test_accuracy);
    const double difference = sa.mean - sb.mean;
    if (a->seeds.size() == 1 && b->seeds.size() == 1) {
      lines.push_back(fmt::format("- {}: {} {:.2f} % vs {} {:.2f} % ({:+.2f} points): {}", claim, better, sa.mean,
                                  worse, sb.mean, difference, difference > 0 ? "holds" : "does NOT hold in this run"));
      return;
    }
    const double threshold = 2.0 * std::max(sa.sd, sb.sd);
    const char* verdict = difference > threshold    ? "holds"
                          : difference < -threshold ? "does NOT hold: reversed beyond twice the larger sd"
                                                    : "not shown: within twice the larger sd";
    lines.push_back(fmt::format("- {}: {} {:.2f} ± {:.2f} % vs {} {:.2f} ± {:.2f} % ({:+.2f} points; twice the larger "
                                "sd: {:.2f}): {}",
                                claim, better, sa.mean, sa.sd, worse, sb.mean, sb.sd, difference, threshold, verdict));
  };
  compare("large_batch", "control", "a larger batch beats the control");
  compare("lr_decay", "control", "lr decay beats the control");
  compare("batch_norm", "control", "batch norm beats the control");
  compare("large_batch", "no_preprocessing", "preprocessing (Normalize + shuffle) helps at batch 100");
  return lines;
}

}  // namespace

void write_results_csv(const std::string& path, const std::vector<RunResult>& runs) {
  std::string csv = "run,seed,phase,epoch,lr,batch_size,correct,total,accuracy,total_loss,seconds\n";
  auto row = [&](const RunResult& run, const char* phase, std::string epoch, std::string lr, const PassResult& pass) {
    csv += fmt::format("{},{},{},{},{},{},{},{},{:.3f},{:.3f},{:.3f}\n", run.spec.name, run.seed, phase, epoch, lr,
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
                                 {"seeds", context.seeds},         {"epochs", context.epochs}};
  json["runs"] = nlohmann::ordered_json::array();
  for (const RunResult& run : runs) {
    nlohmann::ordered_json entry = {{"name", run.spec.name},
                                    {"seed", run.seed},
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
    if (!run.test_confusion.empty()) {
      nlohmann::ordered_json rows = nlohmann::ordered_json::array();
      for (int truth = 0; truth < data::kCifar10Classes; ++truth)
        rows.push_back(std::vector<std::int64_t>(run.test_confusion.begin() + truth * data::kCifar10Classes,
                                                 run.test_confusion.begin() + (truth + 1) * data::kCifar10Classes));
      entry["test_confusion"] = rows;  // rows: the true class; columns: the predicted one
    }
    if (run.test_batch_statistics) entry["test_batch_statistics"] = pass_json(*run.test_batch_statistics);
    json["runs"].push_back(entry);
  }
  write_file_atomically(path, json.dump(2) + "\n", "results");
}

Reference load_reference(const std::string& path) {
  const RegularFile file(path, "--compare-with");
  if (file.size() > (64u << 20)) fail("--compare-with: {}: {} bytes, more than a results.json can be", path, file.size());
  std::string text(file.size(), '\0');
  file.read_at(text.data(), text.size(), 0);
  Reference reference{.path = path, .implementations = "", .test_accuracy = {}};
  try {
    const nlohmann::json json = nlohmann::json::parse(text);
    reference.implementations = json.value("implementations", std::string("another implementation"));
    const nlohmann::json& runs = json.at("runs");
    if (!runs.is_array() || runs.empty()) fail("--compare-with: {}: \"runs\" is not a list of runs", path);
    for (const nlohmann::json& run : runs) {
      const std::string name = run.at("name").get<std::string>();
      if (std::none_of(study_runs().begin(), study_runs().end(), [&](const RunSpec& spec) { return spec.name == name; }))
        fail("--compare-with: {}: unknown run '{}'", path, name);
      const auto seed = run.at("seed").get<std::uint64_t>();
      const double accuracy = run.at("test").at("accuracy").get<double>();
      if (!(accuracy >= 0.0 && accuracy <= 100.0))
        fail("--compare-with: {}: run {} seed {}: test accuracy {} is not a percentage", path, name, seed, accuracy);
      if (!reference.test_accuracy[name].emplace(seed, accuracy).second)
        fail("--compare-with: {}: run {} seed {} appears twice", path, name, seed);
    }
  } catch (const nlohmann::json::exception& error) {
    fail("--compare-with: {}: not a results.json of the study: {}", path, error.what());
  }
  return reference;
}

void write_report(const std::string& path, const StudyContext& context, const std::vector<RunResult>& runs,
                  bool plots_drawn, const Reference* reference) {
  const std::vector<RunSeeds> groups = by_run(runs);
  const bool several = context.seeds.size() > 1;
  std::string md = "# CIFAR-10 study: network-optimization methods on a small CNN, reproduced with minidl\n\n";
  md += fmt::format(
      "Plain SGD (no momentum), {} epochs, {} {}. Machine: {}. Device: {}. Date: {}.\n\n"
      "Implementations: `{}`.\n\nData: {}.\n\n",
      context.epochs, several ? "seeds" : "seed", fmt::join(context.seeds, ", "), context.machine, context.device,
      context.date, context.implementations, context.data);
  if (several)
    md += fmt::format("Each run trained once per seed; a figure a ± b is the mean over the {} seeds ± their sample "
                      "standard deviation, and times are means.\n\n",
                      context.seeds.size());
  md += "| run | batch | lr | what differs | study's test accuracy | minidl test accuracy | last epoch's training "
        "accuracy | wall time | CPU time |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const RunSeeds& group : groups) {
    const RunSpec& spec = *group.spec;
    auto figure = [&](auto value) {
      const Spread s = spread_of(group, value);
      return group.seeds.size() > 1 ? fmt::format("{:.2f} ± {:.2f} %", s.mean, s.sd) : fmt::format("{:.2f} %", s.mean);
    };
    std::string test = figure(test_accuracy);
    if (group.seeds.size() > 1) {
      std::vector<std::string> each;
      for (const RunResult* run : group.seeds) each.push_back(fmt::format("{:.2f}", run->test.accuracy()));
      test += fmt::format(" (seeds: {})", fmt::join(each, ", "));
    }
    if (group.seeds.front()->test_batch_statistics)
      test += " (eval mode); " +
              figure([](const RunResult& run) { return run.test_batch_statistics->accuracy(); }) +
              " with batch statistics";
    const std::string train = figure([](const RunResult& run) {
      return run.epochs.empty() ? 0.0 : run.epochs.back().train.accuracy();
    });
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {:.0f} s | {:.0f} s |\n", spec.name, spec.batch_size,
                      lr_text(spec), spec.description, study_accuracy_text(spec), test, train,
                      spread_of(group, [](const RunResult& run) { return run.seconds; }).mean,
                      spread_of(group, [](const RunResult& run) { return run.cpu_seconds; }).mean);
  }
  if (reference) {
    md += fmt::format("\n## Beside {} ({})\n\n| run | minidl test accuracy | its test accuracy | minidl − it |\n"
                      "|---|---|---|---|\n",
                      reference->implementations, reference->path);
    for (const RunSeeds& group : groups) {
      const Spread mine = spread_of(group, test_accuracy);
      const auto theirs_found = reference->test_accuracy.find(group.spec->name);
      if (theirs_found == reference->test_accuracy.end()) {
        md += fmt::format("| {} | {:.2f} % | - | - |\n", group.spec->name, mine.mean);
        continue;
      }
      std::vector<std::string> each;
      double mean = 0.0, squares = 0.0;
      for (const auto& [seed, accuracy] : theirs_found->second) {
        each.push_back(fmt::format("seed {}: {:.2f}", seed, accuracy));
        mean += accuracy / static_cast<double>(theirs_found->second.size());
      }
      for (const auto& [seed, accuracy] : theirs_found->second) squares += (accuracy - mean) * (accuracy - mean);
      const std::size_t n = theirs_found->second.size();
      const std::string theirs = n > 1 ? fmt::format("{:.2f} ± {:.2f} % ({})", mean, std::sqrt(squares / double(n - 1)),
                                                     fmt::join(each, ", "))
                                       : fmt::format("{:.2f} % ({})", mean, each.front());
      const std::string mine_text = group.seeds.size() > 1 ? fmt::format("{:.2f} ± {:.2f} %", mine.mean, mine.sd)
                                                           : fmt::format("{:.2f} %", mine.mean);
      md += fmt::format("| {} | {} | {} | {:+.2f} points |\n", group.spec->name, mine_text, theirs, mine.mean - mean);
    }
  }
  std::vector<std::string> claims = comparisons(groups);
  if (!claims.empty()) {
    md += several ? fmt::format("\n## The study's claims, checked on the means of {} seeds (a claim holds when the "
                                "difference of the means exceeds twice the larger standard deviation)\n\n",
                                context.seeds.size())
                  : "\n## The study's claims, checked (one seed: differences of about a point are within noise)\n\n";
    for (const std::string& line : claims) md += line + "\n";
  }
  std::vector<std::vector<std::int64_t>> confusions;
  for (const RunSeeds& group : groups) confusions.push_back(confusion_of(group));
  md += fmt::format("\n## Per class: test accuracy (eval mode{})\n\n| class |", several ? ", all seeds together" : "");
  for (const RunSeeds& group : groups) md += " " + group.spec->name + " |";
  md += "\n|---|";
  for (std::size_t i = 0; i < groups.size(); ++i) md += "---|";
  md += "\n";
  for (int k = 0; k < data::kCifar10Classes; ++k) {
    md += fmt::format("| {} |", data::kCifar10ClassNames[k]);
    for (const std::vector<std::int64_t>& confusion : confusions) md += fmt::format(" {:.1f} % |", class_accuracy(confusion, k));
    md += "\n";
  }
  if (plots_drawn) {
    md += "\n## Plots\n\n![Training accuracy per epoch](training_accuracy.png)\n\n"
          "![Training loss per epoch](training_loss.png)\n\n![Test accuracy per run](test_accuracy.png)\n\n"
          "![Test accuracy per class](per_class_accuracy.png)\n";
    if (several) md += "\nCurves are the means over the seeds, the bands ± one standard deviation; bars likewise.\n";
    md += "\nConfusion matrices (rows: the true class, columns: the predicted one):\n\n";
    for (const RunSeeds& group : groups)
      md += fmt::format("![{} confusion matrix]({})\n", group.spec->name, confusion_plot_name(group.spec->name));
  }
  md += "\n## Per epoch, as the study printed it\n";
  for (const RunResult& run : runs) {
    md += several ? fmt::format("\n### {}, seed {}\n\n```\n", run.spec.name, run.seed)
                  : fmt::format("\n### {}\n\n```\n", run.spec.name);
    for (const EpochResult& epoch : run.epochs) md += epoch_line(epoch) + "\n";
    md += test_line(run.test) + "\n";
    if (run.test_batch_statistics) md += test_line(*run.test_batch_statistics) + " (batch statistics)\n";
    md += "```\n";
  }
  write_file_atomically(path, md, "report");
}

namespace {

// The plots, each rendered to a temporary name first ("<plot>.tmp-<pid>-plot"): the
// three over all runs, per-class accuracy, then each run's confusion matrix.
std::vector<std::string> plot_names(const std::vector<RunSeeds>& groups) {
  std::vector<std::string> names = {"training_accuracy.png", "training_loss.png", "test_accuracy.png",
                                    "per_class_accuracy.png"};
  for (const RunSeeds& group : groups) names.push_back(confusion_plot_name(group.spec->name));
  return names;
}

std::string temporary_plot_name(const std::string& plot) { return fmt::format("{}.tmp-{}-plot", plot, ::getpid()); }

// gnuplot's script. It holds no text a user chose: gnuplot runs in the output
// directory and every file is named relative to it (a directory name pasted into the
// script could end its quotes and run a command through gnuplot's system()). Run
// names come from the study's own table.
std::string plot_script(const std::vector<RunSeeds>& groups) {
  const std::vector<std::string> plots = plot_names(groups);
  std::string script = "set terminal pngcairo size 900,560 font ',11' noenhanced\nset datafile separator whitespace\n"
                       "set grid\nset key outside right\nset xlabel 'epoch'\nset style fill transparent solid 0.2 "
                       "noborder\n";
  // Each run's mean as a line, and a band of ± one standard deviation around it (no
  // width with one seed). low and high are gnuplot expressions of the columns.
  auto curves = [&](int mean, const std::string& low, const std::string& high) {
    std::string plot = "plot ";
    for (std::size_t i = 0; i < groups.size(); ++i)
      plot += fmt::format("{}'plots.dat' index {} using 1:({}):({}) with filledcurves lc {} notitle, "
                          "'' index {} using 1:{} with linespoints lc {} title '{}'",
                          i ? ", " : "", i, low, high, i + 1, i, mean, i + 1, groups[i].spec->name);
    return plot + "\n";
  };
  script += fmt::format("set output '{}'\n", temporary_plot_name(plots[0])) +
            "set ylabel 'training accuracy (%)'\nset title 'Training accuracy per epoch'\n" +
            curves(2, "$2-$3", "$2+$3");
  // On the log scale the band's lower edge stays above 0.
  script += fmt::format("set output '{}'\n", temporary_plot_name(plots[1])) +
            "set ylabel 'total loss (sum of batch means)'\nset logscale y\nset title 'Training loss per epoch'\n" +
            curves(4, "$4-$5 > $4/100 ? $4-$5 : $4/100", "$4+$5") + "unset logscale y\n";
  script += fmt::format("set output '{}'\n", temporary_plot_name(plots[2]));
  script += fmt::format(
      "set title 'Test accuracy per run'\nset ylabel 'test accuracy (%)'\n"
      "unset xlabel\nset yrange [0:100]\nset style data histograms\nset style histogram errorbars gap 1 lw 1\n"
      "set style fill solid 0.8 border -1\nset xtics rotate by -20\n"
      "plot 'plots.dat' index {} using 2:3:xtic(1) title 'minidl (mean, ± sd)', '' index {} using 4:(0) title "
      "\"study (reported)\"\n",
      groups.size(), groups.size());
  // Per-class accuracy: one bar per run in each class (the block after the confusion matrices).
  const std::size_t per_class_block = 2 * groups.size() + 1;
  script += fmt::format("set output '{}'\nset title 'Test accuracy per class (eval mode)'\n"
                        "set style histogram clustered gap 1\nset xtics rotate by -30\nplot ",
                        temporary_plot_name(plots[3]));
  for (std::size_t i = 0; i < groups.size(); ++i)
    script += fmt::format("{}'plots.dat' index {} using {}{} title '{}'", i ? ", " : "", per_class_block, i + 2,
                          i == 0 ? ":xtic(1)" : "", groups[i].spec->name);
  script += "\n";
  // Each run's confusion matrix: rows the true class, columns the predicted one, each
  // cell its count (summed over the seeds).
  script += "set xrange [-0.5:9.5]\nset yrange [9.5:-0.5]\nset size ratio -1\nunset grid\nset key off\n"
            "set palette defined (0 '#ffffff', 1 '#2a5caa')\nset cbrange [0:*]\nset xlabel 'predicted class'\n"
            "set ylabel 'true class'\nset xtics rotate by -45 (";
  for (int k = 0; k < data::kCifar10Classes; ++k)
    script += fmt::format("{}'{}' {}", k ? ", " : "", data::kCifar10ClassNames[k], k);
  script += ")\nset ytics (";
  for (int k = 0; k < data::kCifar10Classes; ++k)
    script += fmt::format("{}'{}' {}", k ? ", " : "", data::kCifar10ClassNames[k], k);
  script += ")\n";
  for (std::size_t i = 0; i < groups.size(); ++i)
    script += fmt::format("set output '{}'\nset title '{}: confusion matrix on the test set (eval mode)'\n"
                          "plot 'plots.dat' index {} using 1:2:3 with image, '' index {} using 1:2:(sprintf('%d', $3)) "
                          "with labels font ',8'\n",
                          temporary_plot_name(plots[4 + i]), groups[i].spec->name, groups.size() + 1 + i,
                          groups.size() + 1 + i);
  script += "set output\n";
  return script;
}

// Runs gnuplot in dir on script (a file there), which draws each of plots to its
// temporary name; then renames them all into place. Every plot is replaced only when
// gnuplot drew them all; when it did not, the plots of an earlier study are removed too
// (they would sit beside results that describe this one), and so are the temporary
// files. Returns "" or why not.
std::string render_plots(const std::string& dir, const std::string& script, const std::vector<std::string>& plots) {
  namespace fs = std::filesystem;
  std::string problem;
  try {
    data::ProcessResult result = data::run_process({"gnuplot", script}, {}, dir);
    if (result.exit_status != 0)
      problem = fmt::format("gnuplot failed with status {}: {}", result.exit_status, result.output);
  } catch (const Error& error) {
    problem = fmt::format("{} (install gnuplot: scripts/setup does)", error.what());
  }
  for (const std::string& plot : plots) {
    std::error_code error;
    const std::uintmax_t bytes = fs::file_size(fs::path(dir) / temporary_plot_name(plot), error);
    if (problem.empty() && (error || bytes == 0))
      problem = fmt::format("gnuplot drew nothing for {}", (fs::path(dir) / plot).string());
  }
  for (const std::string& plot : plots) {
    if (!problem.empty()) break;
    std::error_code error;
    fs::rename(fs::path(dir) / temporary_plot_name(plot), fs::path(dir) / plot, error);
    if (error) problem = fmt::format("cannot rename {} into place: {}", (fs::path(dir) / plot).string(), error.message());
  }
  if (!problem.empty()) {
    for (const std::string& plot : plots) {
      std::error_code ignored;
      fs::remove(fs::path(dir) / temporary_plot_name(plot), ignored);
      fs::remove(fs::path(dir) / plot, ignored);
    }
  }
  return problem;
}

}  // namespace

std::string draw_plots(const std::string& dir, const std::vector<RunResult>& runs) {
  namespace fs = std::filesystem;
  // plots.dat: one block per run (epoch, then the mean and standard deviation over the
  // seeds of training accuracy and of training loss), blocks separated by two blank
  // lines for gnuplot's `index`; then a block of test accuracies (run, mean, sd, study's).
  const std::vector<RunSeeds> groups = by_run(runs);
  std::string data;
  for (const RunSeeds& group : groups) {
    data += fmt::format("# {}: epoch, training accuracy mean and sd, training loss mean and sd\n", group.spec->name);
    const std::size_t epochs = group.seeds.front()->epochs.size();
    for (std::size_t e = 0; e < epochs; ++e) {
      const Spread accuracy = spread_of(group, [e](const RunResult& run) { return run.epochs.at(e).train.accuracy(); });
      const Spread loss = spread_of(group, [e](const RunResult& run) { return run.epochs.at(e).train.total_loss; });
      data += fmt::format("{} {:.4f} {:.4f} {:.4f} {:.4f}\n", group.seeds.front()->epochs[e].epoch, accuracy.mean,
                          accuracy.sd, loss.mean, loss.sd);
    }
    data += "\n\n";
  }
  data += "# run, minidl test accuracy mean and sd, study\n";
  for (const RunSeeds& group : groups) {
    const Spread accuracy = spread_of(group, test_accuracy);
    data += fmt::format("{} {:.4f} {:.4f} {:.4f}\n", group.spec->name, accuracy.mean, accuracy.sd,
                        group.spec->study_test_accuracy);
  }
  // Each run's confusion matrix (predicted, true, count), summed over the seeds; then
  // per-class accuracy (class, then one column per run).
  std::vector<std::vector<std::int64_t>> confusions;
  for (const RunSeeds& group : groups) {
    data += fmt::format("\n\n# {}: predicted class, true class, count\n", group.spec->name);
    const std::vector<std::int64_t>& counts = confusions.emplace_back(confusion_of(group));
    for (int truth = 0; truth < data::kCifar10Classes; ++truth)
      for (int predicted = 0; predicted < data::kCifar10Classes; ++predicted)
        data += fmt::format("{} {} {}\n", predicted, truth, counts[truth * data::kCifar10Classes + predicted]);
  }
  data += "\n\n# class, then each run's test accuracy on it\n";
  for (int k = 0; k < data::kCifar10Classes; ++k) {
    data += data::kCifar10ClassNames[k];
    for (const std::vector<std::int64_t>& confusion : confusions) data += fmt::format(" {:.4f}", class_accuracy(confusion, k));
    data += "\n";
  }
  write_file_atomically((fs::path(dir) / "plots.dat").string(), data, "plots");
  write_file_atomically((fs::path(dir) / "plots.gp").string(), plot_script(groups), "plots");

  return render_plots(dir, "plots.gp", plot_names(groups));
}

// ---- --grid ---------------------------------------------------------------------

namespace {

// "0.1" for 0.1, as the flag was given and as file names carry it.
std::string lr_label(double lr) { return fmt::format("{}", lr); }

const GridCell* find_cell(const std::vector<GridCell>& cells, std::int64_t batch_size, double lr) {
  for (const GridCell& cell : cells)
    if (cell.batch_size == batch_size && cell.lr == lr) return &cell;
  return nullptr;
}

// The lr with the best test accuracy at this batch size (of the cells that did not
// diverge), or none.
std::optional<double> best_lr(const std::vector<GridCell>& cells, std::int64_t batch_size) {
  std::optional<double> best;
  double best_accuracy = -1.0;
  for (const GridCell& cell : cells)
    if (cell.batch_size == batch_size && cell.result && cell.result->test.accuracy() > best_accuracy) {
      best_accuracy = cell.result->test.accuracy();
      best = cell.lr;
    }
  return best;
}

}  // namespace

void write_grid_results(const std::string& dir, const StudyContext& context, const RunSpec& spec,
                        const std::vector<GridCell>& cells) {
  std::string csv = "run,batch_size,lr,test_correct,test_total,test_accuracy,last_train_accuracy,diverged\n";
  nlohmann::ordered_json json = {{"machine", context.machine}, {"device", context.device},
                                 {"implementations", context.implementations},
                                 {"data", context.data},       {"date", context.date},
                                 {"seeds", context.seeds},     {"epochs", context.epochs},
                                 {"run", spec.name}};
  json["cells"] = nlohmann::ordered_json::array();
  for (const GridCell& cell : cells) {
    nlohmann::ordered_json entry = {{"batch_size", cell.batch_size}, {"lr", cell.lr}};
    if (cell.result) {
      const double train = cell.result->epochs.empty() ? 0.0 : cell.result->epochs.back().train.accuracy();
      csv += fmt::format("{},{},{},{},{},{:.3f},{:.3f},\n", spec.name, cell.batch_size, lr_label(cell.lr),
                         cell.result->test.correct, cell.result->test.total, cell.result->test.accuracy(), train);
      entry["test"] = pass_json(cell.result->test);
      entry["last_train_accuracy"] = train;
      entry["seconds"] = cell.result->seconds;
    } else {
      csv += fmt::format("{},{},{},,,,,yes\n", spec.name, cell.batch_size, lr_label(cell.lr));
      entry["diverged"] = cell.diverged;
    }
    json["cells"].push_back(entry);
  }
  write_file_atomically(dir + "/grid.csv", csv, "grid");
  write_file_atomically(dir + "/grid.json", json.dump(2) + "\n", "grid");
}

std::string draw_grid(const std::string& dir, const std::vector<GridCell>& cells,
                      const std::vector<std::int64_t>& batch_sizes, const std::vector<double>& lrs) {
  namespace fs = std::filesystem;
  // grid.dat: lr index, batch index, test accuracy (NaN: diverged, no colour), its label.
  std::string data = "# lr index, batch index, test accuracy, label\n";
  for (std::size_t b = 0; b < batch_sizes.size(); ++b) {
    for (std::size_t l = 0; l < lrs.size(); ++l) {
      const GridCell* cell = find_cell(cells, batch_sizes[b], lrs[l]);
      if (cell && cell->result)
        data += fmt::format("{} {} {:.2f} {:.1f}\n", l, b, cell->result->test.accuracy(), cell->result->test.accuracy());
      else
        data += fmt::format("{} {} NaN {}\n", l, b, cell ? "diverged" : "-");
    }
    data += "\n";
  }
  write_file_atomically((fs::path(dir) / "grid.dat").string(), data, "grid");
  const std::string plot = "grid.png";
  std::string script = fmt::format(
      "set terminal pngcairo size 760,560 font ',11' noenhanced\nset output '{}'\n"
      "set title 'Test accuracy (%) by batch size and learning rate'\nset xlabel 'learning rate'\n"
      "set ylabel 'batch size'\nset xrange [-0.5:{}]\nset yrange [-0.5:{}]\nset cbrange [0:100]\n"
      "set palette defined (0 '#f7f7f7', 1 '#2a5caa')\nset datafile missing 'NaN'\nset key off\nset xtics (",
      temporary_plot_name(plot), lrs.size() - 0.5, batch_sizes.size() - 0.5);
  for (std::size_t l = 0; l < lrs.size(); ++l) script += fmt::format("{}'{}' {}", l ? ", " : "", lr_label(lrs[l]), l);
  script += ")\nset ytics (";
  for (std::size_t b = 0; b < batch_sizes.size(); ++b) script += fmt::format("{}'{}' {}", b ? ", " : "", batch_sizes[b], b);
  script += ")\nplot 'grid.dat' using 1:2:3 with image, '' using 1:2:4 with labels\nset output\n";
  write_file_atomically((fs::path(dir) / "grid.gp").string(), script, "grid");
  return render_plots(dir, "grid.gp", {plot});
}

void write_grid_report(const std::string& path, const StudyContext& context, const RunSpec& spec,
                       const std::vector<GridCell>& cells, const std::vector<std::int64_t>& batch_sizes,
                       const std::vector<double>& lrs, bool plot_drawn) {
  std::string md = fmt::format(
      "# CIFAR-10 study: the {} run over batch sizes and learning rates\n\n"
      "Plain SGD (no momentum), {} epochs per cell, seed {}. Machine: {}. Device: {}. Date: {}.\n\n"
      "Implementations: `{}`.\n\nData: {}.\n\nTest accuracy of each cell (eval mode); a cell that diverged "
      "(a NaN or Inf in the loss or a gradient) is marked, not dropped.\n\n| batch \\ lr |",
      spec.name, context.epochs, fmt::join(context.seeds, ", "), context.machine, context.device, context.date,
      context.implementations, context.data);
  for (double lr : lrs) md += " " + lr_label(lr) + " |";
  md += "\n|---|";
  for (std::size_t l = 0; l < lrs.size(); ++l) md += "---|";
  md += "\n";
  for (std::int64_t batch_size : batch_sizes) {
    md += fmt::format("| {} |", batch_size);
    for (double lr : lrs) {
      const GridCell* cell = find_cell(cells, batch_size, lr);
      md += !cell ? " - |" : cell->result ? fmt::format(" {:.2f} % |", cell->result->test.accuracy()) : " diverged |";
    }
    md += "\n";
  }
  // The study's remark: a larger batch tolerates (and wants) a larger learning rate.
  md += "\n## The study's remark, checked: a larger batch tolerates a larger learning rate\n\n";
  std::vector<std::optional<double>> best;
  for (std::int64_t batch_size : batch_sizes) {
    best.push_back(best_lr(cells, batch_size));
    double largest_stable = 0.0;
    for (const GridCell& cell : cells)
      if (cell.batch_size == batch_size && cell.result) largest_stable = std::max(largest_stable, cell.lr);
    md += fmt::format("- batch {}: best lr {}, largest lr that did not diverge {}\n", batch_size,
                      best.back() ? lr_label(*best.back()) : "none", largest_stable > 0 ? lr_label(largest_stable) : "none");
  }
  bool never_decreases = true;
  std::optional<double> previous;
  for (const std::optional<double>& lr : best) {
    if (lr && previous && *lr < *previous) never_decreases = false;
    if (lr) previous = lr;
  }
  const std::optional<double> first = best.empty() ? std::nullopt : best.front();
  const std::optional<double> last = best.empty() ? std::nullopt : best.back();
  const char* verdict = !first || !last || best.size() < 2 ? "not shown: too few cells"
                        : never_decreases && *last > *first ? "holds: the best lr never falls as the batch grows, and "
                                                              "rises from the smallest batch to the largest"
                        : *last < *first                    ? "does NOT hold: the largest batch's best lr is smaller"
                                                            : "not shown: the best lr does not rise steadily with the batch";
  md += fmt::format("\nVerdict: {}.\n", verdict);
  if (plot_drawn) md += "\n![Test accuracy by batch size and learning rate](grid.png)\n";
  write_file_atomically(path, md, "grid");
}

}  // namespace minidl::study
