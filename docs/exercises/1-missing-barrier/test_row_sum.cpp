// Exercise 1 (README.md): the row sums against sums on the host. Under ThreadSanitizer
// (the tsan flavour) a missing barrier is a data race: TSan reports it and the test
// binary exits with status 66, so the test fails even when the sums come out right.
#include <cstdint>
#include <vector>

#include "gradcheck.h"
#include "minidl/core/tensor.h"
#include "row_sum.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::testing;

// doc:test-row-sum
TEST_CASE("row_sums on cuda gives each row's sum") {
  if (skip_unless_cuda()) return;
  // Small integers: every partial sum is exact in float, so any order of the additions
  // gives the same bits and the sums must be equal.
  for (int cols : {1, 256, 1000}) {
    INFO("3 rows of " << cols << " columns");
    const int rows = 3;
    std::vector<float> values(static_cast<std::size_t>(rows) * cols);
    std::vector<float> expected(rows, 0.0f);
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        float value = static_cast<float>((r * 7 + c * 13) % 5);
        values[static_cast<std::size_t>(r) * cols + c] = value;
        expected[r] += value;
      }
    }
    Tensor matrix = Tensor::from_vector<float>({rows, cols}, values).to(Device::cuda());
    Tensor sums = Tensor::zeros({rows}, DType::f32, Device::cuda());
    exercises::cuda::row_sums(matrix.data<float>(), sums.data<float>(), rows, cols);
    REQUIRE(sums.to(Device::cpu()).to_vector<float>() == expected);
  }
}
