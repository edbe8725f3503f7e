/// \file
/// CIFAR-10 (Krizhevsky, 2009): 60,000 colour images of 32x32 pixels in 10 classes,
/// 50,000 for training and 10,000 for testing, in the "binary version" layout
/// (https://www.cs.toronto.edu/~kriz/cifar.html):
///   data_batch_1.bin .. data_batch_5.bin   the training split, in this order
///   test_batch.bin                         the test split
/// Each file holds 10,000 records of 3,073 bytes: one label byte (0..9), then the
/// image as three 32x32 planes, red, green, blue, each row by row. The 3,072 image
/// bytes of a record are thus already one image in (C, H, W) order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "minidl/core/tensor.h"
#include "minidl/data/download.h"

namespace minidl::data {

///@{
/// The sizes of the data set's images, classes and records.
inline constexpr int kCifar10Channels = 3;
inline constexpr int kCifar10Height = 32;
inline constexpr int kCifar10Width = 32;
inline constexpr int kCifar10Classes = 10;
inline constexpr std::int64_t kCifar10ImageBytes = kCifar10Channels * kCifar10Height * kCifar10Width;  // 3,072
inline constexpr std::int64_t kCifar10RecordBytes = 1 + kCifar10ImageBytes;                            // 3,073
inline constexpr std::int64_t kCifar10RecordsPerFile = 10'000;
/// The ten classes' names, by label (CIFAR-10's batches.meta.txt).
inline constexpr const char* kCifar10ClassNames[kCifar10Classes] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                       "dog",      "frog",       "horse", "ship", "truck"};
///@}

///@{
/// The archive of the binary version, as published.
inline constexpr const char* kCifar10Url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
inline constexpr std::int64_t kCifar10ArchiveBytes = 170'052'171;
inline constexpr const char* kCifar10ArchiveMd5 = "c32a1d4ab5d03f1284b67883e8d87530";
///@}
/// The environment variable naming the directory that holds the binary files.
inline constexpr const char* kCifar10DirVariable = "MINIDL_CIFAR10_DIR";

/// The training split (50,000 images) or the test split (10,000).
enum class Split { train, test };

/// One split in host memory.
struct Cifar10 {
  Tensor images;  ///< (N, 3, 32, 32) u8, the pixels as stored
  Tensor labels;  ///< (N) i32 in 0..9: the dtype CrossEntropyLoss takes

  /// N, the number of images (0 when empty).
  std::int64_t size() const { return labels.defined() ? labels.numel() : 0; }
};

/// The files of a split, in the order their records are concatenated.
std::vector<std::string> cifar10_file_names(Split split);

/// Reads a split from the files in dir, one read per file. records_per_file is the
/// data set's 10,000; tests write smaller files. Throws Error naming the file and the
/// problem: missing (saying where the files can come from), unreadable, too short or
/// too long (with the expected and the actual size), or a label outside 0..9 (with
/// the record's index in the file and the value).
Cifar10 load_cifar10(const std::string& dir, Split split, std::int64_t records_per_file = kCifar10RecordsPerFile);

/// Where to look for the files, and whether they may be downloaded: the study's
/// --data-dir and --download.
struct Cifar10Location {
  std::optional<std::string> data_dir = {};  ///< --data-dir
  bool allow_download = false;               ///< --download
  DownloadSource source = {kCifar10Url, kCifar10ArchiveBytes, kCifar10ArchiveMd5};  ///< the archive to download
  /// Where --download puts the files when no directory is named; "" is
  /// $XDG_CACHE_HOME/minidl, else $HOME/.cache/minidl.
  std::string cache_dir = {};
  std::int64_t records_per_file = kCifar10RecordsPerFile;  ///< what the files' sizes are checked against
};

/// The directory to pass to load_cifar10. The first of
///   1. location.data_dir, when given,
///   2. the environment variable MINIDL_CIFAR10_DIR, when set and not empty,
///   3. `<cache_dir>/cifar-10-batches-bin`,
/// is the directory. When it holds the six files, each of the right size, it is
/// returned. Otherwise, when downloading is allowed, the archive is downloaded into it
/// (verified by size and MD5, see download_verified), unpacked there and kept beside
/// the files; a failure throws Error saying why and where to put the files by hand.
/// Without downloading, a named directory (1 or 2) is returned as it is, for
/// load_cifar10 to name what is wrong there; when none is named, Error says how to
/// provide the data.
std::string find_cifar10(const Cifar10Location& location);

}  // namespace minidl::data
