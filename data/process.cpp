#include "minidl/data/process.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "minidl/core/error.h"

extern char** environ;

namespace minidl::data {

namespace {

// Closes the file descriptors it holds when it goes out of scope.
struct Pipe {
  int read_end = -1;
  int write_end = -1;
  ~Pipe() {
    if (read_end >= 0) ::close(read_end);
    if (write_end >= 0) ::close(write_end);
  }
};

}  // namespace

// The child's stdout and stderr go into one pipe that the parent reads to its end
// (the child closing it) before waiting for the child; reading first keeps a chatty
// child from blocking on a full pipe. With a scheduled signal, the reads wait at
// most until it is due (poll with a timeout).
ProcessResult run_process(const std::vector<std::string>& argv, const ScheduledSignal& scheduled_signal,
                          const std::string& working_directory) {
  if (argv.empty()) fail("run_process: no program given");
  const std::string& program = argv[0];
  Pipe pipe;
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) fail("run_process: cannot create a pipe for {}: {}", program, std::strerror(errno));
  pipe.read_end = ends[0];
  pipe.write_end = ends[1];

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe.write_end, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe.write_end, STDERR_FILENO);
  if (!working_directory.empty()) posix_spawn_file_actions_addchdir_np(&actions, working_directory.c_str());
  std::vector<char*> arguments;
  for (const std::string& argument : argv) arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  pid_t pid;
  // A program of minidl ignores SIGPIPE and SIGXFSZ (core/program.h), and an ignored
  // signal stays ignored across exec: the child gets their default actions back.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGXFSZ);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
  int spawn_error = posix_spawnp(&pid, program.c_str(), &actions, &attributes, arguments.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) fail("cannot run {}: {}", program, std::strerror(spawn_error));

  ::close(pipe.write_end);
  pipe.write_end = -1;
  ProcessResult result;
  using Clock = std::chrono::steady_clock;
  bool signal_pending = scheduled_signal.signal != 0;
  std::optional<Clock::time_point> signal_due;
  auto schedule_when_ready = [&] {
    if (signal_pending && !signal_due &&
        (scheduled_signal.after_output.empty() || result.output.find(scheduled_signal.after_output) != std::string::npos))
      signal_due = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(scheduled_signal.seconds));
  };
  schedule_when_ready();
  char buffer[4096];
  while (true) {
    if (signal_due) {
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*signal_due - Clock::now());
      pollfd readable{.fd = pipe.read_end, .events = POLLIN, .revents = 0};
      const int ready = wait.count() > 0 ? ::poll(&readable, 1, static_cast<int>(wait.count())) : 0;
      if (ready == 0) {  // due
        ::kill(pid, scheduled_signal.signal);
        signal_pending = false;
        signal_due.reset();
      }
      if (ready <= 0) continue;  // sent, or poll was interrupted
    }
    ssize_t count = ::read(pipe.read_end, buffer, sizeof buffer);
    if (count > 0) {
      result.output.append(buffer, static_cast<std::size_t>(count));
      schedule_when_ready();
    } else if (count == 0 || errno != EINTR) {
      break;
    }
  }

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail("run_process: waiting for {} failed: {}", program, std::strerror(errno));
  }
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace minidl::data
