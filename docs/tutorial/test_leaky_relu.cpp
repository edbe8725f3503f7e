// Specification of the tutorial's LeakyReLU: values, gradients against finite
// differences, the layer in a Sequential, argument checks, the CUDA kernels against the
// CPU reference (on a GPU or in the emulator; skipped without either), and the
// tutorial's code quotes against the code.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "leaky_relu.h"
#include "gradcheck.h"
#include "minidl/kernels/relu.h"
#include "minidl/layers/sequential.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// leaky_relu_forward into a new output tensor.
Tensor leaky_relu(const Tensor& input, double negative_slope) {
  Tensor output = Tensor::empty(input.shape(), input.dtype(), input.device());
  tutorial::leaky_relu_forward(input, output, negative_slope);
  return output;
}

// leaky_relu_backward into a new grad_input tensor.
Tensor leaky_relu_backward(const Tensor& grad_output, const Tensor& input, double negative_slope) {
  Tensor grad_input = Tensor::empty(grad_output.shape(), grad_output.dtype(), grad_output.device());
  tutorial::leaky_relu_backward(grad_output, input, grad_input, negative_slope);
  return grad_input;
}

// The lines of a text file.
std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::ifstream file(path);
  REQUIRE(file.good());
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

}  // namespace

// doc:test-values
TEST_CASE("leaky_relu keeps positive values and scales negative ones by the slope") {
  Tensor input = Tensor::from_vector<float>({5}, {-2.0f, -0.5f, 0.0f, 0.5f, 3.0f});
  REQUIRE(leaky_relu(input, 0.25).to_vector<float>() == std::vector<float>{-0.5f, -0.125f, 0.0f, 0.5f, 3.0f});
}

TEST_CASE("leaky_relu backward scales the gradient by the slope where the input is not positive") {
  Tensor input = Tensor::from_vector<float>({5}, {-2.0f, -0.5f, 0.0f, 0.5f, 3.0f});
  Tensor grad_output = Tensor::from_vector<float>({5}, {1, 2, 3, 4, 5});
  REQUIRE(leaky_relu_backward(grad_output, input, 0.25).to_vector<float>() ==
          std::vector<float>{0.25f, 0.5f, 0.75f, 4, 5});
}

TEST_CASE("leaky_relu with slope 0 is relu") {
  Generator generator(21);
  Tensor input = random_tensor({4, 6}, generator, DType::f32);
  Tensor relu_output = Tensor::empty(input.shape());
  ops::relu_forward(input, relu_output);
  require_close(leaky_relu(input, 0.0), relu_output, 0.0, 0.0, "output");
}

TEST_CASE("leaky_relu lets NaN through") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor output = leaky_relu(Tensor::from_vector<double>({2}, {nan, -1.0}), 0.5);
  REQUIRE(std::isnan(output.data<double>()[0]));
  REQUIRE(output.data<double>()[1] == -0.5);
}

// doc:test-gradcheck
TEST_CASE("leaky_relu backward matches finite differences") {
  // Away from 0 leaky_relu is linear near x, so central differences have no truncation
  // error; only rounding is left, about 1e-16 * |L| / eps, below 1e-9 here.
  constexpr double kRtol = 1e-6, kAtol = 1e-7;
  Generator generator(22);
  for (double negative_slope : {0.01, 0.2, -0.5}) {
    for (const Shape& shape : {Shape{7}, Shape{2, 3, 5}, Shape{3, 2, 5, 4}}) {
      INFO("negative_slope " << negative_slope << ", shape " << shape.str());
      Tensor input = away_from_zero(shape, generator);
      Tensor grad_output = random_tensor(shape, generator);  // R in L = sum(leaky_relu(x) * R)
      Tensor grad_input = leaky_relu_backward(grad_output, input, negative_slope);
      auto loss = [&] { return dot(leaky_relu(input, negative_slope), grad_output); };
      require_close(grad_input, numerical_gradient(input, loss), kRtol, kAtol, "grad_input");
    }
  }
}

TEST_CASE("leaky_relu refuses tensors of the wrong shape or dtype") {
  Tensor input = Tensor::zeros({2, 3});
  Tensor transposed = Tensor::zeros({3, 2});
  REQUIRE_THROWS_MINIDL(tutorial::leaky_relu_forward(input, transposed, 0.01),
                        "leaky_relu: output must have shape (2, 3), got (3, 2)");
  Tensor output_64 = Tensor::zeros({2, 3}, DType::f64);
  REQUIRE_THROWS_MINIDL(tutorial::leaky_relu_forward(input, output_64, 0.01),
                        "leaky_relu: output must have dtype f32, got f64");
  Tensor output = Tensor::zeros({2, 3});
  REQUIRE_THROWS_MINIDL(tutorial::leaky_relu_forward(Tensor::zeros({2, 3}, DType::i32), output, 0.01),
                        "leaky_relu: input must have dtype f32 or f64, got i32");
  REQUIRE_THROWS_MINIDL(tutorial::leaky_relu_backward(input, transposed, output, 0.01),
                        "leaky_relu: input must have shape (2, 3), got (3, 2)");
  REQUIRE_THROWS_MINIDL(tutorial::leaky_relu_backward(input, input, transposed, 0.01),
                        "leaky_relu: grad_input must have shape (2, 3), got (3, 2)");
}

// doc:test-layer
TEST_CASE("the LeakyReLU layer works in a Sequential as the op does") {
  nn::Sequential net;
  net.add("act", std::make_shared<tutorial::LeakyReLU>(0.1));
  REQUIRE(net.repr() == "Sequential(\n  (act): LeakyReLU(negative_slope=0.1)\n)");
  REQUIRE(net.parameters().empty());

  Generator generator(23);
  Tensor input = random_tensor({2, 3, 4}, generator, DType::f32);
  Tensor grad_output = random_tensor(input.shape(), generator, DType::f32);
  require_close(net.forward(input), leaky_relu(input, 0.1), 0.0, 0.0, "output");
  require_close(net.backward(grad_output), leaky_relu_backward(grad_output, input, 0.1), 0.0, 0.0, "grad_input");
}

TEST_CASE("the LeakyReLU layer refuses backward without a forward that kept its input") {
  tutorial::LeakyReLU layer;
  REQUIRE(layer.repr() == "LeakyReLU(negative_slope=0.01)");
  Tensor grad_output = Tensor::zeros({2});
  REQUIRE_THROWS_MINIDL(layer.backward(grad_output),
                        "LeakyReLU::backward: no saved input: call forward (outside a NoGradGuard) first");
  {
    nn::NoGradGuard no_grad;
    layer.forward(Tensor::zeros({2}));
  }
  REQUIRE_THROWS_MINIDL(layer.backward(grad_output), "LeakyReLU::backward: no saved input");
}

// doc:test-cuda
TEST_CASE("leaky_relu on cuda runs the CUDA kernels and matches the CPU reference") {
  if (skip_unless_cuda()) return;
  Device cuda = Device::cuda();
  // One element, less than a warp, a block and one more, several blocks.
  for (std::int64_t count : {1, 31, 257, 1000}) {
    INFO("count " << count);
    Generator generator(24);
    Tensor input = random_tensor({count}, generator, DType::f32);
    input.data<float>()[0] = 0.0f;  // the kink: the backward takes the slope there, on both sides
    Tensor grad_output = random_tensor({count}, generator, DType::f32);
    // One multiplication per element, rounded once on both sides: the results agree exactly.
    require_close(leaky_relu(input.to(cuda), 0.1), leaky_relu(input, 0.1), 0.0, 0.0, "output");
    require_close(leaky_relu_backward(grad_output.to(cuda), input.to(cuda), 0.1),
                  leaky_relu_backward(grad_output, input, 0.1), 0.0, 0.0, "grad_input");
  }
  Tensor input_64 = Tensor::zeros({2}, DType::f64, cuda), output_64 = Tensor::zeros({2}, DType::f64, cuda);
  REQUIRE_THROWS_MINIDL(tutorial::leaky_relu_forward(input_64, output_64, 0.1),
                        "leaky_relu on cuda: input must have dtype f32, got f64");
}

TEST_CASE("every code quote of the tutorial is an exact excerpt of the file it links to") {
  // A quote is a ```cpp or ```cmake block of README.md; its file is the one the last
  // link with a #doc:NAME marker before it points to.
  const std::filesystem::path folder = MINIDL_TUTORIAL_DIR;
  const std::regex marker_link(R"(\]\(([^)#]+)#doc:[A-Za-z0-9_-]+\))");
  std::vector<std::string> readme = lines_of(folder / "README.md");
  std::string linked_file;
  int quotes = 0;
  for (std::size_t i = 0; i < readme.size(); ++i) {
    std::smatch link;
    if (std::regex_search(readme[i], link, marker_link)) linked_file = link[1];
    if (readme[i] != "```cpp" && readme[i] != "```cmake") continue;
    INFO("the quote at README.md:" << i + 1 << " from " << linked_file);
    REQUIRE(!linked_file.empty());
    std::vector<std::string> quote;
    for (++i; i < readme.size() && readme[i] != "```"; ++i) quote.push_back(readme[i]);
    std::vector<std::string> source = lines_of(folder / linked_file);
    REQUIRE(std::search(source.begin(), source.end(), quote.begin(), quote.end()) != source.end());
    ++quotes;
  }
  REQUIRE(quotes > 0);
}
