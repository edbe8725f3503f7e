/// \file
/// Running a program (curl, tar) as a child process, without a shell: the arguments
/// reach the program as they are, so no file name or URL can inject a command.
#pragma once

#include <string>
#include <vector>

namespace minidl::data {

/// A signal to send the program while it runs (tests of interrupted training use it):
/// `signal` once `seconds` have passed since it started, or since its output first
/// contained `after_output` when that is not empty.
struct ScheduledSignal {
  int signal = 0;            ///< the signal's number; 0: none
  double seconds = 0.0;      ///< the delay
  std::string after_output;  ///< when not empty, the delay starts once the output contains it
};

/// How a program ended and what it wrote.
struct ProcessResult {
  int exit_status = 0;  ///< the program's exit status, or 128 + the signal that ended it
  std::string output;   ///< what it wrote to stdout and stderr, interleaved
};

/// Runs argv[0], looked up in PATH, with arguments argv[1..], and waits for it to end;
/// in working_directory when it is not empty (so a script it runs can name its files
/// relative to it, and no path needs quoting inside the script). Throws Error when the
/// program cannot be started ("cannot run curl: No such file or directory"); a program
/// that runs and fails is reported in the result.
ProcessResult run_process(const std::vector<std::string>& argv, const ScheduledSignal& scheduled_signal = {},
                          const std::string& working_directory = "");

}  // namespace minidl::data
