// Loads a JSON fixture written by a scripts/make_*_fixtures.py script.
#pragma once

#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace minidl::testing {

// tests/fixtures/<relative_path>, parsed; fails the test when the file is missing.
inline nlohmann::json load_json_fixture(const std::string& relative_path) {
  std::string path = std::string(MINIDL_FIXTURE_DIR) + "/" + relative_path;
  std::ifstream file(path);
  INFO("fixture " << path);
  REQUIRE(file.good());
  return nlohmann::json::parse(file);
}

}  // namespace minidl::testing
