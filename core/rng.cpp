#include "minidl/core/rng.h"

#include "minidl/core/error.h"
#include "minidl/core/philox.h"

namespace minidl {

std::uint32_t Generator::next_u32() { return philox_word(seed_, reserve(1), 0); }

// Rejection sampling on 64 bits: draw until the value falls below the largest
// multiple of bound, then reduce modulo bound.
std::uint64_t Generator::next_below(std::uint64_t bound) {
  if (bound == 0) fail("Generator::next_below: bound must be positive");
  std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  while (true) {
    std::uint64_t start = reserve(2);
    std::uint64_t value = (static_cast<std::uint64_t>(philox_word(seed_, start, 0)) << 32) | philox_word(seed_, start, 1);
    if (value < limit) return value % bound;
  }
}

}  // namespace minidl
