#include "minidl/core/regular_file.h"

#include <cerrno>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace minidl {

namespace {

// errno as words: call it right after the call that failed.
std::string errno_message() { return std::generic_category().message(errno); }

// What a file of this mode is, for the message that refuses it.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a plain file";
}

}  // namespace

RegularFile::RegularFile(std::string path, const char* what) : path_(std::move(path)), what_(what) {
  // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a
  // writer. On a regular file it changes nothing (reads of regular files never block
  // in the sense O_NONBLOCK means). O_NOCTTY: a terminal never becomes ours.
  fd_ = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd_ < 0) {
    const int open_errno = errno;
    if (open_errno == ENOENT) throw MissingFile(fmt::format("{}: {}: cannot open: {}", what_, path_, errno_message()));
    // A socket cannot be opened at all (ENXIO): name its kind rather than the errno.
    struct stat status {};
    if (open_errno == ENXIO && ::stat(path_.c_str(), &status) == 0 && !S_ISREG(status.st_mode))
      fail("{}: {}: {}, not a regular file", what_, path_, kind_of(status.st_mode));
    errno = open_errno;
    fail("{}: {}: cannot open: {}", what_, path_, errno_message());
  }
  struct stat status {};
  if (::fstat(fd_, &status) != 0) {
    const std::string reason = errno_message();
    ::close(fd_);
    fail("{}: {}: cannot stat: {}", what_, path_, reason);
  }
  if (!S_ISREG(status.st_mode)) {
    ::close(fd_);
    fail("{}: {}: {}, not a regular file", what_, path_, kind_of(status.st_mode));
  }
  size_ = static_cast<std::uint64_t>(status.st_size);
}

RegularFile::~RegularFile() { ::close(fd_); }

std::size_t RegularFile::read_some_at(void* destination, std::size_t bytes, std::uint64_t offset) const {
  while (true) {
    const ssize_t got = ::pread(fd_, destination, bytes, static_cast<off_t>(offset));
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno != EINTR) fail("{}: {}: cannot read: {}", what_, path_, errno_message());
  }
}

void RegularFile::read_at(void* destination, std::size_t bytes, std::uint64_t offset) const {
  auto* out = static_cast<char*>(destination);
  while (bytes > 0) {
    const std::size_t got = read_some_at(out, bytes, offset);
    if (got == 0) fail("{}: {}: the file ended early at byte {}", what_, path_, offset);
    out += got;
    offset += got;
    bytes -= got;
  }
}

}  // namespace minidl
