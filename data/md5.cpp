#include "minidl/data/md5.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "minidl/core/error.h"
#include "minidl/core/regular_file.h"

namespace minidl::data {

namespace {

// kSine[i] = floor(|sin(i + 1)| * 2^32), i in radians (RFC 1321, section 3.4).
constexpr std::uint32_t kSine[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};

// Left-rotation of step i; each of the four rounds (16 steps) cycles through its four amounts.
constexpr int kRotation[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

std::uint32_t load_little_endian(const std::uint8_t* bytes) {
  return static_cast<std::uint32_t>(bytes[0]) | static_cast<std::uint32_t>(bytes[1]) << 8 |
         static_cast<std::uint32_t>(bytes[2]) << 16 | static_cast<std::uint32_t>(bytes[3]) << 24;
}

}  // namespace

// Four rounds of 16 steps over the block's sixteen little-endian words x[0..15]. Step i
// mixes one word x[g] through the round's function f of (b, c, d):
//   round 0: f = (b & c) | (~b & d)   g = i
//   round 1: f = (d & b) | (~d & c)   g = (5i + 1) mod 16
//   round 2: f = b ^ c ^ d            g = (3i + 5) mod 16
//   round 3: f = c ^ (b | ~d)         g = 7i mod 16
// then (a, b, c, d) = (d, b + rotl(a + f + kSine[i] + x[g], s), b, c), and the result is
// added to the state.
void Md5::process_block(const std::uint8_t* block) {
  std::uint32_t x[16];
  for (int k = 0; k < 16; ++k) x[k] = load_little_endian(block + 4 * k);
  std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  for (int i = 0; i < 64; ++i) {
    int round = i / 16;
    std::uint32_t f;
    int g;
    switch (round) {
      case 0: f = (b & c) | (~b & d); g = i; break;
      case 1: f = (d & b) | (~d & c); g = (5 * i + 1) % 16; break;
      case 2: f = b ^ c ^ d; g = (3 * i + 5) % 16; break;
      default: f = c ^ (b | ~d); g = (7 * i) % 16; break;
    }
    std::uint32_t rotated = std::rotl(a + f + kSine[i] + x[g], kRotation[round][i % 4]);
    a = d;
    d = c;
    c = b;
    b = b + rotated;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
}

void Md5::update(const void* bytes, std::size_t count) {
  const auto* input = static_cast<const std::uint8_t*>(bytes);
  message_bytes_ += count;
  while (count > 0) {
    std::size_t taken = std::min(count, pending_.size() - pending_count_);
    std::memcpy(pending_.data() + pending_count_, input, taken);
    pending_count_ += taken;
    input += taken;
    count -= taken;
    if (pending_count_ == pending_.size()) {
      process_block(pending_.data());
      pending_count_ = 0;
    }
  }
}

// Padding: one 1 bit, zeros up to 56 bytes into a block, then the message length in
// bits as a little-endian 64-bit number; the digest is the state, little-endian.
std::string Md5::hex_digest() {
  std::uint64_t message_bits = message_bytes_ * 8;
  const std::uint8_t one_bit = 0x80, zero = 0;
  update(&one_bit, 1);
  while (pending_count_ != 56) update(&zero, 1);
  std::uint8_t length[8];
  for (int k = 0; k < 8; ++k) length[k] = static_cast<std::uint8_t>(message_bits >> (8 * k));
  update(length, 8);

  std::string hex;
  for (std::uint32_t word : state_)
    for (int k = 0; k < 4; ++k) hex += fmt::format("{:02x}", (word >> (8 * k)) & 0xffu);
  return hex;
}

std::string md5_hex(std::string_view message) {
  Md5 md5;
  md5.update(message.data(), message.size());
  return md5.hex_digest();
}

std::string md5_hex_of_file(const std::string& path) {
  const RegularFile file(path, "md5");
  Md5 md5;
  std::vector<std::uint8_t> chunk(1 << 20);
  std::uint64_t offset = 0;
  while (std::size_t count = file.read_some_at(chunk.data(), chunk.size(), offset)) {
    md5.update(chunk.data(), count);
    offset += count;
  }
  return md5.hex_digest();
}

}  // namespace minidl::data
