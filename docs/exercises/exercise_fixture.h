// The PyTorch fixtures of the exercises (make_fixtures.py): the cases of one
// fixtures/<name>.safetensors, case k's tensors and parameters named "case<k>.<name>".
#pragma once

#include <filesystem>
#include <string>

#include "safetensors_fixture.h"

namespace minidl::exercises {

// fixtures/<name>.safetensors of the exercises.
struct Fixture : testing::SafetensorsFixture {
  explicit Fixture(const std::string& name)
      : SafetensorsFixture((std::filesystem::path(MINIDL_EXERCISE_FIXTURE_DIR) / (name + ".safetensors")).string()) {}
};

}  // namespace minidl::exercises
