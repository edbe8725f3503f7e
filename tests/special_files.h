// Files that are not regular files, for the tests of every reader that must refuse
// them (a FIFO, a socket, a directory, a character device), and a guard that turns
// a reader blocked on a FIFO into a failed test instead of a hung one.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace minidl::testing {

// The kinds of file that are not regular, as a refusal names them.
inline const std::vector<std::string> kSpecialFileKinds = {"a FIFO", "a socket", "a directory",
                                                           "a character device"};

// Makes a file of that kind at path: a FIFO, a bound Unix socket, a directory, or a
// symbolic link to /dev/null (opening it opens the device).
inline void make_special_file(const std::string& kind, const std::string& path) {
  std::filesystem::remove_all(path);
  if (kind == "a FIFO") {
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  } else if (kind == "a socket") {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof address.sun_path);
    path.copy(address.sun_path, path.size());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    ::close(fd);  // the socket file stays
  } else if (kind == "a directory") {
    std::filesystem::create_directory(path);
  } else {
    std::filesystem::create_symlink("/dev/null", path);
  }
}

// While it lives, a reader blocked in opening the FIFO at path is let go after a few
// seconds (a writer opens it), and blocked() then says so: the test fails, it does not hang.
class FifoUnblocker {
 public:
  explicit FifoUnblocker(std::string path) : path_(std::move(path)), thread_([this] { watch(); }) {}
  ~FifoUnblocker() {
    done_ = true;
    thread_.join();
  }
  bool blocked() const { return blocked_; }

 private:
  void watch() {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done_ && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (done_) return;
    // Fails with ENXIO when nobody waits to read; else lets the reader's open return.
    const int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) {
      blocked_ = true;
      ::close(fd);
    }
  }
  std::string path_;
  std::atomic<bool> done_{false};
  std::atomic<bool> blocked_{false};
  std::thread thread_;
};

}  // namespace minidl::testing
