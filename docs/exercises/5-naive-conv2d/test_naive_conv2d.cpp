// Exercise 5 (README.md): the naive convolution is registered as conv2d's "naive" CUDA
// implementation, after the library's, and computes what the CPU reference computes
// (on a GPU or in the emulator).
#include <algorithm>
#include <string>
#include <vector>

#include "gradcheck.h"
#include "minidl/kernels/conv2d.h"
#include "minidl/kernels/implementation.h"
#include "naive_conv2d.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// Registers "naive" once in this test process.
void register_once() {
  static const bool registered = (exercises::register_naive_conv2d(), true);
  (void)registered;
}

std::vector<std::string> cuda_conv2d_names() {
  std::vector<std::string> names;
  for (const ops::ImplementationInfo& info : ops::implementations(ops::Op::conv2d, DeviceType::CUDA))
    names.push_back(info.name);
  return names;
}

// conv2d_forward into a new output tensor.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, ops::Conv2dParams params) {
  Tensor output = Tensor::empty(ops::conv2d_output_shape(input.shape(), weight.shape(), params), input.dtype(),
                                input.device());
  ops::conv2d_forward(input, weight, bias, output, params);
  return output;
}

}  // namespace

// doc:test-naive-conv2d-registered
TEST_CASE("register_naive_conv2d adds naive last to conv2d's CUDA implementations") {
  if (skip_unless_cuda()) return;
  register_once();
  std::vector<std::string> names = cuda_conv2d_names();
  REQUIRE(!names.empty());
  REQUIRE(names.back() == "naive");
  REQUIRE(std::count(names.begin(), names.end(), "naive") == 1);
  // Last in order of preference: the default is still the library's first.
  REQUIRE(ops::implementation(ops::Op::conv2d, DeviceType::CUDA).name == names.front());
}

// doc:test-naive-conv2d-values
TEST_CASE("the naive conv2d on cuda matches the CPU reference") {
  if (skip_unless_cuda()) return;
  register_once();
  ops::ImplementationGuard naive(ops::Op::conv2d, DeviceType::CUDA, "naive");
  ops::ImplementationGuard reference(ops::Op::conv2d, DeviceType::CPU, "reference");
  struct Case {
    Shape input, weight;
    ops::Conv2dParams params;
    bool bias;
  };
  // The study's 3x3 padding 1; stride 2 on an odd image; a 3x2 kernel without bias; more
  // than one block of 256 threads in each.
  for (const Case& c : {Case{{2, 3, 8, 8}, {4, 3, 3, 3}, {1, 1}, true},
                        Case{{2, 2, 9, 7}, {5, 2, 3, 3}, {2, 0}, true},
                        Case{{1, 3, 10, 9}, {6, 3, 3, 2}, {1, 1}, false}}) {
    INFO("input " << c.input.str() << ", weight " << c.weight.str() << ", stride " << c.params.stride
                  << ", padding " << c.params.padding);
    Generator generator(51);
    Tensor input = random_tensor(c.input, generator, DType::f32);
    Tensor weight = random_tensor(c.weight, generator, DType::f32);
    Tensor bias = c.bias ? random_tensor({c.weight[0]}, generator, DType::f32) : Tensor();
    Tensor on_cuda = conv2d(input.to(Device::cuda()), weight.to(Device::cuda()),
                            c.bias ? bias.to(Device::cuda()) : Tensor(), c.params);
    // At most 27 products of values below 1, summed in another order: ~1e-6.
    require_close(on_cuda, conv2d(input, weight, bias, c.params), 1e-5, 1e-5, "output");
  }
}
