// demo: the smallest end-to-end use of minidl's ops, until the CIFAR-10 study exists.
//
// A linear classifier learns to tell three Gaussian clusters in the plane apart:
//   logits = x @ W^T + b,  loss = cross_entropy(logits, labels),  W, b -= lr * grad.
// Every step is forward, loss with its gradient, backward, SGD update: the same
// four stages as training the study's CNN, on a model small enough to read at once.
#include <cmath>
#include <cstdio>

#include "minidl/core/tensor.h"
#include "minidl/kernels/ops.h"

using namespace minidl;

int main() {
  constexpr int kClasses = 3, kFeatures = 2, kSamples = 300, kSteps = 200;
  const double centers[kClasses][kFeatures] = {{2.0, 0.0}, {-1.0, 1.7}, {-1.0, -1.7}};

  // Data: sample i belongs to class i % 3 and sits at its center plus N(0, 0.5^2) noise.
  Generator generator(2026);
  Tensor inputs = Tensor::empty({kSamples, kFeatures});
  inputs.normal_(0.0, 0.5, generator);
  std::vector<std::int32_t> label_values(kSamples);
  float* x = inputs.data<float>();
  for (int i = 0; i < kSamples; ++i) {
    label_values[i] = i % kClasses;
    for (int f = 0; f < kFeatures; ++f) x[i * kFeatures + f] += static_cast<float>(centers[i % kClasses][f]);
  }
  Tensor labels = Tensor::from_vector<std::int32_t>({kSamples}, label_values);

  // Model: PyTorch's default Linear initialisation, U(-1/sqrt(in), 1/sqrt(in)).
  double bound = 1.0 / std::sqrt(static_cast<double>(kFeatures));
  Tensor weight = Tensor::empty({kClasses, kFeatures}), bias = Tensor::empty({kClasses});
  weight.uniform_(-bound, bound, generator);
  bias.uniform_(-bound, bound, generator);
  Tensor grad_weight = Tensor::zeros(weight.shape()), grad_bias = Tensor::zeros(bias.shape());
  Tensor no_momentum, no_grad_input;

  Tensor logits = Tensor::empty({kSamples, kClasses}), grad_logits = Tensor::empty(logits.shape());
  Tensor loss = Tensor::empty({1}), num_correct = Tensor::empty({1}, DType::i32);
  ops::SgdParams sgd{.lr = 0.5};

  std::printf("minidl demo: linear classifier on 3 clusters, device cpu, CPU reference kernels\n");
  for (int step = 0; step <= kSteps; ++step) {
    ops::linear_forward(inputs, weight, bias, logits);
    ops::cross_entropy_forward_backward(logits, labels, loss, grad_logits, num_correct);
    if (step % 40 == 0)
      std::printf("step %3d  loss %.4f  accuracy %5.1f %%\n", step, loss.item<float>(),
                  100.0 * num_correct.item<std::int32_t>() / kSamples);
    grad_weight.zero_();
    grad_bias.zero_();
    ops::linear_backward(grad_logits, inputs, weight, no_grad_input, grad_weight, grad_bias);
    ops::sgd_update(weight, grad_weight, no_momentum, sgd, step == 0);
    ops::sgd_update(bias, grad_bias, no_momentum, sgd, step == 0);
  }
  return 0;
}
