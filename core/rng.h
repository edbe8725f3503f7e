/// \file
/// Generator: a seeded source of random numbers for initialisation, shuffling
/// and data augmentation, built on Philox4x32-10 (core/philox.h).
///
/// The state is two integers: the seed (the Philox key) and the offset (the
/// next unused 128-bit block). A fill of n values draws from blocks
/// [offset, offset + blocks_needed) and then advances the offset, whichever
/// device runs it, so CPU and CUDA produce the same random bits for one seed.
#pragma once

#include <cstdint>

namespace minidl {

/// A seeded random stream whose whole state is (seed, offset); see the top of this file.
class Generator {
 public:
  /// The stream of seed, from its first block.
  explicit Generator(std::uint64_t seed = 0) : seed_(seed) {}

  /// The seed: the Philox key.
  std::uint64_t seed() const { return seed_; }
  /// The next unused 128-bit block of the stream.
  std::uint64_t offset() const { return offset_; }
  /// Restores a saved state (for resumable training).
  void set_state(std::uint64_t seed, std::uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }

  /// Reserves `words` 32-bit words of the stream and returns the block offset
  /// they start at; the caller computes word i as philox_word(seed(), start, i).
  std::uint64_t reserve(std::uint64_t words) {
    std::uint64_t start = offset_;
    offset_ += (words + 3) / 4;
    return start;
  }

  /// One 32-bit random word (uses a whole block, like any draw).
  std::uint32_t next_u32();
  /// A uniform integer in [0, bound), bound > 0, without modulo bias.
  std::uint64_t next_below(std::uint64_t bound);

 private:
  std::uint64_t seed_;
  std::uint64_t offset_ = 0;
};

}  // namespace minidl
