// Exercise 4 (README.md): cross-entropy with label smoothing against PyTorch's
// F.cross_entropy(label_smoothing=eps) (fixtures/label_smoothing.safetensors, written by
// make_fixtures.py in float64): the CPU reference in f64, the CUDA kernel in f32 (on a
// GPU or in the emulator); and eps = 0 against the library's cross-entropy.
#include <vector>

#include "exercise_fixture.h"
#include "gradcheck.h"
#include "label_smoothing.h"
#include "minidl/kernels/cross_entropy.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

struct LossAndGrad {
  Tensor loss, grad_logits;
};

LossAndGrad cross_entropy(const Tensor& logits, const Tensor& labels, double label_smoothing) {
  LossAndGrad result{Tensor::zeros({1}, logits.dtype(), logits.device()),
                     Tensor::zeros(logits.shape(), logits.dtype(), logits.device())};
  exercises::cross_entropy_label_smoothing(logits, labels, label_smoothing, result.loss, result.grad_logits);
  return result;
}

}  // namespace

// doc:test-label-smoothing-pytorch
TEST_CASE("cross_entropy with label smoothing matches pytorch on every case of its fixture") {
  // Both sides in float64, summing in other orders: 1e-10 relative is a wide margin.
  exercises::Fixture fixture("label_smoothing");
  for (int k = 0; k < fixture.num_cases(); ++k) {
    INFO("case " << k << ": " << fixture.description(k));
    LossAndGrad result = cross_entropy(fixture.tensor(k, "logits"), fixture.tensor(k, "labels"),
                                       fixture.param(k, "label_smoothing"));
    require_close(result.loss, fixture.tensor(k, "loss"), 1e-10, 1e-12, "loss");
    require_close(result.grad_logits, fixture.tensor(k, "grad_logits"), 1e-10, 1e-12, "grad_logits");
  }
}

TEST_CASE("cross_entropy with label smoothing 0 is the library's cross_entropy") {
  Generator generator(41);
  Tensor logits = random_tensor({6, 10}, generator, DType::f64, -3.0, 3.0);
  Tensor labels = Tensor::from_vector<std::int32_t>({6}, {0, 9, 3, 3, 5, 1});
  Tensor loss = Tensor::zeros({1}, DType::f64), grad_logits = Tensor::zeros({6, 10}, DType::f64);
  Tensor num_correct = Tensor::zeros({1}, DType::i32);
  ops::cross_entropy_forward_backward(logits, labels, loss, grad_logits, num_correct);
  LossAndGrad result = cross_entropy(logits, labels, 0.0);
  require_close(result.loss, loss, 1e-12, 1e-14, "loss");
  require_close(result.grad_logits, grad_logits, 1e-12, 1e-14, "grad_logits");
}

TEST_CASE("cross_entropy refuses a label smoothing outside 0 to 1") {
  Tensor logits = Tensor::zeros({2, 3});
  Tensor labels = Tensor::from_vector<std::int32_t>({2}, {0, 1});
  Tensor loss = Tensor::zeros({1}), grad_logits = Tensor::zeros({2, 3});
  REQUIRE_THROWS_MINIDL(exercises::cross_entropy_label_smoothing(logits, labels, 1.5, loss, grad_logits),
                        "cross_entropy: label_smoothing must be in [0, 1], got 1.5");
}

// doc:test-label-smoothing-cuda
TEST_CASE("cross_entropy with label smoothing on cuda matches pytorch and the CPU reference") {
  if (skip_unless_cuda()) return;
  // float32 on the GPU against float64: the logits are rounded to float, and every sum
  // and exponential rounds. Losses of up to ~400 (the large logits) are good to ~1e-5
  // relative, gradients (at most 1/N) to ~1e-6 absolute.
  exercises::Fixture fixture("label_smoothing");
  for (int k = 0; k < fixture.num_cases(); ++k) {
    INFO("case " << k << ": " << fixture.description(k));
    Tensor logits = fixture.tensor(k, "logits").to(DType::f32);
    const Tensor& labels = fixture.tensor(k, "labels");
    const double label_smoothing = fixture.param(k, "label_smoothing");
    LossAndGrad on_cuda = cross_entropy(logits.to(Device::cuda()), labels.to(Device::cuda()), label_smoothing);
    require_close(on_cuda.loss, fixture.tensor(k, "loss"), 1e-5, 1e-6, "loss against pytorch");
    require_close(on_cuda.grad_logits, fixture.tensor(k, "grad_logits"), 1e-5, 1e-6, "grad_logits against pytorch");
    LossAndGrad on_cpu = cross_entropy(logits, labels, label_smoothing);
    require_close(on_cuda.loss, on_cpu.loss, 1e-5, 1e-6, "loss against the CPU reference");
    require_close(on_cuda.grad_logits, on_cpu.grad_logits, 1e-5, 1e-6, "grad_logits against the CPU reference");
  }
}
