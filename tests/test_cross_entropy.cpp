// Specification of cross_entropy (kernels/cross_entropy.h): mean softmax
// cross-entropy, its gradient, the correct count, stability, dtypes and errors.
#include <cmath>
#include <vector>

#include "gradcheck.h"
#include "minidl/kernels/cross_entropy.h"
#include "test_support.h"

using namespace minidl;
using testing::numerical_gradient;
using testing::random_tensor;
using testing::require_close;

namespace {

struct Result {
  Tensor loss, grad_logits, num_correct;
};

Result cross_entropy(const Tensor& logits, const std::vector<std::int32_t>& labels) {
  Result r{Tensor::empty({1}, logits.dtype()), Tensor::empty(logits.shape(), logits.dtype()),
           Tensor::empty({1}, DType::i32)};
  Tensor label_tensor = Tensor::from_vector<std::int32_t>({logits.size(0)}, labels);
  ops::cross_entropy_forward_backward(logits, label_tensor, r.loss, r.grad_logits, r.num_correct);
  return r;
}

// The values of an f32 or f64 tensor, as doubles.
std::vector<double> values(const Tensor& t) {
  if (t.dtype() == DType::f64) return t.to_vector<double>();
  std::vector<float> floats = t.to_vector<float>();
  return std::vector<double>(floats.begin(), floats.end());
}

}  // namespace

TEST_CASE("cross_entropy of uniform logits is log K") {
  // Every class has probability 1/4, so each row's loss is log 4 and its gradient (1/4 - one_hot) / N.
  Tensor logits = Tensor::full({3, 4}, 0.7, DType::f64);
  Result r = cross_entropy(logits, {0, 2, 3});
  REQUIRE(r.loss.item<double>() == Approx(std::log(4.0)).epsilon(1e-12));
  std::vector<double> expected(12, 0.25 / 3);
  expected[0 * 4 + 0] = expected[1 * 4 + 2] = expected[2 * 4 + 3] = -0.75 / 3;
  require_close(r.grad_logits, Tensor::from_vector<double>({3, 4}, expected), 1e-12, 1e-15, "grad_logits");
}

TEST_CASE("cross_entropy of a two-class row follows the softmax by hand") {
  // softmax(0, log 3) = (1/4, 3/4); with label 1 the loss is log(4/3) and the gradient (1/4, -1/4).
  Tensor logits = Tensor::from_vector<double>({1, 2}, {0.0, std::log(3.0)});
  Result r = cross_entropy(logits, {1});
  REQUIRE(r.loss.item<double>() == Approx(std::log(4.0 / 3.0)).epsilon(1e-12));
  require_close(r.grad_logits, Tensor::from_vector<double>({1, 2}, {0.25, -0.25}), 1e-12, 1e-15, "grad_logits");
  REQUIRE(r.num_correct.item<std::int32_t>() == 1);
}

TEST_CASE("cross_entropy counts a tie as a prediction of the first maximum") {
  // Row 0: classes 1 and 2 tie, the prediction is 1, the label 2: wrong.
  // Row 1: classes 0 and 1 tie, the prediction is 0, the label 0: right.
  // Row 2: all tie, the prediction is 0, the label 0: right.
  Tensor logits = Tensor::from_vector<double>({3, 3}, {1, 3, 3, 2, 2, 0, 5, 5, 5});
  REQUIRE(cross_entropy(logits, {2, 0, 0}).num_correct.item<std::int32_t>() == 2);
  REQUIRE(cross_entropy(logits, {1, 1, 2}).num_correct.item<std::int32_t>() == 1);
}

TEST_CASE("cross_entropy stays finite for large logits") {
  // Row 0: logsumexp = 1000 + log(1 + e^-1000 + e^-2000) = 1000, loss 0.
  // Row 1: logsumexp = 1000 + log(2 + e^-1), loss 1 + log(2 + e^-1).
  const double expected = (0.0 + 1.0 + std::log(2.0 + std::exp(-1.0))) / 2.0;
  // Softmax: row 0 is (1, 0, 0); row 1 is (p, p, q) with p = 1 / (2 + e^-1), q = e^-1 / (2 + e^-1).
  const double p = 1.0 / (2.0 + std::exp(-1.0)), q = std::exp(-1.0) / (2.0 + std::exp(-1.0));
  Tensor expected_grad = Tensor::from_vector<double>({2, 3}, {0, 0, 0, p / 2, p / 2, (q - 1) / 2});
  Tensor logits64 = Tensor::from_vector<double>({2, 3}, {1000, 0, -1000, 1000, 1000, 999});
  for (const Tensor& logits : {logits64, logits64.to(DType::f32)}) {
    INFO("dtype " << dtype_name(logits.dtype()));
    Result r = cross_entropy(logits, {0, 2});
    REQUIRE(values(r.loss)[0] == Approx(expected).epsilon(1e-6));
    for (double g : values(r.grad_logits)) REQUIRE(std::isfinite(g));
    require_close(r.grad_logits, expected_grad, 1e-6, 1e-7, "grad_logits");
    REQUIRE(r.num_correct.item<std::int32_t>() == 1);
  }
}

TEST_CASE("cross_entropy without grad_logits computes the loss and count only") {
  Tensor logits = Tensor::from_vector<double>({2, 2}, {1, 0, 0, 1});
  Tensor labels = Tensor::from_vector<std::int32_t>({2}, {0, 0});
  Tensor loss = Tensor::empty({1}, DType::f64), grad_logits, num_correct = Tensor::empty({1}, DType::i32);
  ops::cross_entropy_forward_backward(logits, labels, loss, grad_logits, num_correct);
  REQUIRE(loss.item<double>() == Approx(cross_entropy(logits, {0, 0}).loss.item<double>()).epsilon(1e-15));
  REQUIRE(num_correct.item<std::int32_t>() == 1);
  REQUIRE_FALSE(grad_logits.defined());
}

// grad_logits against central differences of the loss itself, in double; tolerance
// rtol 1e-6, atol 1e-7 (central differences with eps 1e-6 are accurate to about 1e-9 here).
TEST_CASE("cross_entropy grad_logits matches finite differences") {
  for (Shape shape : {Shape{1, 3}, Shape{4, 10}, Shape{7, 2}, Shape{3, 1}}) {
    INFO("logits shape " << shape.str());
    Generator generator(53);
    Tensor logits = random_tensor(shape, generator, DType::f64, -3.0, 3.0);
    std::vector<std::int32_t> labels;
    for (std::int64_t n = 0; n < shape[0]; ++n) labels.push_back(static_cast<std::int32_t>((3 * n + 1) % shape[1]));
    auto loss = [&] { return cross_entropy(logits, labels).loss.item<double>(); };
    require_close(cross_entropy(logits, labels).grad_logits, numerical_gradient(logits, loss), 1e-6, 1e-7,
                  "grad_logits");
  }
}

// float32 against float64 on the same values: rtol 1e-5, atol 1e-6.
TEST_CASE("cross_entropy in float32 agrees with float64") {
  Generator generator(59);
  Tensor logits = random_tensor({6, 10}, generator, DType::f64, -5.0, 5.0);
  const std::vector<std::int32_t> labels = {0, 9, 3, 3, 7, 1};
  Result f64 = cross_entropy(logits, labels), f32 = cross_entropy(logits.to(DType::f32), labels);
  require_close(f32.loss, f64.loss, 1e-5, 1e-6, "loss");
  require_close(f32.grad_logits, f64.grad_logits, 1e-5, 1e-6, "grad_logits");
  REQUIRE(f32.num_correct.item<std::int32_t>() == f64.num_correct.item<std::int32_t>());
}

TEST_CASE("cross_entropy refuses labels out of range by index and value") {
  Tensor logits = Tensor::zeros({3, 10});
  REQUIRE_THROWS_MINIDL(cross_entropy(logits, {0, 10, 1}),
                        "cross_entropy: labels[1] is 10, expected a class in [0, 10)");
  REQUIRE_THROWS_MINIDL(cross_entropy(logits, {0, 1, -1}),
                        "cross_entropy: labels[2] is -1, expected a class in [0, 10)");
}

TEST_CASE("cross_entropy refuses bad shapes and dtypes by name") {
  Tensor logits = Tensor::zeros({3, 10}), labels = Tensor::zeros({3}, DType::i32);
  Tensor loss = Tensor::zeros({1}), grad_logits = Tensor::zeros({3, 10}), num_correct = Tensor::zeros({1}, DType::i32);

  Tensor flat_logits = Tensor::zeros({30});
  REQUIRE_THROWS_MINIDL(ops::cross_entropy_forward_backward(flat_logits, labels, loss, grad_logits, num_correct),
                        "cross_entropy: logits must have 2 dimensions, got shape (30)");
  Tensor empty_logits = Tensor::zeros({0, 10});
  REQUIRE_THROWS_MINIDL(ops::cross_entropy_forward_backward(empty_logits, labels, loss, grad_logits, num_correct),
                        "cross_entropy: the batch is empty, logits have shape (0, 10)");
  Tensor long_labels = Tensor::zeros({3}, DType::i64);
  REQUIRE_THROWS_MINIDL(ops::cross_entropy_forward_backward(logits, long_labels, loss, grad_logits, num_correct),
                        "cross_entropy: labels must have dtype i32, got i64");
  Tensor short_labels = Tensor::zeros({2}, DType::i32);
  REQUIRE_THROWS_MINIDL(ops::cross_entropy_forward_backward(logits, short_labels, loss, grad_logits, num_correct),
                        "cross_entropy: labels must have shape (3), got (2)");
  Tensor double_loss = Tensor::zeros({1}, DType::f64);
  REQUIRE_THROWS_MINIDL(ops::cross_entropy_forward_backward(logits, labels, double_loss, grad_logits, num_correct),
                        "cross_entropy: loss must have dtype f32, got f64");
  Tensor wide_grad = Tensor::zeros({3, 11});
  REQUIRE_THROWS_MINIDL(ops::cross_entropy_forward_backward(logits, labels, loss, wide_grad, num_correct),
                        "cross_entropy: grad_logits must have shape (3, 10), got (3, 11)");
  Tensor float_count = Tensor::zeros({1});
  REQUIRE_THROWS_MINIDL(ops::cross_entropy_forward_backward(logits, labels, loss, grad_logits, float_count),
                        "cross_entropy: num_correct must have dtype i32, got f32");
}

TEST_CASE("cross_entropy refuses tensors on different devices") {
  if (!cuda_is_available()) {
    REQUIRE_THROWS_MINIDL(Tensor::zeros({3}, DType::i32, Device::cuda()), cuda_unavailable_reason());
    return;
  }
  Tensor logits = Tensor::zeros({3, 10}), labels = Tensor::zeros({3}, DType::i32, Device::cuda());
  Tensor loss = Tensor::zeros({1}), grad_logits = Tensor::zeros({3, 10}), num_correct = Tensor::zeros({1}, DType::i32);
  REQUIRE_THROWS_MINIDL(ops::cross_entropy_forward_backward(logits, labels, loss, grad_logits, num_correct),
                        "cross_entropy: labels must be on cpu, got cuda:0");
}
