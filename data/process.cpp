#include "data/process.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"

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
// child from blocking on a full pipe.
ProcessResult run_process(const std::vector<std::string>& argv) {
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
  std::vector<char*> arguments;
  for (const std::string& argument : argv) arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  pid_t pid;
  int spawn_error = posix_spawnp(&pid, program.c_str(), &actions, nullptr, arguments.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) fail("cannot run {}: {}", program, std::strerror(spawn_error));

  ::close(pipe.write_end);
  pipe.write_end = -1;
  ProcessResult result;
  char buffer[4096];
  while (true) {
    ssize_t count = ::read(pipe.read_end, buffer, sizeof buffer);
    if (count > 0) {
      result.output.append(buffer, static_cast<std::size_t>(count));
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
