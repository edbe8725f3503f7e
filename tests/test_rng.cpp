// Specification of the Philox4x32-10 generator.
#include "minidl/core/philox.h"
#include "minidl/core/rng.h"
#include "test_support.h"

using namespace minidl;

// Known-answer vectors from Random123's kat_vectors (philox4x32_10).
TEST_CASE("philox4x32_10 reproduces the Random123 known-answer vectors") {
  PhiloxBlock zero = philox4x32_10({{0, 0, 0, 0}}, 0, 0);
  REQUIRE(zero.word[0] == 0x6627e8d5u);
  REQUIRE(zero.word[1] == 0xe169c58du);
  REQUIRE(zero.word[2] == 0xbc57ac4cu);
  REQUIRE(zero.word[3] == 0x9b00dbd8u);

  PhiloxBlock ones = philox4x32_10({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu);
  REQUIRE(ones.word[0] == 0x408f276du);
  REQUIRE(ones.word[1] == 0x41c83b0eu);
  REQUIRE(ones.word[2] == 0xa20bc7c6u);
  REQUIRE(ones.word[3] == 0x6d5451fdu);

  PhiloxBlock pi = philox4x32_10({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u);
  REQUIRE(pi.word[0] == 0xd16cfe09u);
  REQUIRE(pi.word[1] == 0x94fdccebu);
  REQUIRE(pi.word[2] == 0x5001e420u);
  REQUIRE(pi.word[3] == 0x24126ea1u);
}

TEST_CASE("a generator hands out consecutive blocks and can be restored") {
  Generator generator(99);
  REQUIRE(generator.reserve(5) == 0);  // 5 words take 2 blocks
  REQUIRE(generator.offset() == 2);
  std::uint32_t a = generator.next_u32();
  Generator restored;
  restored.set_state(99, 2);
  REQUIRE(restored.next_u32() == a);
}

TEST_CASE("next_below covers its range uniformly") {
  Generator generator(5);
  int counts[10] = {};
  for (int i = 0; i < 20000; ++i) counts[generator.next_below(10)]++;
  for (int count : counts) REQUIRE(count == Approx(2000).margin(200));
  REQUIRE_THROWS_MINIDL(generator.next_below(0), "bound must be positive");
}
