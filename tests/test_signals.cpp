// The study under signals and write faults (core/program.h): a first SIGTERM stops it
// within a second even while a system call blocks; a file-size limit and a closed
// standard output are errors naming the file, not silent deaths. Each test waits for
// the state it needs by a handshake (what the program wrote, or the system call its
// main thread is blocked in), never by sleeping.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "minidl/data/process.h"
#include "data_test_files.h"
#include "test_support.h"

extern char** environ;

using namespace minidl;
using namespace minidl::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kRecords = 20;  // per file: 100 training and 20 test images

struct Setup {
  TempDir dir;
  fs::path data = dir.path() / "data";
  fs::path out = dir.path() / "out";
  Setup() { write_synthetic_cifar10(data, kRecords); }
  std::vector<std::string> study_argv() const {
    return {MINIDL_STUDY_BINARY, "--data-dir", data.string(), "--records-per-file", std::to_string(kRecords),
            "--output-dir", out.string(), "--runs", "control", "--epochs", "1", "--device", "cpu"};
  }
};

std::string read_text(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Starts argv with its standard output on stdout_fd and its standard error in the
// file stderr_path; returns its pid.
pid_t start(const std::vector<std::string>& argv, int stdout_fd, const fs::path& stderr_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> arguments;
  for (const std::string& argument : argv) arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, arguments.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(error == 0);
  return pid;
}

// Its exit status (128 + a signal that ended it), or -1 when it has not ended within
// seconds (it is then killed).
int wait_for_exit(pid_t pid, double seconds) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > give_up) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Waits until the main thread of pid is blocked in write(2) on its standard output
// (/proc/PID/syscall begins "1 0x1 "), at most a minute.
bool blocked_writing_stdout(pid_t pid) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < give_up) {
    if (read_text(fs::path("/proc") / std::to_string(pid) / "syscall").starts_with("1 0x1 ")) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

std::vector<std::string> temporary_files(const fs::path& dir) {
  std::vector<std::string> found;
  if (!fs::exists(dir)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) found.push_back(entry.path().string());
  return found;
}

}  // namespace

TEST_CASE("a first SIGTERM stops the study within a second while it is blocked writing to a full pipe") {
  Setup setup;
  int ends[2];
  REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
  // Fill the pipe: the study's first write to its standard output blocks, forever.
  ::fcntl(ends[1], F_SETFL, O_NONBLOCK);
  const std::string block(4096, 'x');
  while (::write(ends[1], block.data(), block.size()) > 0) {
  }
  ::fcntl(ends[1], F_SETFL, 0);
  const fs::path stderr_path = setup.dir.path() / "stderr.txt";
  const pid_t pid = start(setup.study_argv(), ends[1], stderr_path);
  ::close(ends[1]);
  REQUIRE(blocked_writing_stdout(pid));

  const auto sent = std::chrono::steady_clock::now();
  ::kill(pid, SIGTERM);
  const int status = wait_for_exit(pid, 30.0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
  ::close(ends[0]);
  INFO(read_text(stderr_path));
  REQUIRE(status == 128 + SIGTERM);
  REQUIRE(seconds < 5.0);  // one second to come to a stopping point, and slack for a busy machine
  REQUIRE_THAT(read_text(stderr_path), Catch::Contains("study: stopped at once by SIGTERM: the work in progress did "
                                                       "not come to a stopping point within a second"));
  REQUIRE(temporary_files(setup.out).empty());
}

TEST_CASE("a study past its file-size limit names the file too large and exits 1 leaving no temporary file") {
  Setup setup;
  // ulimit -f counts blocks of 512 bytes: 64 KiB here, less than a checkpoint of the
  // study's network (about 250 KB). SIGXFSZ used to kill the study without a word.
  std::vector<std::string> argv = {"sh", "-c", "ulimit -f 128 && exec \"$0\" \"$@\""};
  for (const std::string& argument : setup.study_argv()) argv.push_back(argument);
  const data::ProcessResult result = data::run_process(argv);
  INFO(result.output);
  REQUIRE(result.exit_status == 1);
  REQUIRE_THAT(result.output, Catch::Contains("File too large"));
  REQUIRE_THAT(result.output, Catch::Contains((setup.out / "checkpoints" / "control.safetensors").string()));
  REQUIRE(temporary_files(setup.out).empty());
}

TEST_CASE("a study whose standard output is a closed pipe says so and exits 1") {
  Setup setup;
  int ends[2];
  REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
  ::close(ends[0]);  // nobody reads: a write gets EPIPE (and SIGPIPE, which the study ignores)
  const fs::path stderr_path = setup.dir.path() / "stderr.txt";
  const pid_t pid = start(setup.study_argv(), ends[1], stderr_path);
  ::close(ends[1]);
  const int status = wait_for_exit(pid, 120.0);
  INFO(read_text(stderr_path));
  REQUIRE(status == 1);
  REQUIRE_THAT(read_text(stderr_path), Catch::Contains("study: standard output: Broken pipe"));
  REQUIRE(temporary_files(setup.out).empty());
}

TEST_CASE("a study whose standard output is a full disk says so and exits 1") {
  Setup setup;
  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);  // every write: ENOSPC
  if (full < 0) {
    Catch::cout() << "skipped: no /dev/full here\n";
    return;
  }
  const fs::path stderr_path = setup.dir.path() / "stderr.txt";
  const pid_t pid = start(setup.study_argv(), full, stderr_path);
  ::close(full);
  const int status = wait_for_exit(pid, 120.0);
  INFO(read_text(stderr_path));
  REQUIRE(status == 1);
  REQUIRE_THAT(read_text(stderr_path), Catch::Contains("study: standard output: No space left on device"));
  REQUIRE(temporary_files(setup.out).empty());
}
