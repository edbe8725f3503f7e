// MD5, child processes, find_cifar10's choice of directory, and the download of a
// small fake CIFAR-10 archive from a local HTTP server (python3 -m http.server).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "minidl/data/cifar10.h"
#include "minidl/data/download.h"
#include "minidl/data/md5.h"
#include "minidl/data/process.h"
#include "data_test_files.h"
#include "test_support.h"

extern char** environ;

using namespace minidl;
using namespace minidl::data;
using testing::TempDir;

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kRecordsPerFile = 3;
constexpr const char* kArchiveName = "cifar-10-binary.tar.gz";

// A TCP port on 127.0.0.1 that nothing listens on: the one the kernel picks for port 0.
int free_port() {
  int socket_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(socket_fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(::bind(socket_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::getsockname(socket_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(socket_fd);
  return ntohs(address.sin_port);
}

bool accepts_connections(int port) {
  int socket_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  bool connected = ::connect(socket_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(socket_fd);
  return connected;
}

bool program_in_path(const std::string& name) {
  ProcessResult which = run_process({"sh", "-c", "command -v \"$0\"", name});
  return which.exit_status == 0;
}

// Download tests need curl, tar and python3: says "skipped: ..." when one is missing.
bool skip_unless_download_tools() {
  for (const char* tool : {"curl", "tar", "python3"}) {
    if (!program_in_path(tool)) {
      Catch::cout() << "skipped: " << tool << " is not installed\n";
      return true;
    }
  }
  return false;
}

// `python3 -m http.server` serving the files of dir on 127.0.0.1, stopped on destruction.
class LocalHttpServer {
 public:
  explicit LocalHttpServer(const std::string& dir) : port_(free_port()) {
    std::vector<std::string> argv = {"python3", "-m",          "http.server",          "--bind",
                                     "127.0.0.1", "--directory", dir, std::to_string(port_)};
    std::vector<char*> arguments;
    for (std::string& argument : argv) arguments.push_back(argument.data());
    arguments.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    int spawn_error = posix_spawnp(&pid_, "python3", &actions, nullptr, arguments.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(spawn_error == 0);

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!accepts_connections(port_)) {
      INFO("the HTTP server did not start listening on port " << port_ << " within 5 s");
      REQUIRE(::waitpid(pid_, nullptr, WNOHANG) == 0);  // still running
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~LocalHttpServer() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  std::string url(const std::string& file_name) const { return fmt::format("http://127.0.0.1:{}/{}", port_, file_name); }

 private:
  int port_;
  pid_t pid_ = -1;
};

// The published archive in small: cifar-10-batches-bin/ holding the six files with 3
// records each, packed with tar into www/, served by a local server.
struct FakeCifar10Server {
  TempDir dir;
  std::int64_t archive_bytes = 0;
  std::string archive_md5;

  FakeCifar10Server() {
    testing::write_synthetic_cifar10(dir.path() / "source" / "cifar-10-batches-bin", kRecordsPerFile);
    fs::create_directory(dir.path() / "www");
    std::string archive = (dir.path() / "www" / kArchiveName).string();
    ProcessResult tar =
        run_process({"tar", "-czf", archive, "-C", (dir.path() / "source").string(), "cifar-10-batches-bin"});
    INFO(tar.output);
    REQUIRE(tar.exit_status == 0);
    archive_bytes = static_cast<std::int64_t>(fs::file_size(archive));
    archive_md5 = md5_hex_of_file(archive);
  }

  // Downloads from server into cache_dir.
  Cifar10Location location(const LocalHttpServer& server, const std::string& cache_dir) const {
    return {.allow_download = true,
            .source = {server.url(kArchiveName), archive_bytes, archive_md5},
            .cache_dir = cache_dir,
            .records_per_file = kRecordsPerFile};
  }
};

// The names of the files in dir.
std::vector<std::string> file_names_in(const fs::path& dir) {
  std::vector<std::string> names;
  if (fs::exists(dir))
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  return names;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MD5

TEST_CASE("md5_hex gives the digests of the RFC 1321 test suite") {
  REQUIRE(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  REQUIRE(md5_hex("a") == "0cc175b9c0f1b6a831c399e269772661");
  REQUIRE(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  REQUIRE(md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
  REQUIRE(md5_hex("abcdefghijklmnopqrstuvwxyz") == "c3fcd3d76192e4007dfb496cca67e13b");
  REQUIRE(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
          "d174ab98d277d9f5a5611c2c9f419d9f");
  REQUIRE(md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890") ==
          "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("Md5 fed in pieces gives the digest of the whole message") {
  std::string message;
  for (int i = 0; i < 1000; ++i) message += static_cast<char>(i * 37 % 256);
  for (std::size_t piece : {1, 3, 55, 56, 63, 64, 65, 999}) {
    Md5 md5;
    for (std::size_t start = 0; start < message.size(); start += piece)
      md5.update(message.data() + start, std::min(piece, message.size() - start));
    REQUIRE(md5.hex_digest() == md5_hex(message));
  }
}

TEST_CASE("md5_hex_of_file agrees with md5sum around the padding boundaries") {
  if (!program_in_path("md5sum")) {
    Catch::cout() << "skipped: md5sum is not installed\n";
    return;
  }
  TempDir dir;
  for (std::size_t length : {0, 55, 56, 57, 63, 64, 65, 119, 120, 128, (1 << 20) + 3}) {
    std::vector<std::uint8_t> bytes(length);
    for (std::size_t i = 0; i < length; ++i) bytes[i] = static_cast<std::uint8_t>(i * 131 % 251);
    std::string path = (dir.path() / "message").string();
    testing::write_bytes(path, bytes);
    ProcessResult md5sum = run_process({"md5sum", path});
    REQUIRE(md5sum.exit_status == 0);
    INFO("length " << length);
    REQUIRE(md5_hex_of_file(path) == md5sum.output.substr(0, 32));
  }
  REQUIRE_THROWS_MINIDL(md5_hex_of_file((dir.path() / "absent").string()),
                        "md5: " + (dir.path() / "absent").string() + ": cannot open: No such file or directory");
}

// ---------------------------------------------------------------------------------------------
// Child processes

TEST_CASE("run_process returns the exit status and the output and passes arguments without a shell") {
  ProcessResult result = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  REQUIRE(result.exit_status == 3);
  REQUIRE(result.output == "out\nerr\n");

  ProcessResult echo = run_process({"echo", "$(touch injected); rm -rf /nothing"});
  REQUIRE(echo.exit_status == 0);
  REQUIRE(echo.output == "$(touch injected); rm -rf /nothing\n");

  REQUIRE_THROWS_MINIDL(run_process({"minidl-no-such-program"}),
                        "cannot run minidl-no-such-program: No such file or directory");
}

// ---------------------------------------------------------------------------------------------
// Where the data set is

TEST_CASE("find_cifar10 takes the named directory first and MINIDL_CIFAR10_DIR second") {
  TempDir named, from_env, cache;
  testing::write_synthetic_cifar10(cache.path() / "cifar-10-batches-bin", kRecordsPerFile);
  Cifar10Location location{.cache_dir = cache.str(), .records_per_file = kRecordsPerFile};

  ::setenv(kCifar10DirVariable, from_env.str().c_str(), 1);
  location.data_dir = named.str();
  REQUIRE(find_cifar10(location) == named.str());
  location.data_dir.reset();
  REQUIRE(find_cifar10(location) == from_env.str());

  // Set but empty counts as not set: the files downloaded earlier into the cache are found.
  ::setenv(kCifar10DirVariable, "", 1);
  REQUIRE(find_cifar10(location) == (cache.path() / "cifar-10-batches-bin").string());
  ::unsetenv(kCifar10DirVariable);
  REQUIRE(find_cifar10(location) == (cache.path() / "cifar-10-batches-bin").string());
}

TEST_CASE("find_cifar10 returns a named directory without the files for load_cifar10 to name what is missing") {
  TempDir named;
  ::unsetenv(kCifar10DirVariable);
  std::string dir = find_cifar10({.data_dir = named.str(), .records_per_file = kRecordsPerFile});
  REQUIRE(dir == named.str());
  REQUIRE_THROWS_MINIDL(load_cifar10(dir, Split::test, kRecordsPerFile), "data/cifar10: missing file ");
}

TEST_CASE("find_cifar10 without data and without download says how to provide the data") {
  TempDir cache;
  ::unsetenv(kCifar10DirVariable);
  REQUIRE_THROWS_MINIDL(
      find_cifar10({.cache_dir = cache.str()}),
      "data/cifar10: no CIFAR-10 data: put the binary files (cifar-10-batches-bin) in a directory and pass "
      "--data-dir DIR or set MINIDL_CIFAR10_DIR, or pass --download to fetch them (170 MB) into " +
          (cache.path() / "cifar-10-batches-bin").string());
}

// ---------------------------------------------------------------------------------------------
// Download

TEST_CASE("find_cifar10 downloads and verifies and unpacks the archive from a server") {
  if (skip_unless_download_tools()) return;
  ::unsetenv(kCifar10DirVariable);
  FakeCifar10Server fake;
  TempDir cache;
  {
    LocalHttpServer server((fake.dir.path() / "www").string());
    std::string dir = find_cifar10(fake.location(server, cache.str()));
    REQUIRE(dir == (cache.path() / "cifar-10-batches-bin").string());
    Cifar10 test = load_cifar10(dir, Split::test, kRecordsPerFile);
    for (std::int64_t n = 0; n < kRecordsPerFile; ++n)
      REQUIRE(test.labels.data<std::int32_t>()[n] == testing::synthetic_label(n));
    REQUIRE(load_cifar10(dir, Split::train, kRecordsPerFile).size() == 5 * kRecordsPerFile);
    REQUIRE(md5_hex_of_file((fs::path(dir) / kArchiveName).string()) == fake.archive_md5);
  }

  // Into a named directory, with the archive's top folder dropped.
  TempDir named;
  LocalHttpServer server((fake.dir.path() / "www").string());
  Cifar10Location location = fake.location(server, cache.str());
  location.data_dir = (named.path() / "cifar").string();
  REQUIRE(find_cifar10(location) == *location.data_dir);
  REQUIRE(load_cifar10(*location.data_dir, Split::test, kRecordsPerFile).size() == kRecordsPerFile);

  // Once the files are there, nothing is downloaded: a dead server does not matter.
  location.source.url = fmt::format("http://127.0.0.1:{}/{}", free_port(), kArchiveName);
  REQUIRE(find_cifar10(location) == *location.data_dir);
}

TEST_CASE("a download with a wrong MD5 or size fails and leaves no partial archive") {
  if (skip_unless_download_tools()) return;
  ::unsetenv(kCifar10DirVariable);
  FakeCifar10Server fake;
  LocalHttpServer server((fake.dir.path() / "www").string());
  TempDir cache;
  const std::string dir = (cache.path() / "cifar-10-batches-bin").string();

  Cifar10Location wrong_md5 = fake.location(server, cache.str());
  wrong_md5.source.md5 = "0123456789abcdef0123456789abcdef";
  REQUIRE_THROWS_MINIDL(find_cifar10(wrong_md5), "data/cifar10: could not download CIFAR-10: download: the file fetched from " +
                                                     server.url(kArchiveName) + " has MD5 " + fake.archive_md5 +
                                                     ", expected 0123456789abcdef0123456789abcdef");
  REQUIRE(file_names_in(dir).empty());

  Cifar10Location wrong_size = fake.location(server, cache.str());
  wrong_size.source.size_bytes += 1;
  REQUIRE_THROWS_MINIDL(find_cifar10(wrong_size), fmt::format("has {} bytes, expected {}", fake.archive_bytes,
                                                              fake.archive_bytes + 1));
  REQUIRE(file_names_in(dir).empty());
}

TEST_CASE("a download from a server that is not there fails and says where to put the files") {
  if (skip_unless_download_tools()) return;
  ::unsetenv(kCifar10DirVariable);
  TempDir cache;
  const std::string dir = (cache.path() / "cifar-10-batches-bin").string();
  const std::string url = fmt::format("http://127.0.0.1:{}/{}", free_port(), kArchiveName);
  Cifar10Location location{.allow_download = true,
                           .source = {url, 1000, "0123456789abcdef0123456789abcdef"},
                           .cache_dir = cache.str(),
                           .records_per_file = kRecordsPerFile};
  REQUIRE_THROWS_MINIDL(find_cifar10(location), "data/cifar10: could not download CIFAR-10: download: curl failed "
                                                "with exit status 7 fetching " + url);
  REQUIRE_THROWS_MINIDL(find_cifar10(location), ". Fetch " + url +
                                                    " yourself, unpack it and put the files of its folder "
                                                    "cifar-10-batches-bin in " + dir);
  REQUIRE(file_names_in(dir).empty());
}
