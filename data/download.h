/// \file
/// Fetching a file over HTTP(S) with a known size and MD5, and unpacking a .tar.gz.
///
/// Both run the standard tools (curl, tar) as child processes (data/process.h).
#pragma once

#include <cstdint>
#include <string>

namespace minidl::data {

/// What to fetch and how to recognise it when it has arrived complete.
struct DownloadSource {
  std::string url;              ///< where to fetch it (any URL curl takes)
  std::int64_t size_bytes = 0;  ///< the complete file's size
  std::string md5;  ///< 32 lower-case hex digits
};

/// Makes path hold source's file. Returns at once when path already holds a file of
/// the right size and MD5. Otherwise downloads with curl to a temporary file next to
/// path ("<path>.partial-<pid>") and renames it to path only once its size and MD5
/// match, so path never holds a partial or corrupt file. On any failure the temporary
/// file is removed and Error says why: curl's message and exit status, the size
/// found, or the MD5 found, each with what was expected.
void download_verified(const DownloadSource& source, const std::string& path);

/// Unpacks the .tar.gz archive into the existing directory dir with tar, dropping the
/// first strip_components directories of each member's path (tar --strip-components).
/// Throws Error with tar's message when it fails.
void extract_tar_gz(const std::string& archive, const std::string& dir, int strip_components);

}  // namespace minidl::data
