/// \file
/// MD5 (RFC 1321): the checksum the CIFAR-10 archive is published with.
///
/// Not for security (MD5 is broken for that), only to tell a complete download
/// from a truncated or corrupt one. Written out here, in about a hundred lines,
/// so that verifying a download needs no tool beyond curl and tar.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace minidl::data {

/// Incremental MD5: update() with the message in pieces of any size, then hex_digest().
class Md5 {
 public:
  /// Adds count bytes to the message.
  void update(const void* bytes, std::size_t count);
  /// The 32 lower-case hex digits of the digest. Ends the message: call once.
  std::string hex_digest();

 private:
  // Mixes one 64-byte block into state_.
  void process_block(const std::uint8_t* block);

  std::array<std::uint32_t, 4> state_ = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
  std::array<std::uint8_t, 64> pending_{};  // bytes of a block not yet complete
  std::size_t pending_count_ = 0;
  std::uint64_t message_bytes_ = 0;
};

/// MD5 of a string, as 32 hex digits.
std::string md5_hex(std::string_view message);
/// MD5 of a file's contents, as 32 hex digits; throws Error naming the file when it cannot be read.
std::string md5_hex_of_file(const std::string& path);

}  // namespace minidl::data
