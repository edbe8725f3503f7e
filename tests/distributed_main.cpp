// test_distributed's main: Catch2's, plus one listener. Under mpirun, a case that failed on
// one rank would leave the others waiting in their next collective until the test's
// timeout; once the case's failures are printed, that rank ends the whole job
// (MPI_Abort), so the failure shows at once. Compiled without the tests' precompiled
// Catch header, which lacks the listener interfaces.
#define CATCH_CONFIG_RUNNER
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <iostream>

#include "minidl/distributed/communicator.h"

struct EndTheJobOnFailure : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    if (stats.totals.assertions.failed == 0) return;
    std::cout << std::flush;
    std::cerr << std::flush;
    minidl::distributed::abort_job_if_distributed(1);
  }
};
CATCH_REGISTER_LISTENER(EndTheJobOnFailure)

int main(int argc, char** argv) { return Catch::Session().run(argc, argv); }
