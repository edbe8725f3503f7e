#include "checkpoint.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "minidl/core/error.h"
#include "minidl/core/safetensors.h"
#include "minidl/layers/module.h"

namespace minidl::study {

namespace {

constexpr const char* kFormat = "minidl study checkpoint 1";
constexpr const char* kModelPrefix = "model.";
constexpr const char* kBufferPrefix = "optimizer.momentum_buffer.";

// A double as a hexadecimal float: exact, and strtod reads it back.
std::string exact(double value) { return fmt::format("{:a}", value); }

// Typed reads of the metadata, each naming the file and the key when it fails.
class MetadataReader {
 public:
  MetadataReader(const std::string& path, const std::map<std::string, std::string>& metadata)
      : path_(path), metadata_(metadata) {}

  bool has(const std::string& key) const { return metadata_.contains(key); }

  const std::string& text(const std::string& key) const {
    auto found = metadata_.find(key);
    if (found == metadata_.end()) fail("checkpoint {}: metadata \"{}\" is missing", path_, key);
    return found->second;
  }

  // Int: std::int64_t or std::uint64_t.
  template <typename Int = std::int64_t>
  Int integer(const std::string& key) const {
    const std::string& value = text(key);
    Int result = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), result);
    if (error != std::errc() || end != value.data() + value.size())
      fail("checkpoint {}: metadata \"{}\" is not a whole number: '{}'", path_, key, value);
    return result;
  }

  double real(const std::string& key) const {
    const std::string& value = text(key);
    char* end = nullptr;
    double result = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size())
      fail("checkpoint {}: metadata \"{}\" is not a number: '{}'", path_, key, value);
    return result;
  }

 private:
  const std::string& path_;
  const std::map<std::string, std::string>& metadata_;
};

nlohmann::json history_json(const std::vector<EpochResult>& history) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const EpochResult& epoch : history)
    epochs.push_back({{"epoch", epoch.epoch},
                      {"lr", exact(epoch.lr)},
                      {"correct", epoch.train.correct},
                      {"total", epoch.train.total},
                      {"total_loss", exact(epoch.train.total_loss)},
                      {"seconds", exact(epoch.train.seconds)},
                      {"skipped_steps", epoch.skipped_steps}});
  return epochs;
}

// A double written by exact(), else Error naming the history's field.
double parse_exact(const std::string& path, const nlohmann::json& item, const char* key) {
  const std::string value = item.at(key).get<std::string>();
  char* end = nullptr;
  const double result = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size())
    fail("checkpoint {}: metadata \"history\": \"{}\" is not a number: '{}'", path, key, value);
  return result;
}

std::vector<EpochResult> parse_history(const std::string& path, const std::string& text) {
  const std::set<std::string> known = {"epoch", "lr", "correct", "total", "total_loss", "seconds", "skipped_steps"};
  std::vector<EpochResult> history;
  try {
    const nlohmann::json epochs = nlohmann::json::parse(text);
    if (!epochs.is_array()) fail("checkpoint {}: metadata \"history\" is not a list of epochs", path);
    for (const nlohmann::json& item : epochs) {
      if (!item.is_object()) fail("checkpoint {}: metadata \"history\" holds {}, not an epoch", path, item.dump());
      for (const auto& [key, value] : item.items())
        if (!known.contains(key)) fail("checkpoint {}: metadata \"history\": unknown field \"{}\"", path, key);
      EpochResult epoch;
      epoch.epoch = item.at("epoch").get<int>();
      epoch.lr = parse_exact(path, item, "lr");
      epoch.train.correct = item.at("correct").get<std::int64_t>();
      epoch.train.total = item.at("total").get<std::int64_t>();
      epoch.train.total_loss = parse_exact(path, item, "total_loss");
      epoch.train.seconds = parse_exact(path, item, "seconds");
      epoch.skipped_steps = item.at("skipped_steps").get<std::int64_t>();
      history.push_back(epoch);
    }
  } catch (const nlohmann::json::exception& error) {
    fail("checkpoint {}: metadata \"history\" is not a list of epochs: {}", path, error.what());
  }
  return history;
}

// Every metadata key save_checkpoint writes; any other is an error.
const std::set<std::string> kMetadataKeys = {
    "format", "run", "seed", "batch_size", "lr", "train_images", "loader.epoch", "loader.batches_served",
    "loader.augmentation_offset", "epoch.correct", "epoch.total", "epoch.total_loss", "epoch.seconds", "history",
    "optimizer.lr", "optimizer.momentum", "optimizer.step_count", "optimizer.initial_lr", "scheduler.last_epoch",
    "scheduler.base_lr", "scheduler.last_lr", "divergence.bad_steps", "divergence.first_bad_step"};

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, tensor] : checkpoint.model) tensors[kModelPrefix + name] = tensor;
  for (const auto& [name, buffer] : checkpoint.momentum_buffers) tensors[kBufferPrefix + name] = buffer;

  const optim::SgdState& optimizer = checkpoint.optimizer;
  std::map<std::string, std::string> metadata = {
      {"format", kFormat},
      {"run", checkpoint.run},
      {"seed", std::to_string(checkpoint.seed)},
      {"batch_size", std::to_string(checkpoint.batch_size)},
      {"lr", exact(checkpoint.lr)},
      {"train_images", std::to_string(checkpoint.train_images)},
      {"loader.epoch", std::to_string(checkpoint.loader.epoch)},
      {"loader.batches_served", std::to_string(checkpoint.loader.batches_served)},
      {"loader.augmentation_offset", std::to_string(checkpoint.loader.augmentation_offset)},
      {"epoch.correct", std::to_string(checkpoint.epoch_so_far.correct)},
      {"epoch.total", std::to_string(checkpoint.epoch_so_far.total)},
      {"epoch.total_loss", exact(checkpoint.epoch_so_far.total_loss)},
      {"epoch.seconds", exact(checkpoint.epoch_so_far.seconds)},
      {"history", history_json(checkpoint.history).dump()},
      {"optimizer.lr", exact(optimizer.lr)},
      {"optimizer.momentum", exact(optimizer.momentum)},
      {"optimizer.step_count", std::to_string(optimizer.step_count)},
      {"divergence.bad_steps", std::to_string(checkpoint.divergence.bad_steps)},
  };
  if (optimizer.initial_lr) metadata["optimizer.initial_lr"] = exact(*optimizer.initial_lr);
  if (checkpoint.scheduler) {
    metadata["scheduler.last_epoch"] = std::to_string(checkpoint.scheduler->last_epoch);
    metadata["scheduler.base_lr"] = exact(checkpoint.scheduler->base_lr);
    metadata["scheduler.last_lr"] = exact(checkpoint.scheduler->last_lr);
  }
  if (checkpoint.divergence.first_bad_step)
    metadata["divergence.first_bad_step"] = std::to_string(*checkpoint.divergence.first_bad_step);
  save_safetensors(path, tensors, metadata);
}

Checkpoint load_checkpoint(const std::string& path) {
  SafetensorsFile file = load_safetensors(path);
  MetadataReader metadata(path, file.metadata);
  if (metadata.text("format") != kFormat)
    fail("checkpoint {}: format is '{}', expected '{}'", path, metadata.text("format"), kFormat);

  for (const auto& [key, value] : file.metadata)
    if (!kMetadataKeys.contains(key)) fail("checkpoint {}: unknown metadata \"{}\"", path, key);

  Checkpoint checkpoint;
  checkpoint.run = metadata.text("run");
  checkpoint.seed = metadata.integer<std::uint64_t>("seed");
  checkpoint.batch_size = metadata.integer("batch_size");
  checkpoint.lr = metadata.real("lr");
  checkpoint.train_images = metadata.integer("train_images");
  checkpoint.loader = {.epoch = metadata.integer("loader.epoch"),
                       .batches_served = metadata.integer("loader.batches_served"),
                       .augmentation_offset = metadata.integer<std::uint64_t>("loader.augmentation_offset")};
  checkpoint.epoch_so_far = {.correct = metadata.integer("epoch.correct"),
                             .total = metadata.integer("epoch.total"),
                             .total_loss = metadata.real("epoch.total_loss"),
                             .seconds = metadata.real("epoch.seconds")};
  checkpoint.history = parse_history(path, metadata.text("history"));
  checkpoint.optimizer.lr = metadata.real("optimizer.lr");
  checkpoint.optimizer.momentum = metadata.real("optimizer.momentum");
  checkpoint.optimizer.step_count = metadata.integer("optimizer.step_count");
  if (metadata.has("optimizer.initial_lr")) checkpoint.optimizer.initial_lr = metadata.real("optimizer.initial_lr");
  if (metadata.has("scheduler.last_epoch"))
    checkpoint.scheduler = optim::LRSchedulerState{.last_epoch = static_cast<int>(metadata.integer("scheduler.last_epoch")),
                                                   .base_lr = metadata.real("scheduler.base_lr"),
                                                   .last_lr = metadata.real("scheduler.last_lr")};
  checkpoint.divergence.bad_steps = metadata.integer("divergence.bad_steps");
  if (metadata.has("divergence.first_bad_step"))
    checkpoint.divergence.first_bad_step = metadata.integer("divergence.first_bad_step");

  for (auto& [name, tensor] : file.tensors) {
    if (name.starts_with(kModelPrefix))
      checkpoint.model[name.substr(std::string_view(kModelPrefix).size())] = tensor;
    else if (name.starts_with(kBufferPrefix))
      checkpoint.momentum_buffers[name.substr(std::string_view(kBufferPrefix).size())] = tensor;
    else
      fail("checkpoint {}: unexpected tensor \"{}\"", path, name);
  }
  return checkpoint;
}

void check_checkpoint(const Checkpoint& checkpoint, const std::string& path, const RunSpec& spec,
                      std::uint64_t seed, std::int64_t train_images, int epochs,
                      const std::map<std::string, Tensor>& model_state) {
  // The run it belongs to.
  auto differs = [&](const std::string& what, const auto& saved, const auto& wanted) {
    fail("checkpoint {} was made with {} {}, this run has {}: run without --resume to start over, or with the "
         "checkpoint's settings",
         path, what, saved, wanted);
  };
  if (checkpoint.run != spec.name) differs("run", checkpoint.run, spec.name);
  if (checkpoint.seed != seed) differs("seed", checkpoint.seed, seed);
  if (checkpoint.batch_size != spec.batch_size) differs("batch size", checkpoint.batch_size, spec.batch_size);
  if (checkpoint.lr != spec.lr) differs("lr", checkpoint.lr, spec.lr);
  if (checkpoint.train_images != train_images) differs("a training set of", checkpoint.train_images, train_images);

  // Every other field in range and consistent with the rest.
  auto out_of_range = [&](const std::string& field, const auto& value, const std::string& expected) {
    fail("checkpoint {}: {} is {}, expected {}", path, field, value, expected);
  };
  const data::DataLoaderState& loader = checkpoint.loader;
  const std::int64_t steps_per_epoch = (train_images + spec.batch_size - 1) / spec.batch_size;
  if (loader.epoch < 0) out_of_range("loader.epoch", loader.epoch, ">= 0");
  const std::int64_t epochs_begun = loader.epoch + (loader.batches_served > 0 ? 1 : 0);
  if (epochs_begun > epochs)
    fail("checkpoint {} has trained into epoch {}, beyond --epochs {}: ask for {} epochs or more", path,
         epochs_begun - 1, epochs, epochs_begun);
  if (loader.batches_served < 0 || loader.batches_served > steps_per_epoch)
    out_of_range("loader.batches_served", loader.batches_served, fmt::format("0 to {} (steps per epoch)", steps_per_epoch));
  const std::int64_t steps_done = loader.epoch * steps_per_epoch + loader.batches_served;

  const PassResult& so_far = checkpoint.epoch_so_far;
  const std::int64_t images_served = std::min(loader.batches_served * spec.batch_size, train_images);
  if (so_far.total != images_served)
    out_of_range("epoch.total", so_far.total,
                 fmt::format("{} (the images of the {} steps served)", images_served, loader.batches_served));
  if (so_far.correct < 0 || so_far.correct > so_far.total)
    out_of_range("epoch.correct", so_far.correct, fmt::format("0 to {} (epoch.total)", so_far.total));
  if (so_far.total_loss < 0.0) out_of_range("epoch.total_loss", so_far.total_loss, ">= 0");
  if (!(so_far.seconds >= 0.0 && std::isfinite(so_far.seconds))) out_of_range("epoch.seconds", so_far.seconds, ">= 0");

  if (static_cast<std::int64_t>(checkpoint.history.size()) != loader.epoch)
    out_of_range("the history's length", checkpoint.history.size(), fmt::format("{} (loader.epoch)", loader.epoch));
  for (std::size_t i = 0; i < checkpoint.history.size(); ++i) {
    const EpochResult& epoch = checkpoint.history[i];
    const std::string field = fmt::format("history[{}]", i);
    if (epoch.epoch != static_cast<int>(i)) out_of_range(field + ".epoch", epoch.epoch, std::to_string(i));
    if (!(epoch.lr > 0.0 && std::isfinite(epoch.lr))) out_of_range(field + ".lr", epoch.lr, "finite and > 0");
    if (epoch.train.total != train_images)
      out_of_range(field + ".total", epoch.train.total, fmt::format("{} (the training set)", train_images));
    if (epoch.train.correct < 0 || epoch.train.correct > train_images)
      out_of_range(field + ".correct", epoch.train.correct, fmt::format("0 to {}", train_images));
    if (epoch.train.total_loss < 0.0) out_of_range(field + ".total_loss", epoch.train.total_loss, ">= 0");
    if (!(epoch.train.seconds >= 0.0 && std::isfinite(epoch.train.seconds)))
      out_of_range(field + ".seconds", epoch.train.seconds, ">= 0");
    if (epoch.skipped_steps < 0 || epoch.skipped_steps > steps_per_epoch)
      out_of_range(field + ".skipped_steps", epoch.skipped_steps, fmt::format("0 to {}", steps_per_epoch));
  }

  // The optimizer: plain SGD at the run's lr, or the scheduler's, one step per batch.
  const optim::SgdState& optimizer = checkpoint.optimizer;
  if (optimizer.momentum != 0.0) out_of_range("optimizer.momentum", optimizer.momentum, "0 (plain SGD)");
  if (optimizer.initial_lr && *optimizer.initial_lr != spec.lr)
    out_of_range("optimizer.initial_lr", *optimizer.initial_lr, fmt::format("{} (the run's lr)", spec.lr));
  if (optimizer.step_count != steps_done)
    out_of_range("optimizer.step_count", optimizer.step_count,
                 fmt::format("{} ({} epochs of {} steps and {} steps)", steps_done, loader.epoch, steps_per_epoch,
                             loader.batches_served));
  if (!checkpoint.momentum_buffers.empty())
    fail("checkpoint {}: holds a momentum buffer (\"{}\"), but plain SGD keeps none", path,
         checkpoint.momentum_buffers.begin()->first);
  const bool decays = spec.lr_gamma != 1.0;
  if (decays != checkpoint.scheduler.has_value())
    fail("checkpoint {}: the run {} a learning-rate scheduler, the checkpoint {}", path, decays ? "has" : "has no",
         checkpoint.scheduler ? "has one" : "has none");
  if (checkpoint.scheduler) {
    const optim::LRSchedulerState& scheduler = *checkpoint.scheduler;
    if (scheduler.last_epoch != loader.epoch)
      out_of_range("scheduler.last_epoch", scheduler.last_epoch, fmt::format("{} (loader.epoch)", loader.epoch));
    if (scheduler.base_lr != spec.lr)
      out_of_range("scheduler.base_lr", scheduler.base_lr, fmt::format("{} (the run's lr)", spec.lr));
    if (!(scheduler.last_lr > 0.0 && scheduler.last_lr <= spec.lr))
      out_of_range("scheduler.last_lr", scheduler.last_lr, fmt::format("above 0 and at most {}", spec.lr));
    if (optimizer.lr != scheduler.last_lr)
      out_of_range("optimizer.lr", optimizer.lr, fmt::format("{} (scheduler.last_lr)", scheduler.last_lr));
  } else if (optimizer.lr != spec.lr) {
    out_of_range("optimizer.lr", optimizer.lr, fmt::format("{} (the run's lr)", spec.lr));
  }

  const optim::DivergenceReport& divergence = checkpoint.divergence;
  if (divergence.bad_steps < 0 || divergence.bad_steps > steps_done)
    out_of_range("divergence.bad_steps", divergence.bad_steps, fmt::format("0 to {} (the steps done)", steps_done));
  if (divergence.first_bad_step.has_value() != (divergence.bad_steps > 0))
    fail("checkpoint {}: divergence.first_bad_step is {} but divergence.bad_steps is {}", path,
         divergence.first_bad_step ? "present" : "absent", divergence.bad_steps);
  if (divergence.first_bad_step && (*divergence.first_bad_step < 0 || *divergence.first_bad_step >= steps_done))
    out_of_range("divergence.first_bad_step", *divergence.first_bad_step, fmt::format("0 to {}", steps_done - 1));

  // The model: the network's tensors, no other, each with its shape, dtype and values in range.
  try {
    nn::check_state(checkpoint.model, model_state);
  } catch (const Error& error) {
    fail("checkpoint {}: the model: {}", path, error.what());
  }
}

}  // namespace minidl::study
