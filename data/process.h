// Running a program (curl, tar) as a child process, without a shell: the arguments
// reach the program as they are, so no file name or URL can inject a command.
#pragma once

#include <string>
#include <vector>

namespace minidl::data {

struct ProcessResult {
  int exit_status = 0;  // the program's exit status, or 128 + the signal that ended it
  std::string output;   // what it wrote to stdout and stderr, interleaved
};

// Runs argv[0], looked up in PATH, with arguments argv[1..], and waits for it to end.
// Throws Error when the program cannot be started ("cannot run curl: No such file
// or directory"); a program that runs and fails is reported in the result.
ProcessResult run_process(const std::vector<std::string>& argv);

}  // namespace minidl::data
