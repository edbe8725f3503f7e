/// \file
/// safetensors files: named tensors on disk, the checkpoint format minidl shares with PyTorch.
///
/// Layout (https://github.com/huggingface/safetensors):
///   8 bytes    N, the header length, little-endian u64
///   N bytes    JSON header: {"__metadata__": {"key": "value", ...},
///                            "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
///              offsets count from the first byte after the header; "__metadata__" is optional
///   the rest   every tensor's elements, row-major and little-endian, packed without holes
///
/// minidl reads and writes the dtypes F32, F64, U8, I32 and I64 and at most 4 dimensions.
#pragma once

#include <map>
#include <string>

#include "minidl/core/tensor.h"

namespace minidl {

/// The contents of a safetensors file.
struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;        ///< name -> tensor, on the CPU
  std::map<std::string, std::string> metadata;  ///< the header's "__metadata__"
};

/// Reads a whole file into CPU tensors. Throws Error naming the file and the problem
/// when it cannot be read or breaks the format in any way: a header longer than the
/// file or than 100 MB, invalid JSON, an unsupported dtype, more than 4 dimensions,
/// offsets that disagree with the shape, leave the file, overlap or leave holes, or
/// bytes after the last tensor. Keys of a tensor entry other than the three above are
/// ignored, as the reference implementation does.
SafetensorsFile load_safetensors(const std::string& path);

/// Writes tensors (copied to the host first where they live on a GPU) and metadata,
/// byte for byte as the reference implementation does: the tensors' data packed
/// widest dtype first (I64, F64, F32, I32, U8) and by name within a dtype; the header
/// lists "__metadata__" first when not empty, then the tensors in data order, and is
/// padded with spaces to a multiple of 8 bytes. The file is replaced atomically:
/// written to a temporary file in the same directory, synced, renamed over path, and
/// the directory synced. On any failure the temporary file is removed, path is left
/// as it was, and Error is thrown.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace minidl
