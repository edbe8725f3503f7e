#include "minidl/core/directory_lock.h"

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "minidl/core/error.h"

namespace minidl {

namespace {

std::string errno_message() { return std::generic_category().message(errno); }

// "pid 4242 on host a, since 2026-12-04 21:40 UTC": who holds the lock, as it wrote.
std::string holder_line() {
  char host[256] = "unknown";
  ::gethostname(host, sizeof host - 1);
  const std::time_t now = std::time(nullptr);
  char since[32];
  std::strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  return fmt::format("pid {} on host {}, since {}", ::getpid(), host, since);
}

// What the holder wrote, at most one short line (the file is ours, but read it warily).
std::string read_holder(int fd) {
  char text[512];
  const ssize_t got = ::pread(fd, text, sizeof text - 1, 0);
  std::string line(text, got > 0 ? static_cast<std::size_t>(got) : 0);
  line = line.substr(0, line.find('\n'));
  return line.empty() ? "a holder that has not written its name yet" : line;
}

}  // namespace

DirectoryLock::DirectoryLock(const std::string& dir, const char* what)
    : path_((std::filesystem::path(dir) / ".lock").string()) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("{}: cannot create the lock file {}: {}", what, path_, errno_message());
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int lock_errno = errno;
    const std::string holder = read_holder(fd_);
    ::close(fd_);
    if (lock_errno == EWOULDBLOCK)
      fail("{} is in use by another {} ({}; its lock: {}): give each run its own --output-dir", dir, what, holder,
           path_);
    errno = lock_errno;
    fail("{}: cannot lock {}: {}", what, path_, errno_message());
  }
  const std::string line = holder_line() + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    const std::string reason = errno_message();
    ::close(fd_);
    fail("{}: cannot write the lock file {}: {}", what, path_, reason);
  }
}

DirectoryLock::~DirectoryLock() { ::close(fd_); }  // closing the descriptor releases the lock

}  // namespace minidl
