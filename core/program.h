/// \file
/// What minidl's programs (study, predict, the benchmarks) share about signals and
/// their output, so that each fault ends the same way: a message naming the problem,
/// a non-zero exit, and no temporary file left behind.
///
/// - A write past a file-size limit (`ulimit -f`) or into a closed pipe raises SIGXFSZ
///   or SIGPIPE, whose default action kills the program without a word and leaves its
///   temporary files. Both are ignored, so the write fails with EFBIG or EPIPE and
///   the writer reports it, naming the file (core/atomic_file.h; standard output
///   through write_standard_output).
/// - A first SIGINT or SIGTERM asks for a graceful stop, which the program polls
///   (stop_requested) between units of work it can finish quickly (a training step).
///   If it has not polled within a second (its work is blocked in a system call, or
///   a step takes longer), the program stops at once: its temporary files are
///   removed and it exits with 128 + the signal. If it polled but has not exited
///   5 s later (saving blocked), the same. A second signal ends it at once.
#pragma once

#include <string_view>

namespace minidl {

/// Ignores SIGPIPE and SIGXFSZ (see above). Child processes get their default back
/// (data/process.h).
void ignore_write_signals();

/// Installs the SIGINT and SIGTERM handlers and the thread that enforces their
/// deadlines. program names the program in the message of a stop at once.
void install_stop_signals(const char* program);

/// Whether SIGINT or SIGTERM arrived. The first true also tells the deadline's thread
/// that the program is stopping on its own.
bool stop_requested();

/// The signal that asked for the stop (SIGINT or SIGTERM), or 0.
int stop_signal();

/// Writes text to standard output and flushes it; Error ("standard output: Broken
/// pipe") when that fails, instead of carrying on writing into nothing.
void write_standard_output(std::string_view text);

}  // namespace minidl
