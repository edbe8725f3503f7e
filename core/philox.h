/// \file
/// Philox4x32-10: the counter-based random number generator of Salmon et al.,
/// "Parallel Random Numbers: As Easy as 1, 2, 3" (SC 2011), as in cuRAND and PyTorch.
///
/// philox4x32_10(counter, key) maps a 128-bit counter and a 64-bit key to 128
/// random bits. No state is carried from one call to the next, so element i of
/// a random fill can be computed by any thread on any device: the CPU and the
/// CUDA code paths call this same function and draw identical bits for one seed.
#pragma once

#include <cstdint>

#include "minidl/core/host_device.h"

namespace minidl {

/// 128 bits: a Philox counter, or the random bits it maps to.
struct PhiloxBlock {
  std::uint32_t word[4];  ///< four 32-bit words
};

/// Ten rounds of: two 32x32->64-bit multiplies, xors with the key, a key bump.
MINIDL_HOST_DEVICE inline PhiloxBlock philox4x32_10(PhiloxBlock counter, std::uint32_t key0, std::uint32_t key1) {
  constexpr std::uint32_t kMultiplier0 = 0xD2511F53u, kMultiplier1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  std::uint32_t* x = counter.word;
  for (int round = 0; round < 10; ++round) {
    std::uint64_t product0 = static_cast<std::uint64_t>(kMultiplier0) * x[0];
    std::uint64_t product1 = static_cast<std::uint64_t>(kMultiplier1) * x[2];
    std::uint32_t hi0 = static_cast<std::uint32_t>(product0 >> 32), lo0 = static_cast<std::uint32_t>(product0);
    std::uint32_t hi1 = static_cast<std::uint32_t>(product1 >> 32), lo1 = static_cast<std::uint32_t>(product1);
    PhiloxBlock next = {{hi1 ^ x[1] ^ key0, lo1, hi0 ^ x[3] ^ key1, lo0}};
    counter = next;
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return counter;
}

/// Word `index` of the random stream of `seed` starting at block `offset`:
/// the stream is the concatenation of philox4x32_10(block, seed) for block = offset, offset+1, ...
MINIDL_HOST_DEVICE inline std::uint32_t philox_word(std::uint64_t seed, std::uint64_t offset, std::uint64_t index) {
  std::uint64_t block = offset + index / 4;
  PhiloxBlock counter = {{static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0u, 0u}};
  PhiloxBlock bits = philox4x32_10(counter, static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
  return bits.word[index % 4];
}

/// A float in [0, 1) from the top 24 bits of a word: every value is exact.
MINIDL_HOST_DEVICE inline float uniform01_float(std::uint32_t word) {
  return static_cast<float>(word >> 8) * (1.0f / 16777216.0f);
}

/// A double in [0, 1) from 53 bits of two words.
MINIDL_HOST_DEVICE inline double uniform01_double(std::uint32_t high_word, std::uint32_t low_word) {
  std::uint64_t bits = (static_cast<std::uint64_t>(high_word) << 21) ^ (low_word >> 11);
  return static_cast<double>(bits & ((std::uint64_t{1} << 53) - 1)) * (1.0 / 9007199254740992.0);
}

}  // namespace minidl
