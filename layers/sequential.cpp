#include "minidl/layers/sequential.h"

#include <algorithm>

#include "minidl/layers/activation.h"

namespace minidl::nn {

namespace {
// 52874 -> "52,874"
std::string with_thousands_separators(std::int64_t value) {
  std::string digits = std::to_string(value), grouped;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return grouped;
}
}  // namespace

Sequential& Sequential::add(const std::string& name, std::shared_ptr<Module> module) {
  if (name.empty() || name.find('.') != std::string::npos)
    fail("Sequential::add: a child's name must be non-empty and contain no '.', got \"{}\"", name);
  for (const auto& [existing, _] : children_)
    if (existing == name) fail("Sequential::add: a child named \"{}\" already exists", name);
  for (Parameter* parameter : module->parameters()) parameter->name = name + "." + parameter->name;
  for (Buffer* buffer : module->buffers()) buffer->name = name + "." + buffer->name;
  module->train(training_);
  children_.emplace_back(name, std::move(module));
  return *this;
}

// A layer followed by a ReLU that it can apply itself runs both in one pass; the ReLU
// keeps the result as its output, for its backward.
Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (std::size_t i = 0; i < children_.size(); ++i) {
    Module& layer = *children_[i].second;
    auto* relu = i + 1 < children_.size() ? dynamic_cast<ReLU*>(children_[i + 1].second.get()) : nullptr;
    if (fusion_ && relu != nullptr && layer.fuses_following_relu(x)) {
      x = layer.forward_fused_relu(x);
      relu->forward_fused_into_previous(x);
      ++i;  // the ReLU is done
      continue;
    }
    x = layer.forward(x);
  }
  return x;
}

// A MaxPool2d whose input came from a ReLU runs the ReLU's backward inside its own.
Tensor Sequential::backward(const Tensor& grad_output) {
  Tensor grad = grad_output;
  for (std::size_t i = children_.size(); i-- > 0;) {
    Module& layer = *children_[i].second;
    auto* pool = dynamic_cast<MaxPool2d*>(&layer);
    const bool after_relu = i > 0 && dynamic_cast<ReLU*>(children_[i - 1].second.get()) != nullptr;
    if (fusion_ && pool != nullptr && after_relu && pool->fuses_preceding_relu_backward(grad)) {
      grad = pool->backward_after_relu(grad);
      --i;  // the ReLU's backward is done
      continue;
    }
    grad = layer.backward(grad);
  }
  return grad;
}

std::vector<Parameter*> Sequential::parameters() {
  std::vector<Parameter*> all;
  for (auto& [name, module] : children_)
    for (Parameter* parameter : module->parameters()) all.push_back(parameter);
  return all;
}

std::vector<Buffer*> Sequential::buffers() {
  std::vector<Buffer*> all;
  for (auto& [name, module] : children_)
    for (Buffer* buffer : module->buffers()) all.push_back(buffer);
  return all;
}

void Sequential::train(bool on) {
  Module::train(on);
  for (auto& [name, module] : children_) module->train(on);
}

void Sequential::count_replayed_forward() {
  for (auto& [name, module] : children_) module->count_replayed_forward();
}

void Sequential::to(Device device) {
  for (auto& [name, module] : children_) module->to(device);
}

std::string Sequential::repr() const {
  std::string out = "Sequential(\n";
  for (const auto& [name, module] : children_) {
    std::string child = module->repr();
    // Indent nested multi-line reprs as PyTorch does.
    std::string indented;
    for (char c : child) {
      indented += c;
      if (c == '\n') indented += "  ";
    }
    out += fmt::format("  ({}): {}\n", name, indented);
  }
  return out + ")";
}

std::string Sequential::summary() {
  std::string out = repr() + "\n";
  std::size_t width = 5;
  for (const auto& [name, module] : children_) width = std::max(width, name.size());
  out += fmt::format("{:<{}}  {:>10}\n", "layer", width, "parameters");
  for (auto& [name, module] : children_)
    out += fmt::format("{:<{}}  {:>10}\n", name, width, with_thousands_separators(module->parameter_count()));
  out += fmt::format("{:<{}}  {:>10}", "total", width, with_thousands_separators(parameter_count()));
  return out;
}

Module& Sequential::child(const std::string& name) {
  for (auto& [existing, module] : children_)
    if (existing == name) return *module;
  fail("Sequential::child: no child named \"{}\"", name);
}

}  // namespace minidl::nn
