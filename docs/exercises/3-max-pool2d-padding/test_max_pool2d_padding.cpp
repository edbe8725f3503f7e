// Exercise 3 (README.md): max pooling with padding against PyTorch's F.max_pool2d
// (fixtures/max_pool2d_padding.safetensors, written by make_fixtures.py in float64), and
// the padding PyTorch refuses.
#include <vector>

#include "exercise_fixture.h"
#include "gradcheck.h"
#include "max_pool2d_padding.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::testing;
using exercises::PaddedMaxPool2dParams;

// doc:test-max-pool2d-padding-pytorch
TEST_CASE("max_pool2d with padding matches pytorch on every case of its fixture") {
  exercises::Fixture fixture("max_pool2d_padding");
  for (int k = 0; k < fixture.num_cases(); ++k) {
    INFO("case " << k << ": " << fixture.description(k));
    PaddedMaxPool2dParams params{static_cast<int>(fixture.param(k, "kernel_size")),
                                 static_cast<int>(fixture.param(k, "stride")),
                                 static_cast<int>(fixture.param(k, "padding"))};
    const Tensor& input = fixture.tensor(k, "input");
    const Tensor& expected_output = fixture.tensor(k, "output");
    Tensor output = Tensor::zeros(expected_output.shape(), DType::f64);
    Tensor indices = Tensor::zeros(expected_output.shape(), DType::i32);
    exercises::padded_max_pool2d_forward(input, output, indices, params);
    // A maximum is one of the inputs, and an index an integer: both exactly PyTorch's.
    require_close(output, expected_output, 0.0, 0.0, "output");
    require_close(indices, fixture.tensor(k, "indices"), 0.0, 0.0, "indices");

    Tensor grad_input = Tensor::zeros(input.shape(), DType::f64);
    exercises::padded_max_pool2d_backward(fixture.tensor(k, "grad_output"), indices, grad_input, params);
    // Overlapping windows add gradients, perhaps in another order than PyTorch.
    require_close(grad_input, fixture.tensor(k, "grad_input"), 1e-12, 1e-12, "grad_input");
  }
}

TEST_CASE("max_pool2d with padding 1 keeps a 3x3 pooling's output the input's size") {
  exercises::PaddedMaxPool2dShape shape = exercises::padded_max_pool2d_shape({2, 3, 7, 5}, {3, 1, 1});
  REQUIRE(shape.out_height == 7);
  REQUIRE(shape.out_width == 5);
  shape = exercises::padded_max_pool2d_shape({1, 1, 4, 4}, {2, 2, 1});
  REQUIRE(shape.out_height == 3);  // (4 + 2 - 2) / 2 + 1
}

// doc:test-max-pool2d-padding-refused
TEST_CASE("max_pool2d refuses padding above half the kernel size as pytorch does") {
  REQUIRE_THROWS_MINIDL(exercises::padded_max_pool2d_shape({1, 1, 6, 6}, {3, 1, 2}),
                        "max_pool2d: padding must be between 0 and half the kernel size 3, got 2");
  REQUIRE_THROWS_MINIDL(exercises::padded_max_pool2d_shape({1, 1, 6, 6}, {3, 1, -1}),
                        "max_pool2d: padding must be between 0 and half the kernel size 3, got -1");
  REQUIRE_NOTHROW(exercises::padded_max_pool2d_shape({1, 1, 6, 6}, {4, 1, 2}));
}
