/// \file
/// One writer per output directory: an exclusive flock on a file in it (".lock"),
/// taken without waiting. The kernel releases the lock when its holder exits, however
/// it exits (SIGKILL too), so a later run, or `--resume`, takes it again; a lock file
/// left behind by a dead holder locks nothing. The file records the holder (PID, host,
/// start time) for the message a second writer gets.
#pragma once

#include <string>

namespace minidl {

/// The exclusive lock on one output directory (see above), held while the object lives.
class DirectoryLock {
 public:
  /// Locks dir (which must exist) for what (e.g. "study"), else Error naming the
  /// holder: "<dir> is in use by another study (pid 4242 on host a, since 2026-12-04
  /// 21:40 UTC; its lock: <dir>/.lock)".
  DirectoryLock(const std::string& dir, const char* what);
  ~DirectoryLock();  // releases the lock; the file stays
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

  /// The lock file's path.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace minidl
