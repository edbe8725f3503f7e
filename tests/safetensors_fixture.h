// The cases of one PyTorch fixture file (scripts/make_op_fixtures.py,
// docs/exercises/make_fixtures.py): metadata "num_cases", and case k's tensors, parameters
// and description named "case<k>.<name>". A name that is missing fails the test, naming it.
#pragma once

#include <string>

#include <catch2/catch.hpp>

#include "minidl/core/safetensors.h"

namespace minidl::testing {

class SafetensorsFixture {
 public:
  explicit SafetensorsFixture(const std::string& path) : file_(load_safetensors(path)) {}

  int num_cases() const { return std::stoi(metadata("num_cases")); }
  std::string description(int k) const { return metadata(key(k, "description")); }
  bool has(int k, const std::string& name) const { return file_.tensors.count(key(k, name)) == 1; }
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

}  // namespace minidl::testing
