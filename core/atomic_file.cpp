#include "minidl/core/atomic_file.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <system_error>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "minidl/core/error.h"

namespace minidl {

namespace {

// errno as words: call it right after the call that failed.
std::string errno_message() { return std::generic_category().message(errno); }

// The temporary files of the writes in progress, for remove_temporary_files_in_progress.
std::mutex in_progress_mutex;
std::set<std::string> in_progress;

// A new file next to path, removed on destruction unless kept.
class TemporaryFile {
 public:
  TemporaryFile(const std::string& path, const char* what) {
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0;; ++attempt) {
      path_ = fmt::format("{}.tmp-{}-{}", path, ::getpid(), counter++);
      int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        fd_ = fd;
        const std::lock_guard<std::mutex> lock(in_progress_mutex);
        in_progress.insert(path_);
        return;
      }
      // A leftover of an earlier process with the same pid: try the next name.
      if (errno != EEXIST || attempt == 100)
        fail("{}: {}: cannot create the temporary file {}: {}", what, path, path_, errno_message());
    }
  }
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!kept_) ::unlink(path_.c_str());
    const std::lock_guard<std::mutex> lock(in_progress_mutex);
    in_progress.erase(path_);
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  // Closes now and returns close()'s result (a delayed write error shows up here).
  int close() {
    int result = ::close(fd_);
    fd_ = -1;
    return result;
  }
  // After a successful rename there is nothing left to remove.
  void keep() { kept_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool kept_ = false;
};

void write_all(const TemporaryFile& file, std::string_view bytes, const std::string& path, const char* what) {
  while (!bytes.empty()) {
    ssize_t written = ::write(file.fd(), bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) fail("{}: {}: cannot write {}: {}", what, path, file.path(), errno_message());
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
}

// The rename is durable only once the directory entry itself is on disk.
void sync_directory(const std::string& path, const char* what) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::string directory = parent.empty() ? std::string(".") : parent.string();
  int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  bool synced = fd >= 0 && ::fsync(fd) == 0;
  std::string reason = synced ? "" : errno_message();
  if (fd >= 0) ::close(fd);
  if (!synced) fail("{}: {}: written, but cannot sync the directory {}: {}", what, path, directory, reason);
}

// Removes the temporary files next to path ("<path>.tmp-<pid>-<n>") that a process
// killed in the middle of a write left behind: those whose pid no longer runs. A live
// pid may be a writer at work, and is left alone. Best effort: what cannot be listed
// or removed stays.
void remove_leftovers_of_dead_writers(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path directory = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + ".tmp-";
  std::error_code error;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const char* pid_text = name.c_str() + prefix.size();
    char* pid_end = nullptr;
    const long pid = std::strtol(pid_text, &pid_end, 10);
    if (pid_end == pid_text || *pid_end != '-' || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code ignored;
    fs::remove(it->path(), ignored);
  }
}

}  // namespace

void remove_temporary_files_in_progress() {
  const std::lock_guard<std::mutex> lock(in_progress_mutex);
  for (const std::string& path : in_progress) ::unlink(path.c_str());
}

void write_file_atomically(const std::string& path, std::span<const std::string_view> pieces, const char* what) {
  TemporaryFile temp(path, what);
  for (std::string_view piece : pieces) write_all(temp, piece, path, what);
  if (::fsync(temp.fd()) != 0) fail("{}: {}: cannot sync {}: {}", what, path, temp.path(), errno_message());
  if (temp.close() != 0) fail("{}: {}: cannot close {}: {}", what, path, temp.path(), errno_message());
  if (::rename(temp.path().c_str(), path.c_str()) != 0)
    fail("{}: {}: cannot rename {} to it: {}", what, path, temp.path(), errno_message());
  temp.keep();
  sync_directory(path, what);
  remove_leftovers_of_dead_writers(path);
}

}  // namespace minidl
