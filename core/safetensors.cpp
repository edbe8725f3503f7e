#include "minidl/core/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "minidl/core/atomic_file.h"
#include "minidl/core/regular_file.h"

// Tensor bytes are copied between memory and file unchanged.
static_assert(std::endian::native == std::endian::little, "safetensors stores little-endian data");

namespace minidl {

namespace {

// The reference implementation refuses larger headers, so a corrupt length
// cannot make a reader allocate gigabytes.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr std::size_t kLengthBytes = 8;
constexpr const char* kMetadataKey = "__metadata__";

struct DTypeCode {
  DType dtype;
  const char* code;
};
// In the order the reference implementation writes tensors of these dtypes
// (widest first, so every tensor's data stays aligned to its element size).
constexpr DTypeCode kDTypeCodes[] = {
    {DType::i64, "I64"}, {DType::f64, "F64"}, {DType::f32, "F32"}, {DType::i32, "I32"}, {DType::u8, "U8"}};

// Position of dtype in kDTypeCodes.
std::size_t dtype_rank(DType dtype) {
  for (std::size_t i = 0; i < std::size(kDTypeCodes); ++i)
    if (kDTypeCodes[i].dtype == dtype) return i;
  fail("safetensors: dtype {} has no code", dtype_name(dtype));
}

// One tensor as the header describes it, checked on its own.
struct HeaderEntry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin;  // byte offsets into the data, [begin, end)
  std::uint64_t end;
};

const nlohmann::json& required_field(const nlohmann::json& entry, const char* key, const std::string& name,
                                     const std::string& path) {
  auto it = entry.find(key);
  if (it == entry.end()) fail("safetensors: {}: tensor \"{}\" has no \"{}\"", path, name, key);
  return *it;
}

// A JSON value that must be a non-negative integer that fits in int64.
bool is_size(const nlohmann::json& value) {
  return value.is_number_unsigned() &&
         value.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
}

HeaderEntry parse_entry(const std::string& name, const nlohmann::json& entry, std::uint64_t data_bytes,
                        const std::string& path) {
  if (!entry.is_object()) fail("safetensors: {}: tensor \"{}\" is not a JSON object", path, name);

  const nlohmann::json& dtype_json = required_field(entry, "dtype", name, path);
  std::string code = dtype_json.is_string() ? dtype_json.get<std::string>() : dtype_json.dump();
  const DTypeCode* known = std::find_if(std::begin(kDTypeCodes), std::end(kDTypeCodes),
                                        [&](const DTypeCode& c) { return code == c.code; });
  if (known == std::end(kDTypeCodes))
    fail("safetensors: {}: tensor \"{}\" has unsupported dtype {} (minidl reads F32, F64, U8, I32, I64)", path,
         name, code);

  const nlohmann::json& shape_json = required_field(entry, "shape", name, path);
  if (!shape_json.is_array() || !std::all_of(shape_json.begin(), shape_json.end(), is_size))
    fail("safetensors: {}: tensor \"{}\" has shape {}: sizes must be non-negative integers", path, name,
         shape_json.dump());
  if (shape_json.size() > static_cast<std::size_t>(Shape::kMaxDims))
    fail("safetensors: {}: tensor \"{}\" has {} dimensions, minidl supports at most {}", path, name,
         shape_json.size(), Shape::kMaxDims);
  std::int64_t sizes[Shape::kMaxDims];
  std::uint64_t expected_bytes = dtype_size(known->dtype);
  for (std::size_t d = 0; d < shape_json.size(); ++d) {
    sizes[d] = shape_json[d].get<std::int64_t>();
    if (__builtin_mul_overflow(expected_bytes, static_cast<std::uint64_t>(sizes[d]), &expected_bytes))
      fail("safetensors: {}: tensor \"{}\" has shape {}, too large to address", path, name, shape_json.dump());
  }
  Shape shape(sizes, static_cast<int>(shape_json.size()));

  const nlohmann::json& offsets_json = required_field(entry, "data_offsets", name, path);
  if (!offsets_json.is_array() || offsets_json.size() != 2 || !is_size(offsets_json[0]) ||
      !is_size(offsets_json[1]) || offsets_json[0].get<std::uint64_t>() > offsets_json[1].get<std::uint64_t>())
    fail("safetensors: {}: tensor \"{}\" has data_offsets {}: expected [begin, end] with 0 <= begin <= end", path,
         name, offsets_json.dump());
  std::uint64_t begin = offsets_json[0].get<std::uint64_t>();
  std::uint64_t end = offsets_json[1].get<std::uint64_t>();
  if (end - begin != expected_bytes)
    fail("safetensors: {}: tensor \"{}\" has data_offsets [{}, {}] ({} bytes), but {} {} needs {} bytes", path, name,
         begin, end, end - begin, code, shape.str(), expected_bytes);
  if (end > data_bytes)
    fail("safetensors: {}: tensor \"{}\" has data_offsets [{}, {}] beyond the {} bytes of data: the file is "
         "truncated or its header is wrong",
         path, name, begin, end, data_bytes);
  return {name, known->dtype, shape, begin, end};
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& metadata, const std::string& path) {
  if (!metadata.is_object()) fail("safetensors: {}: \"{}\" is not a JSON object", path, kMetadataKey);
  std::map<std::string, std::string> result;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) fail("safetensors: {}: metadata \"{}\" is not a string: {}", path, key, value.dump());
    result[key] = value.get<std::string>();
  }
  return result;
}

// The tensors must tile the data exactly: sorted by offset, each begins where
// the previous one ends, the first at 0, and the last ends at the end of the file.
void check_layout(std::vector<HeaderEntry>& entries, std::uint64_t data_bytes, const std::string& path) {
  std::sort(entries.begin(), entries.end(),
            [](const HeaderEntry& a, const HeaderEntry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  std::uint64_t covered = 0;
  const HeaderEntry* previous = nullptr;
  for (const HeaderEntry& entry : entries) {
    if (entry.begin < covered)
      fail("safetensors: {}: tensors \"{}\" and \"{}\" overlap: [{}, {}) and [{}, {})", path, previous->name,
           entry.name, previous->begin, previous->end, entry.begin, entry.end);
    if (entry.begin > covered)
      fail("safetensors: {}: data bytes [{}, {}) before tensor \"{}\" belong to no tensor", path, covered, entry.begin,
           entry.name);
    covered = entry.end;
    previous = &entry;
  }
  if (covered != data_bytes)
    fail("safetensors: {}: trailing data bytes [{}, {}) after the last tensor", path, covered, data_bytes);
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  const RegularFile input(path, "safetensors");
  const std::uint64_t file_bytes = input.size();
  if (file_bytes < kLengthBytes) fail("safetensors: {}: the file is {} bytes long, too short for the 8-byte header length", path, file_bytes);

  std::uint64_t header_bytes = 0;
  input.read_at(&header_bytes, kLengthBytes, 0);
  if (header_bytes > kMaxHeaderBytes)
    fail("safetensors: {}: header length {} exceeds the limit of {} bytes", path, header_bytes, kMaxHeaderBytes);
  if (header_bytes > file_bytes - kLengthBytes)
    fail("safetensors: {}: header length {} exceeds the file size {}", path, header_bytes, file_bytes);
  std::string header_text(header_bytes, '\0');
  input.read_at(header_text.data(), header_bytes, kLengthBytes);

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text);
  } catch (const nlohmann::json::exception& error) {  // a syntax error, or a number too large for a double
    fail("safetensors: {}: the header is not valid JSON: {}", path, error.what());
  }
  if (!header.is_object()) fail("safetensors: {}: the header is not a JSON object", path);

  std::uint64_t data_start = kLengthBytes + header_bytes;
  std::uint64_t data_bytes = file_bytes - data_start;
  SafetensorsFile file;
  std::vector<HeaderEntry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      file.metadata = parse_metadata(value, path);
    } else {
      entries.push_back(parse_entry(key, value, data_bytes, path));
    }
  }
  check_layout(entries, data_bytes, path);

  for (const HeaderEntry& entry : entries) {
    Tensor tensor = Tensor::empty(entry.shape, entry.dtype);
    input.read_at(tensor.raw_data(), tensor.nbytes(), data_start + entry.begin);
    file.tensors.emplace(entry.name, std::move(tensor));
  }
  return file;
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Data order: by dtype as the reference writes it, then by name (std::map iterates sorted).
  std::vector<std::pair<std::string, Tensor>> ordered;
  for (const auto& [name, tensor] : tensors) {
    if (name == kMetadataKey) fail("safetensors: {}: \"{}\" is reserved and cannot name a tensor", path, name);
    if (!tensor.defined()) fail("safetensors: {}: tensor \"{}\" is undefined", path, name);
    ordered.emplace_back(name, tensor);
  }
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return dtype_rank(a.second.dtype()) < dtype_rank(b.second.dtype());
  });

  // ordered_json keeps insertion order: "__metadata__" first, then the tensors in
  // data order, each entry as dtype, shape, data_offsets.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::vector<Tensor> host_tensors;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : ordered) {
    std::vector<std::int64_t> shape(tensor.shape().begin(), tensor.shape().end());
    header[name] = {{"dtype", kDTypeCodes[dtype_rank(tensor.dtype())].code},
                    {"shape", shape},
                    {"data_offsets", {offset, offset + tensor.nbytes()}}};
    offset += tensor.nbytes();
    host_tensors.push_back(tensor.device().is_cpu() ? tensor : tensor.to(Device::cpu()));
  }
  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::exception& error) {  // a name or value that is not valid UTF-8
    fail("safetensors: {}: cannot encode the header: {}", path, error.what());
  }
  // Spaces pad the header so the data starts 8-byte aligned, as the reference writes it.
  header_text.append((kLengthBytes - header_text.size() % kLengthBytes) % kLengthBytes, ' ');
  std::uint64_t header_bytes = header_text.size();

  std::vector<std::string_view> pieces = {
      std::string_view(reinterpret_cast<const char*>(&header_bytes), kLengthBytes), header_text};
  for (const Tensor& tensor : host_tensors)
    pieces.emplace_back(static_cast<const char*>(tensor.raw_data()), tensor.nbytes());
  write_file_atomically(path, pieces, "safetensors");
}

}  // namespace minidl
