/// \file
/// Writing a file so that readers only ever see the old or the new contents:
/// the bytes go to a temporary file next to it ("<path>.tmp-<pid>-<n>"), which is
/// synced, renamed over path, and the directory synced. On any failure the
/// temporary file is removed, path is left as it was, and Error is thrown,
/// prefixed "<what>: <path>: ". After a write, the temporary files of path that
/// killed processes left (their pid no longer runs) are removed. Checkpoints and
/// the study's reports use it.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace minidl {

/// Writes the pieces one after the other as the new contents of path.
void write_file_atomically(const std::string& path, std::span<const std::string_view> pieces, const char* what);

/// Writes contents as the new contents of path.
inline void write_file_atomically(const std::string& path, std::string_view contents, const char* what) {
  write_file_atomically(path, std::span<const std::string_view>(&contents, 1), what);
}

/// Removes the temporary files of the writes in progress in this process, for a
/// program that must exit at once (core/program.h); call it from a thread, never
/// from a signal handler (it takes a lock). The files those writes replace stay as
/// they were.
void remove_temporary_files_in_progress();

}  // namespace minidl
