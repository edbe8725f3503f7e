// Catch2's main, compiled once (tests/CMakeLists.txt links it into every test binary).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
