// The PyTorch fixtures of the exercises (make_fixtures.py): the cases of one
// fixtures/<name>.safetensors, case k's tensors and parameters named "case<k>.<name>".
#pragma once

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "minidl/core/safetensors.h"

namespace minidl::exercises {

class Fixture {
 public:
  explicit Fixture(const std::string& name)
      : file_(load_safetensors((std::filesystem::path(MINIDL_EXERCISE_FIXTURE_DIR) / (name + ".safetensors")).string())) {}

  int num_cases() const { return std::stoi(metadata("num_cases")); }
  std::string description(int k) const { return metadata(key(k, "description")); }
  const Tensor& tensor(int k, const std::string& name) const {
    auto it = file_.tensors.find(key(k, name));
    INFO("fixture tensor " << key(k, name));
    REQUIRE(it != file_.tensors.end());
    return it->second;
  }
  double param(int k, const std::string& name) const { return std::stod(metadata(key(k, name))); }

 private:
  static std::string key(int k, const std::string& name) { return "case" + std::to_string(k) + "." + name; }
  const std::string& metadata(const std::string& name) const {
    auto it = file_.metadata.find(name);
    INFO("fixture metadata " << name);
    REQUIRE(it != file_.metadata.end());
    return it->second;
  }

  SafetensorsFile file_;
};

}  // namespace minidl::exercises
