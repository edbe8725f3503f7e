// Checks that the safetensors reader (core/safetensors.h, load_safetensors) either
// returns tensors or throws minidl::Error, whatever the file holds: it never crashes,
// leaks or reads out of bounds (under AddressSanitizer and UBSan). A file it accepts
// must also save and load again to the same tensors and metadata.
//
// An input is the whole file.
#include <cstdint>
#include <cstring>
#include <map>
#include <string>

#include "minidl/core/error.h"
#include "minidl/core/safetensors.h"
#include "fuzz_support.h"

using namespace minidl;

namespace {

bool same_tensors(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (auto a_it = a.begin(), b_it = b.begin(); a_it != a.end(); ++a_it, ++b_it) {
    const Tensor& x = a_it->second;
    const Tensor& y = b_it->second;
    if (a_it->first != b_it->first || x.dtype() != y.dtype() || x.shape() != y.shape()) return false;
    if (x.nbytes() > 0 && std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()) != 0) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path input_path = fuzzing::scratch_dir() / "input.safetensors";
  fuzzing::write_file(input_path, data, size);

  SafetensorsFile loaded;
  try {
    loaded = load_safetensors(input_path.string());
  } catch (const Error&) {
    return 0;  // a clear refusal is a valid answer
  }

  const std::string saved_path = (fuzzing::scratch_dir() / "saved.safetensors").string();
  save_safetensors(saved_path, loaded.tensors, loaded.metadata);
  SafetensorsFile reloaded = load_safetensors(saved_path);
  fuzzing::require(same_tensors(loaded.tensors, reloaded.tensors), "saved tensors load again unchanged");
  fuzzing::require(loaded.metadata == reloaded.metadata, "saved metadata loads again unchanged");
  return 0;
}
