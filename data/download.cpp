#include "minidl/data/download.h"

#include <filesystem>
#include <system_error>

#include <unistd.h>

#include "minidl/core/error.h"
#include "minidl/data/md5.h"
#include "minidl/data/process.h"

namespace minidl::data {

namespace {

// "" when the file at path has source's size and MD5, else what it has instead:
// "has 123 bytes, expected 170052171".
std::string mismatch(const DownloadSource& source, const std::string& path) {
  std::error_code error;
  auto size_bytes = static_cast<std::int64_t>(std::filesystem::file_size(path, error));
  if (error) return fmt::format("cannot be read: {}", error.message());
  if (size_bytes != source.size_bytes) return fmt::format("has {} bytes, expected {}", size_bytes, source.size_bytes);
  std::string md5 = md5_hex_of_file(path);
  if (md5 != source.md5) return fmt::format("has MD5 {}, expected {}", md5, source.md5);
  return "";
}

// A tool's output without its trailing newlines, for an error message.
std::string trimmed(std::string output) {
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  return output.empty() ? "no message" : output;
}

}  // namespace

void download_verified(const DownloadSource& source, const std::string& path) {
  if (std::filesystem::exists(path) && mismatch(source, path).empty()) return;

  std::string partial_path = fmt::format("{}.partial-{}", path, ::getpid());
  ProcessResult curl = run_process({"curl", "--fail", "--location", "--silent", "--show-error", "--connect-timeout",
                                    "30", "--output", partial_path, source.url});
  std::string problem;
  if (curl.exit_status != 0) {
    problem = fmt::format("curl failed with exit status {} fetching {}: {}", curl.exit_status, source.url,
                          trimmed(curl.output));
  } else if (std::string wrong = mismatch(source, partial_path); !wrong.empty()) {
    problem = fmt::format("the file fetched from {} {}", source.url, wrong);
  } else {
    std::error_code error;
    std::filesystem::rename(partial_path, path, error);
    if (error) problem = fmt::format("cannot rename {} to {}: {}", partial_path, path, error.message());
  }
  if (!problem.empty()) {
    std::error_code ignored;
    std::filesystem::remove(partial_path, ignored);
    fail("download: {}", problem);
  }
}

void extract_tar_gz(const std::string& archive, const std::string& dir, int strip_components) {
  ProcessResult tar = run_process(
      {"tar", "-xzf", archive, "-C", dir, fmt::format("--strip-components={}", strip_components)});
  if (tar.exit_status != 0)
    fail("download: tar failed with exit status {} unpacking {} into {}: {}", tar.exit_status, archive, dir,
         trimmed(tar.output));
}

}  // namespace minidl::data
