#include "checkpoint.h"

#include <charconv>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "minidl/core/error.h"
#include "minidl/core/safetensors.h"

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

std::vector<EpochResult> parse_history(const std::string& path, const std::string& text) {
  std::vector<EpochResult> history;
  try {
    for (const nlohmann::json& item : nlohmann::json::parse(text)) {
      EpochResult epoch;
      epoch.epoch = item.at("epoch").get<int>();
      epoch.lr = std::strtod(item.at("lr").get<std::string>().c_str(), nullptr);
      epoch.train.correct = item.at("correct").get<std::int64_t>();
      epoch.train.total = item.at("total").get<std::int64_t>();
      epoch.train.total_loss = std::strtod(item.at("total_loss").get<std::string>().c_str(), nullptr);
      epoch.train.seconds = std::strtod(item.at("seconds").get<std::string>().c_str(), nullptr);
      epoch.skipped_steps = item.at("skipped_steps").get<std::int64_t>();
      history.push_back(epoch);
    }
  } catch (const nlohmann::json::exception& error) {
    fail("checkpoint {}: metadata \"history\" is not a list of epochs: {}", path, error.what());
  }
  return history;
}

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

void check_checkpoint_matches(const Checkpoint& checkpoint, const std::string& path, const RunSpec& spec,
                              std::uint64_t seed, std::int64_t train_images, int epochs) {
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
  const std::int64_t epochs_begun = checkpoint.loader.epoch + (checkpoint.loader.batches_served > 0 ? 1 : 0);
  if (epochs_begun > epochs)
    fail("checkpoint {} has trained into epoch {}, beyond --epochs {}: ask for {} epochs or more", path,
         epochs_begun - 1, epochs, epochs_begun);
}

}  // namespace minidl::study
