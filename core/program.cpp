#include "minidl/core/program.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include <semaphore.h>
#include <signal.h>
#include <unistd.h>

#include "minidl/core/atomic_file.h"
#include "minidl/core/error.h"

namespace minidl {

namespace {

constexpr auto kPollWithin = std::chrono::seconds(1);   // from the signal to the program's first poll
constexpr auto kFinishWithin = std::chrono::seconds(5);  // from that poll to its exit

volatile std::sig_atomic_t received_signal = 0;
sem_t signal_arrived;  // posted by the handler (sem_post is async-signal-safe)
std::atomic<bool> polled{false};
const char* program_name = "minidl";

extern "C" void on_stop_signal(int signal) {
  received_signal = signal;
  ::sem_post(&signal_arrived);
}

void write_stderr(const std::string& text) {
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t written = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (written <= 0 && errno != EINTR) return;
    if (written > 0) done += static_cast<std::size_t>(written);
  }
}

[[noreturn]] void stop_at_once(const char* why) {
  remove_temporary_files_in_progress();
  const int signal = received_signal;
  write_stderr(fmt::format("{}: stopped at once by {}: {}; --resume goes on from the last checkpoint saved\n",
                           program_name, signal == SIGINT ? "SIGINT" : "SIGTERM", why));
  ::_exit(128 + signal);
}

// Waits for the first signal, then enforces the two deadlines. It never runs in the
// signal handler, so it may take locks and remove files.
void enforce_deadlines() {
  while (::sem_wait(&signal_arrived) != 0) {
  }
  using Clock = std::chrono::steady_clock;
  const Clock::time_point arrived = Clock::now();
  while (!polled && Clock::now() - arrived < kPollWithin) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!polled) stop_at_once("the work in progress did not come to a stopping point within a second");
  std::this_thread::sleep_for(kFinishWithin);
  stop_at_once("saving did not finish within 5 seconds");
}

}  // namespace

void ignore_write_signals() {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGXFSZ, SIG_IGN);
}

void install_stop_signals(const char* program) {
  program_name = program;
  if (::sem_init(&signal_arrived, 0, 0) != 0) fail("{}: cannot create a semaphore: {}", program, std::strerror(errno));
  std::thread(enforce_deadlines).detach();
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  // SA_RESETHAND: a second signal has its default action, the end. SA_RESTART: a
  // blocked call goes on; the deadline's thread is what ends a wait that never returns.
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

bool stop_requested() {
  if (received_signal == 0) return false;
  polled = true;
  return true;
}

int stop_signal() { return received_signal; }

void write_standard_output(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
    fail("standard output: {}", std::generic_category().message(errno));
}

}  // namespace minidl
