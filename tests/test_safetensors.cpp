// Specification of minidl's safetensors reader and writer: round trips, the exact
// byte layout, atomic replacement, and one error message per way a file can be broken.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "minidl/core/safetensors.h"
#include "gradcheck.h"
#include "special_files.h"
#include "test_support.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system's temporary directory, removed with everything in it.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / fmt::format("minidl-test-safetensors-{}-{}", ::getpid(), counter++);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Names of everything in the directory.
  std::set<std::string> entries() const {
    std::set<std::string> names;
    for (const fs::directory_entry& entry : fs::directory_iterator(path_)) names.insert(entry.path().filename());
    return names;
  }

 private:
  fs::path path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// The 8-byte little-endian length field.
std::string length_field(std::uint64_t length) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return bytes;
}

// A file made by hand: length field, header as given, then `data_bytes` zero bytes.
std::string handmade_file(const std::string& header, std::size_t data_bytes) {
  return length_field(header.size()) + header + std::string(data_bytes, '\0');
}

// Writes a handmade file and returns its path.
std::string write_handmade(const TemporaryDirectory& dir, const std::string& header, std::size_t data_bytes) {
  std::string path = dir.file("handmade.safetensors");
  write_bytes(path, handmade_file(header, data_bytes));
  return path;
}

template <typename T>
void require_same_values(const Tensor& actual, const Tensor& expected) {
  REQUIRE(actual.dtype() == expected.dtype());
  REQUIRE(actual.shape() == expected.shape());
  REQUIRE(actual.device() == Device::cpu());
  REQUIRE(actual.to_vector<T>() == expected.to_vector<T>());
}

}  // namespace

TEST_CASE("every dtype survives a save and load round trip") {
  TemporaryDirectory dir;
  Generator generator(7);
  Tensor f32 = testing::random_tensor({2, 3, 4, 5}, generator, DType::f32);
  Tensor f64 = testing::random_tensor({3, 7}, generator, DType::f64, -1e300, 1e300);
  Tensor u8 = Tensor::from_vector<std::uint8_t>({4}, {0, 1, 128, 255});
  Tensor i32 = Tensor::from_vector<std::int32_t>({2, 2}, {INT32_MIN, -1, 0, INT32_MAX});
  Tensor i64 = Tensor::from_vector<std::int64_t>({3}, {INT64_MIN, 42, INT64_MAX});
  Tensor scalar = Tensor::from_vector<float>({}, {3.5f});
  Tensor no_elements = Tensor::zeros({0, 3}, DType::f32);
  std::string path = dir.file("all.safetensors");
  save_safetensors(path, {{"f32", f32}, {"f64", f64}, {"u8", u8}, {"i32", i32}, {"i64", i64}, {"scalar", scalar},
                          {"no_elements", no_elements}});

  SafetensorsFile file = load_safetensors(path);
  REQUIRE(file.tensors.size() == 7);
  REQUIRE(file.metadata.empty());
  require_same_values<float>(file.tensors.at("f32"), f32);
  require_same_values<double>(file.tensors.at("f64"), f64);
  require_same_values<std::uint8_t>(file.tensors.at("u8"), u8);
  require_same_values<std::int32_t>(file.tensors.at("i32"), i32);
  require_same_values<std::int64_t>(file.tensors.at("i64"), i64);
  require_same_values<float>(file.tensors.at("scalar"), scalar);
  require_same_values<float>(file.tensors.at("no_elements"), no_elements);
}

TEST_CASE("metadata survives a save and load round trip") {
  TemporaryDirectory dir;
  std::string path = dir.file("meta.safetensors");
  std::map<std::string, std::string> metadata{{"format", "pt"}, {"note", "quotes \" and\nnewlines and ünïcode"}, {"empty", ""}};
  save_safetensors(path, {{"w", Tensor::zeros({2})}}, metadata);
  REQUIRE(load_safetensors(path).metadata == metadata);
}

TEST_CASE("a file without tensors holds only its header") {
  TemporaryDirectory dir;
  std::string path = dir.file("empty.safetensors");
  save_safetensors(path, {});
  REQUIRE(read_bytes(path) == length_field(8) + "{}      ");
  SafetensorsFile file = load_safetensors(path);
  REQUIRE(file.tensors.empty());
  REQUIRE(file.metadata.empty());
}

TEST_CASE("a tiny file has the byte layout of the reference implementation") {
  TemporaryDirectory dir;
  std::string path = dir.file("tiny.safetensors");
  save_safetensors(path,
                   {{"b", Tensor::from_vector<float>({2}, {1.0f, -2.0f})},
                    {"a", Tensor::from_vector<std::uint8_t>({1, 3}, {1, 2, 3})}},
                   {{"format", "pt"}});

  // The bytes Python's safetensors.numpy.save writes for the same arrays: metadata
  // first, F32 before U8, compact JSON padded with spaces to a multiple of 8.
  std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"U8","shape":[1,3],"data_offsets":[8,11]}})"
      "    ";
  REQUIRE(header.size() == 144);
  std::string data = std::string("\x00\x00\x80\x3f", 4)  // b[0] = 1.0f, little-endian
                     + std::string("\x00\x00\x00\xc0", 4)  // b[1] = -2.0f
                     + std::string("\x01\x02\x03", 3);    // a
  std::string expected = length_field(144) + header + data;
  REQUIRE(read_bytes(path) == expected);
}

TEST_CASE("tensors are written widest dtype first and by name within a dtype") {
  TemporaryDirectory dir;
  std::string path = dir.file("order.safetensors");
  save_safetensors(path, {{"a_u8", Tensor::zeros({1}, DType::u8)},
                          {"b_i32", Tensor::zeros({1}, DType::i32)},
                          {"c_f32", Tensor::zeros({1}, DType::f32)},
                          {"d_f64", Tensor::zeros({1}, DType::f64)},
                          {"e_i64", Tensor::zeros({1}, DType::i64)},
                          {"f_f64", Tensor::zeros({2}, DType::f64)},
                          {"g_u8", Tensor::zeros({3}, DType::u8)}});
  // The header Python's safetensors.numpy.save writes for the same arrays.
  std::string header =
      R"({"e_i64":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
      R"("d_f64":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},)"
      R"("f_f64":{"dtype":"F64","shape":[2],"data_offsets":[16,32]},)"
      R"("c_f32":{"dtype":"F32","shape":[1],"data_offsets":[32,36]},)"
      R"("b_i32":{"dtype":"I32","shape":[1],"data_offsets":[36,40]},)"
      R"("a_u8":{"dtype":"U8","shape":[1],"data_offsets":[40,41]},)"
      R"("g_u8":{"dtype":"U8","shape":[3],"data_offsets":[41,44]}} )";
  REQUIRE(read_bytes(path) == length_field(header.size()) + header + std::string(44, '\0'));
}

TEST_CASE("saving replaces an existing file and leaves no temporary file behind") {
  TemporaryDirectory dir;
  std::string path = dir.file("model.safetensors");
  save_safetensors(path, {{"w", Tensor::full({3}, 1.0)}});
  save_safetensors(path, {{"w", Tensor::full({3}, 2.0)}});
  REQUIRE(dir.entries() == std::set<std::string>{"model.safetensors"});
  REQUIRE(load_safetensors(path).tensors.at("w").to_vector<float>() == std::vector<float>{2.0f, 2.0f, 2.0f});
}

TEST_CASE("a failed save removes its temporary file and leaves the destination as it was") {
  TemporaryDirectory dir;
  std::string path = dir.file("model.safetensors");
  save_safetensors(path, {{"w", Tensor::full({3}, 1.0)}});
  std::string before = read_bytes(path);

  REQUIRE_THROWS_MINIDL(save_safetensors(path, {{"w", Tensor()}}), "tensor \"w\" is undefined");
  REQUIRE_THROWS_MINIDL(save_safetensors(path, {{"__metadata__", Tensor::zeros({1})}}),
                        "\"__metadata__\" is reserved");
  REQUIRE_THROWS_MINIDL(save_safetensors(path, {{"bad \xff name", Tensor::zeros({1})}}), "cannot encode the header");
  REQUIRE(read_bytes(path) == before);

  // A directory in the way: the data is written, then the rename fails.
  fs::create_directory(dir.file("taken.safetensors"));
  REQUIRE_THROWS_MINIDL(save_safetensors(dir.file("taken.safetensors"), {{"w", Tensor::zeros({1})}}),
                        "cannot rename");
  REQUIRE(fs::is_directory(dir.file("taken.safetensors")));
  REQUIRE(dir.entries() == std::set<std::string>{"model.safetensors", "taken.safetensors"});

  REQUIRE_THROWS_MINIDL(save_safetensors(dir.file("missing/model.safetensors"), {}),
                        "cannot create the temporary file");
}

TEST_CASE("tensors on a cuda device are saved from a host copy") {
  if (testing::skip_unless_cuda()) return;
  TemporaryDirectory dir;
  std::string path = dir.file("cuda.safetensors");
  Tensor values = Tensor::from_vector<float>({2, 2}, {1.0f, 2.0f, 3.0f, 4.0f});
  save_safetensors(path, {{"w", values.to(Device::cuda())}});
  require_same_values<float>(load_safetensors(path).tensors.at("w"), values);
}

TEST_CASE("loading names the file that is missing or too short for a header length") {
  TemporaryDirectory dir;
  REQUIRE_THROWS_MINIDL(load_safetensors(dir.file("absent.safetensors")),
                        dir.file("absent.safetensors") + ": cannot open: No such file or directory");
  fs::create_directory(dir.file("folder"));
  REQUIRE_THROWS_MINIDL(load_safetensors(dir.file("folder")), "folder: a directory, not a regular file");
  std::string path = dir.file("short.safetensors");
  write_bytes(path, std::string("\x10\x00\x00", 3));
  REQUIRE_THROWS_MINIDL(load_safetensors(path), "the file is 3 bytes long, too short for the 8-byte header length");
}

TEST_CASE("loading rejects a header length beyond the limit or the file") {
  TemporaryDirectory dir;
  std::string path = dir.file("length.safetensors");
  write_bytes(path, length_field(100'000'001) + "{}");
  REQUIRE_THROWS_MINIDL(load_safetensors(path), "header length 100000001 exceeds the limit of 100000000 bytes");
  write_bytes(path, length_field(11) + "{}      ");
  REQUIRE_THROWS_MINIDL(load_safetensors(path), "header length 11 exceeds the file size 16");
}

TEST_CASE("loading rejects a header that is not a json object of objects") {
  TemporaryDirectory dir;
  REQUIRE_THROWS_MINIDL(load_safetensors(write_handmade(dir, R"({"a": )", 0)), "the header is not valid JSON");
  REQUIRE_THROWS_MINIDL(load_safetensors(write_handmade(dir, "[1, 2]", 0)), "the header is not a JSON object");
  REQUIRE_THROWS_MINIDL(load_safetensors(write_handmade(dir, R"({"a": [1]})", 0)),
                        "tensor \"a\" is not a JSON object");
  REQUIRE_THROWS_MINIDL(load_safetensors(write_handmade(dir, R"({"__metadata__": []})", 0)),
                        "\"__metadata__\" is not a JSON object");
  REQUIRE_THROWS_MINIDL(load_safetensors(write_handmade(dir, R"({"__metadata__": {"epoch": 3}})", 0)),
                        "metadata \"epoch\" is not a string: 3");
  REQUIRE_THROWS_MINIDL(load_safetensors(write_handmade(dir, R"({"a": {"shape": [1], "data_offsets": [0, 4]}})", 4)),
                        "tensor \"a\" has no \"dtype\"");
}

// Found by fuzz/fuzz_safetensors: nlohmann-json reports such a number as out_of_range,
// not as a parse_error, and the reader let that exception escape.
TEST_CASE("loading rejects a number too large for a double as invalid json") {
  TemporaryDirectory dir;
  REQUIRE_THROWS_MINIDL(load_safetensors(write_handmade(dir, R"({"a": 1e400})", 0)),
                        "the header is not valid JSON: [json.exception.out_of_range.406] number overflow parsing "
                        "'1e400'");
}

TEST_CASE("loading rejects an unsupported dtype and an unsupported shape") {
  TemporaryDirectory dir;
  REQUIRE_THROWS_MINIDL(
      load_safetensors(write_handmade(dir, R"({"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}})", 4)),
      "tensor \"a\" has unsupported dtype F16 (minidl reads F32, F64, U8, I32, I64)");
  REQUIRE_THROWS_MINIDL(
      load_safetensors(
          write_handmade(dir, R"({"a": {"dtype": "U8", "shape": [1, 1, 1, 1, 2], "data_offsets": [0, 2]}})", 2)),
      "tensor \"a\" has 5 dimensions, minidl supports at most 4");
  REQUIRE_THROWS_MINIDL(
      load_safetensors(write_handmade(dir, R"({"a": {"dtype": "U8", "shape": [2, -1], "data_offsets": [0, 2]}})", 2)),
      "tensor \"a\" has shape [2,-1]: sizes must be non-negative integers");
  REQUIRE_THROWS_MINIDL(
      load_safetensors(write_handmade(dir, R"({"a": {"dtype": "U8", "shape": [2.5], "data_offsets": [0, 2]}})", 2)),
      "sizes must be non-negative integers");
  REQUIRE_THROWS_MINIDL(
      load_safetensors(write_handmade(
          dir, R"({"a": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})", 8)),
      "too large to address");
}

TEST_CASE("loading rejects offsets that disagree with the shape or leave the file") {
  TemporaryDirectory dir;
  REQUIRE_THROWS_MINIDL(
      load_safetensors(write_handmade(dir, R"({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 12]}})", 12)),
      "tensor \"a\" has data_offsets [0, 12] (12 bytes), but F32 (2, 3) needs 24 bytes");
  REQUIRE_THROWS_MINIDL(
      load_safetensors(write_handmade(dir, R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [2, 0]}})", 2)),
      "expected [begin, end] with 0 <= begin <= end");
  REQUIRE_THROWS_MINIDL(
      load_safetensors(write_handmade(dir, R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0]}})", 2)),
      "expected [begin, end]");
  REQUIRE_THROWS_MINIDL(
      load_safetensors(write_handmade(dir, R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})", 3)),
      "tensor \"a\" has data_offsets [0, 4] beyond the 3 bytes of data");
}

TEST_CASE("loading rejects tensors that overlap or leave holes or trailing bytes") {
  TemporaryDirectory dir;
  REQUIRE_THROWS_MINIDL(load_safetensors(write_handmade(dir,
                                                        R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                                                        R"( "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}})",
                                                        6)),
                        "tensors \"a\" and \"b\" overlap: [0, 4) and [2, 6)");
  REQUIRE_THROWS_MINIDL(load_safetensors(write_handmade(dir,
                                                        R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                                                        R"( "b": {"dtype": "U8", "shape": [2], "data_offsets": [5, 7]}})",
                                                        7)),
                        "data bytes [4, 5) before tensor \"b\" belong to no tensor");
  REQUIRE_THROWS_MINIDL(
      load_safetensors(write_handmade(dir, R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}})", 4)),
      "data bytes [0, 2) before tensor \"a\" belong to no tensor");
  REQUIRE_THROWS_MINIDL(
      load_safetensors(write_handmade(dir, R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}})", 5)),
      "trailing data bytes [2, 5) after the last tensor");
}

TEST_CASE("loading reads a handmade file that keeps to the format") {
  TemporaryDirectory dir;
  // Data in another order than the keys, a zero-size tensor, an extra key, and no padding.
  std::string header = R"({"b": {"dtype": "I32", "shape": [1], "data_offsets": [0, 4]},)"
                       R"( "a": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6], "extra": 1},)"
                       R"( "z": {"dtype": "F64", "shape": [0, 2], "data_offsets": [6, 6]}})";
  std::string path = dir.file("handmade.safetensors");
  write_bytes(path, length_field(header.size()) + header + std::string("\x07\x00\x00\x00\x05\x09", 6));
  SafetensorsFile file = load_safetensors(path);
  REQUIRE(file.tensors.at("b").to_vector<std::int32_t>() == std::vector<std::int32_t>{7});
  REQUIRE(file.tensors.at("a").to_vector<std::uint8_t>() == std::vector<std::uint8_t>{5, 9});
  REQUIRE(file.tensors.at("z").shape() == Shape{0, 2});
}

TEST_CASE("loading refuses a FIFO or socket or directory or device at once naming its kind") {
  TemporaryDirectory dir;
  const std::string path = dir.file("special.safetensors");
  for (const std::string& kind : testing::kSpecialFileKinds) {
    INFO(kind);
    testing::make_special_file(kind, path);
    testing::FifoUnblocker unblocker(path);  // a plain open of the FIFO would wait for a writer forever
    REQUIRE_THROWS_MINIDL(load_safetensors(path), "safetensors: " + path + ": " + kind + ", not a regular file");
    REQUIRE_FALSE(unblocker.blocked());
  }
}
