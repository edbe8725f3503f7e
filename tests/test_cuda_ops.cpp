// The Tensor-level ops on CUDA tensors against the same ops on CPU f32 tensors
// (the CPU reference), forward and backward, on random inputs whose sizes are not
// multiples of the kernels' blocks and tiles. Runs on a GPU, or in the emulated
// flavour; skipped without either. Sizes stay small: the emulator runs every CUDA
// thread as a host thread.
//
// Tolerances: max-pooling and SGD do the reference's arithmetic (exact, or an ulp
// where nvcc fuses a multiply-add); the sums of batch norm, cross-entropy, linear and
// conv2d run in another order than the reference's, in float (rtol 1e-4).
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "minidl/core/tensor.h"
#include "gradcheck.h"
#include "minidl/kernels/implementation.h"
#include "minidl/kernels/ops.h"
#include "minidl/layers/parameter.h"
#include "minidl/optim/sgd.h"
#include "test_support.h"
#if defined(MINIDL_CUDA_EMULATOR)
#include "minidl/core/emulator/emulator.h"
#endif

using namespace minidl;
using testing::require_close;

namespace {

constexpr double kRtol = 1e-4, kAtol = 1e-5;

Tensor random_f32(const Shape& shape, Generator& generator, double low = -1.0, double high = 1.0) {
  return testing::random_tensor(shape, generator, DType::f32, low, high);
}

Tensor on_cuda(const Tensor& host) { return host.to(Device::cuda()); }

Tensor cuda_empty(const Shape& shape, DType dtype = DType::f32) { return Tensor::empty(shape, dtype, Device::cuda()); }

// require_close for f32 tensors that hold NaNs: the NaNs must be in the same places.
void require_close_with_nans(const Tensor& actual, const Tensor& expected, double rtol, double atol,
                             const std::string& what) {
  std::vector<float> a = actual.to(Device::cpu()).to_vector<float>(), e = expected.to_vector<float>();
  REQUIRE(a.size() == e.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(what << ": element " << i << " is " << a[i] << ", expected " << e[i]);
    REQUIRE(std::isnan(a[i]) == std::isnan(e[i]));
    if (std::isnan(e[i])) a[i] = e[i] = 0.0f;
  }
  require_close(Tensor::from_vector(actual.shape(), a), Tensor::from_vector(expected.shape(), e), rtol, atol, what);
}

// Runs the CPU references, not the fast paths (gemm, vectorized), while it lives.
struct CpuReference {
  ops::ImplementationGuard conv2d{ops::Op::conv2d, DeviceType::CPU, "reference"};
  ops::ImplementationGuard linear{ops::Op::linear, DeviceType::CPU, "reference"};
  ops::ImplementationGuard batch_norm2d{ops::Op::batch_norm2d, DeviceType::CPU, "reference"};
  ops::ImplementationGuard max_pool2d{ops::Op::max_pool2d, DeviceType::CPU, "reference"};
};

void check_max_pool2d(const Shape& input_shape, ops::MaxPool2dParams params, std::uint64_t seed) {
  INFO("input " << input_shape.str() << " kernel " << params.kernel_size << " stride " << params.stride);
  CpuReference reference;
  Generator generator(seed);
  // Values on a grid of 0.25 so that windows hold ties, and one NaN.
  Tensor input = random_f32(input_shape, generator, -2.0, 2.0);
  for (float& value : std::span(input.data<float>(), input.numel())) value = std::round(value * 4.0f) / 4.0f;
  input.data<float>()[5] = std::nanf("");
  Shape output_shape = ops::max_pool2d_output_shape(input_shape, params);
  Tensor grad_output = random_f32(output_shape, generator);

  Tensor output = Tensor::empty(output_shape), indices = Tensor::empty(output_shape, DType::i32);
  Tensor grad_input = Tensor::empty(input_shape);
  ops::max_pool2d_forward(input, output, indices, params);
  ops::max_pool2d_backward(grad_output, indices, grad_input, params);

  Tensor cuda_output = cuda_empty(output_shape), cuda_indices = cuda_empty(output_shape, DType::i32);
  Tensor cuda_grad_input = cuda_empty(input_shape);
  ops::max_pool2d_forward(on_cuda(input), cuda_output, cuda_indices, params);
  ops::max_pool2d_backward(on_cuda(grad_output), cuda_indices, cuda_grad_input, params);
  require_close(cuda_indices, indices, 0, 0, "indices");
  require_close_with_nans(cuda_output, output, 0, 0, "output");
  require_close(cuda_grad_input, grad_input, 0, 0, "grad_input");  // the reference's sums, in its order
}

// Per-channel state of a batch norm, on the CPU and as CUDA copies.
struct BatchNormTensors {
  BatchNormTensors(std::int64_t channels, Generator& generator)
      : weight(random_f32({channels}, generator, 0.5, 1.5)),
        bias(random_f32({channels}, generator)),
        running_mean(random_f32({channels}, generator)),
        running_var(random_f32({channels}, generator, 0.5, 2.0)),
        grad_weight(random_f32({channels}, generator)),
        grad_bias(random_f32({channels}, generator)) {}
  Tensor weight, bias, running_mean, running_var, grad_weight, grad_bias;
};

void check_batch_norm2d_train(const Shape& shape, std::uint64_t seed) {
  INFO("input " << shape.str());
  CpuReference reference;
  Generator generator(seed);
  const std::int64_t channels = shape[1];
  Tensor input = random_f32(shape, generator, -1.0, 3.0), grad_output = random_f32(shape, generator);
  BatchNormTensors cpu(channels, generator);
  BatchNormTensors cuda{cpu};
  for (Tensor* t : {&cuda.weight, &cuda.bias, &cuda.running_mean, &cuda.running_var, &cuda.grad_weight,
                    &cuda.grad_bias})
    *t = on_cuda(*t);
  ops::BatchNormParams params{.eps = 1e-5, .momentum = 0.1};

  Tensor output = Tensor::empty(shape), grad_input = Tensor::empty(shape);
  Tensor save_mean = Tensor::empty({channels}), save_invstd = Tensor::empty({channels});
  ops::batch_norm2d_forward_train(input, cpu.weight, cpu.bias, cpu.running_mean, cpu.running_var, output, save_mean,
                                  save_invstd, params);
  ops::batch_norm2d_backward_train(grad_output, input, cpu.weight, save_mean, save_invstd, grad_input,
                                   cpu.grad_weight, cpu.grad_bias);

  Tensor cuda_input = on_cuda(input), cuda_output = cuda_empty(shape), cuda_grad_input = cuda_empty(shape);
  Tensor cuda_save_mean = cuda_empty({channels}), cuda_save_invstd = cuda_empty({channels});
  ops::batch_norm2d_forward_train(cuda_input, cuda.weight, cuda.bias, cuda.running_mean, cuda.running_var,
                                  cuda_output, cuda_save_mean, cuda_save_invstd, params);
  ops::batch_norm2d_backward_train(on_cuda(grad_output), cuda_input, cuda.weight, cuda_save_mean, cuda_save_invstd,
                                   cuda_grad_input, cuda.grad_weight, cuda.grad_bias);
  require_close(cuda_output, output, kRtol, kAtol, "output");
  require_close(cuda_save_mean, save_mean, kRtol, kAtol, "save_mean");
  require_close(cuda_save_invstd, save_invstd, kRtol, kAtol, "save_invstd");
  require_close(cuda.running_mean, cpu.running_mean, kRtol, kAtol, "running_mean");
  require_close(cuda.running_var, cpu.running_var, kRtol, kAtol, "running_var");
  require_close(cuda_grad_input, grad_input, kRtol, kAtol, "grad_input");
  require_close(cuda.grad_weight, cpu.grad_weight, kRtol, kAtol, "grad_weight");
  require_close(cuda.grad_bias, cpu.grad_bias, kRtol, kAtol, "grad_bias");
}

void check_linear(std::int64_t N, std::int64_t in_features, std::int64_t out_features, bool with_bias,
                  std::uint64_t seed) {
  INFO("N " << N << " in " << in_features << " out " << out_features << " bias " << with_bias);
  CpuReference reference;
  Generator generator(seed);
  Tensor input = random_f32({N, in_features}, generator), weight = random_f32({out_features, in_features}, generator);
  Tensor bias = with_bias ? random_f32({out_features}, generator) : Tensor();
  Tensor grad_output = random_f32({N, out_features}, generator);
  Tensor grad_weight = random_f32(weight.shape(), generator);  // accumulated into
  Tensor grad_bias = with_bias ? random_f32({out_features}, generator) : Tensor();

  Tensor output = Tensor::empty({N, out_features}), grad_input = Tensor::empty(input.shape());
  Tensor cuda_grad_weight = on_cuda(grad_weight), cuda_grad_bias = with_bias ? on_cuda(grad_bias) : Tensor();
  ops::linear_forward(input, weight, bias, output);
  ops::linear_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias);

  Tensor cuda_input = on_cuda(input), cuda_weight = on_cuda(weight);
  Tensor cuda_output = cuda_empty(output.shape()), cuda_grad_input = cuda_empty(input.shape());
  ops::linear_forward(cuda_input, cuda_weight, with_bias ? on_cuda(bias) : Tensor(), cuda_output);
  ops::linear_backward(on_cuda(grad_output), cuda_input, cuda_weight, cuda_grad_input, cuda_grad_weight,
                       cuda_grad_bias);
  require_close(cuda_output, output, kRtol, kAtol, "output");
  require_close(cuda_grad_input, grad_input, kRtol, kAtol, "grad_input");
  require_close(cuda_grad_weight, grad_weight, kRtol, kAtol, "grad_weight");
  if (with_bias) require_close(cuda_grad_bias, grad_bias, kRtol, kAtol, "grad_bias");
}

void check_conv2d(const Shape& input_shape, const Shape& weight_shape, ops::Conv2dParams params, bool full,
                  std::uint64_t seed) {
  INFO("input " << input_shape.str() << " weight " << weight_shape.str() << " stride " << params.stride
                << " padding " << params.padding << " bias and grad_input " << full);
  CpuReference reference;
  Generator generator(seed);
  const Shape output_shape = ops::conv2d_output_shape(input_shape, weight_shape, params);
  Tensor input = random_f32(input_shape, generator), weight = random_f32(weight_shape, generator);
  Tensor bias = full ? random_f32({weight_shape[0]}, generator) : Tensor();
  Tensor grad_output = random_f32(output_shape, generator);
  Tensor grad_weight = random_f32(weight_shape, generator);  // accumulated into
  Tensor grad_bias = full ? random_f32({weight_shape[0]}, generator) : Tensor();

  Tensor output = Tensor::empty(output_shape), grad_input = full ? Tensor::empty(input_shape) : Tensor();
  Tensor cuda_grad_weight = on_cuda(grad_weight), cuda_grad_bias = full ? on_cuda(grad_bias) : Tensor();
  ops::conv2d_forward(input, weight, bias, output, params);
  ops::conv2d_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias, params);

  Tensor cuda_input = on_cuda(input), cuda_weight = on_cuda(weight), cuda_output = cuda_empty(output_shape);
  Tensor cuda_grad_input = full ? cuda_empty(input_shape) : Tensor();
  ops::conv2d_forward(cuda_input, cuda_weight, full ? on_cuda(bias) : Tensor(), cuda_output, params);
  ops::conv2d_backward(on_cuda(grad_output), cuda_input, cuda_weight, cuda_grad_input, cuda_grad_weight,
                       cuda_grad_bias, params);
  require_close(cuda_output, output, kRtol, kAtol, "output");
  require_close(cuda_grad_weight, grad_weight, kRtol, kAtol, "grad_weight");
  if (full) {
    require_close(cuda_grad_input, grad_input, kRtol, kAtol, "grad_input");
    require_close(cuda_grad_bias, grad_bias, kRtol, kAtol, "grad_bias");
  }
}

}  // namespace

TEST_CASE("max_pool2d on cuda matches the CPU reference with ties and NaN") {
  if (testing::skip_unless_cuda()) return;
  check_max_pool2d({2, 3, 7, 9}, {.kernel_size = 2, .stride = 2}, 1);
  check_max_pool2d({2, 3, 7, 9}, {.kernel_size = 3, .stride = 2}, 2);  // overlapping windows
  check_max_pool2d({1, 2, 6, 5}, {.kernel_size = 3, .stride = 1}, 3);
  check_max_pool2d({2, 5, 16, 16}, {.kernel_size = 2, .stride = 2}, 4);  // more than one block of threads
}

TEST_CASE("batch_norm2d on cuda matches the CPU reference in training") {
  if (testing::skip_unless_cuda()) return;
  check_batch_norm2d_train({3, 4, 7, 9}, 10);   // 189 values per channel: less than a block
  check_batch_norm2d_train({2, 3, 13, 11}, 11);  // 286 values per channel: more than a block
}

TEST_CASE("batch_norm2d on cuda matches the CPU reference in evaluation") {
  if (testing::skip_unless_cuda()) return;
  const Shape shape{2, 3, 13, 11};
  Generator generator(12);
  Tensor input = random_f32(shape, generator, -1.0, 3.0), grad_output = random_f32(shape, generator);
  BatchNormTensors cpu(3, generator);
  BatchNormTensors cuda{cpu};
  for (Tensor* t : {&cuda.weight, &cuda.bias, &cuda.running_mean, &cuda.running_var, &cuda.grad_weight,
                    &cuda.grad_bias})
    *t = on_cuda(*t);
  ops::BatchNormParams params{.eps = 1e-3};

  Tensor output = Tensor::empty(shape), grad_input = Tensor::empty(shape);
  ops::batch_norm2d_forward_eval(input, cpu.weight, cpu.bias, cpu.running_mean, cpu.running_var, output, params);
  ops::batch_norm2d_backward_eval(grad_output, input, cpu.weight, cpu.running_mean, cpu.running_var, grad_input,
                                  cpu.grad_weight, cpu.grad_bias, params);

  Tensor cuda_input = on_cuda(input), cuda_output = cuda_empty(shape), cuda_grad_input = cuda_empty(shape);
  ops::batch_norm2d_forward_eval(cuda_input, cuda.weight, cuda.bias, cuda.running_mean, cuda.running_var,
                                 cuda_output, params);
  ops::batch_norm2d_backward_eval(on_cuda(grad_output), cuda_input, cuda.weight, cuda.running_mean, cuda.running_var,
                                  cuda_grad_input, cuda.grad_weight, cuda.grad_bias, params);
  require_close(cuda_output, output, kRtol, kAtol, "output");
  require_close(cuda_grad_input, grad_input, kRtol, kAtol, "grad_input");
  require_close(cuda.grad_weight, cpu.grad_weight, kRtol, kAtol, "grad_weight");
  require_close(cuda.grad_bias, cpu.grad_bias, kRtol, kAtol, "grad_bias");
}

TEST_CASE("cross_entropy on cuda matches the CPU reference and keeps its results on the device") {
  if (testing::skip_unless_cuda()) return;
  for (std::int64_t K : {std::int64_t{10}, std::int64_t{45}}) {  // fewer and more classes than a warp has lanes
    INFO("classes " << K);
    const std::int64_t N = 37;
    Generator generator(13 + K);
    Tensor logits = random_f32({N, K}, generator, -3.0, 3.0);
    std::vector<std::int32_t> label_values(N);
    for (std::int64_t n = 0; n < N; ++n) label_values[n] = static_cast<std::int32_t>(generator.next_below(K));
    // Ties for the first maximum: in row 0 classes 2 and 7 share it (the label is 7,
    // so the row is wrong); in row 1 classes 3 and 8 share it (the label is 3: right).
    float* x = logits.data<float>();
    x[2] = x[7] = 5.0f;
    label_values[0] = 7;
    x[K + 3] = x[K + 8] = 5.0f;
    label_values[1] = 3;
    Tensor labels = Tensor::from_vector({N}, label_values);

    Tensor loss = Tensor::empty({1}), grad_logits = Tensor::empty({N, K}), num_correct = Tensor::empty({1}, DType::i32);
    ops::cross_entropy_forward_backward(logits, labels, loss, grad_logits, num_correct);

    Tensor cuda_logits = on_cuda(logits), cuda_labels = on_cuda(labels);
    Tensor cuda_loss = cuda_empty({1}), cuda_grad_logits = cuda_empty({N, K});
    Tensor cuda_num_correct = cuda_empty({1}, DType::i32);
#if defined(MINIDL_CUDA_EMULATOR)
    emulator::Counters before = emulator::counters();
#endif
    ops::cross_entropy_forward_backward(cuda_logits, cuda_labels, cuda_loss, cuda_grad_logits, cuda_num_correct);
#if defined(MINIDL_CUDA_EMULATOR)
    emulator::Counters used = emulator::counters() - before;
    REQUIRE(used.host_synchronizations == 0);
    REQUIRE(used.launches == 1);
#endif
    require_close(cuda_loss, loss, 1e-5, 1e-6, "loss");
    require_close(cuda_grad_logits, grad_logits, kRtol, 1e-7, "grad_logits");
    require_close(cuda_num_correct, num_correct, 0, 0, "num_correct");

    Tensor no_grad;  // evaluation: loss and count only
    cuda_loss.zero_();
    cuda_num_correct.zero_();
    ops::cross_entropy_forward_backward(cuda_logits, cuda_labels, cuda_loss, no_grad, cuda_num_correct);
    require_close(cuda_loss, loss, 1e-5, 1e-6, "loss without grad_logits");
    require_close(cuda_num_correct, num_correct, 0, 0, "num_correct without grad_logits");
  }
}

TEST_CASE("cross_entropy on cuda gives a NaN loss for a label outside the classes") {
  if (testing::skip_unless_cuda()) return;
  Tensor logits = Tensor::zeros({2, 3}, DType::f32, Device::cuda());
  Tensor labels = Tensor::from_vector<std::int32_t>({2}, {1, 3}, Device::cuda());
  Tensor loss = cuda_empty({1}), grad_logits = cuda_empty({2, 3}), num_correct = cuda_empty({1}, DType::i32);
  ops::cross_entropy_forward_backward(logits, labels, loss, grad_logits, num_correct);
  REQUIRE(std::isnan(loss.item<float>()));
}

TEST_CASE("linear on cuda matches the CPU reference forward and backward") {
  if (testing::skip_unless_cuda()) return;
  check_linear(19, 37, 21, true, 20);  // no size a multiple of the 16 x 16 tile
  check_linear(5, 64, 10, false, 21);  // the study's output layer, without bias
}

TEST_CASE("conv2d on cuda matches the CPU reference with stride 1 and padding 1") {
  if (testing::skip_unless_cuda()) return;
  check_conv2d({2, 3, 7, 9}, {5, 3, 3, 3}, {.stride = 1, .padding = 1}, true, 30);
}

TEST_CASE("conv2d on cuda matches the CPU reference with stride 2") {
  if (testing::skip_unless_cuda()) return;
  check_conv2d({2, 3, 7, 9}, {5, 3, 3, 3}, {.stride = 2, .padding = 1}, true, 31);
  check_conv2d({1, 2, 6, 5}, {3, 2, 2, 3}, {.stride = 2, .padding = 0}, false, 32);  // no bias, no grad_input
}

TEST_CASE("conv2d on cuda matches the CPU reference in the study's 32-channel shape") {
  if (testing::skip_unless_cuda()) return;
  check_conv2d({1, 32, 4, 4}, {32, 32, 3, 3}, {.stride = 1, .padding = 1}, true, 33);
}

TEST_CASE("sgd_update on cuda matches the CPU reference") {
  if (testing::skip_unless_cuda()) return;
  Generator generator(40);
  ops::SgdParams params{.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-2, .nesterov = true};
  Tensor param = random_f32({300}, generator), grad = random_f32({300}, generator), buffer = Tensor::zeros({300});
  Tensor cuda_param = on_cuda(param), cuda_grad = on_cuda(grad), cuda_buffer = on_cuda(buffer);
  for (bool first_step : {true, false}) {
    ops::sgd_update(param, grad, buffer, params, first_step);
    ops::sgd_update(cuda_param, cuda_grad, cuda_buffer, params, first_step);
  }
  require_close(cuda_param, param, 1e-6, 1e-7, "param");
  require_close(cuda_buffer, buffer, 1e-6, 1e-7, "momentum_buffer");
}

TEST_CASE("SGD updates cuda parameters in one launch per step as it does on the CPU") {
  if (testing::skip_unless_cuda()) return;
  Generator generator(41);
  std::vector<nn::Parameter> cpu_parameters, cuda_parameters;
  for (std::int64_t size : {std::int64_t{7}, std::int64_t{300}, std::int64_t{1000}}) {
    Tensor value = random_f32({size}, generator);
    cpu_parameters.push_back({"p", value.clone(), Tensor::zeros({size})});
    cuda_parameters.push_back({"p", on_cuda(value), Tensor::zeros({size}, DType::f32, Device::cuda())});
  }
  auto pointers = [](std::vector<nn::Parameter>& parameters) {
    std::vector<nn::Parameter*> result;
    for (nn::Parameter& parameter : parameters) result.push_back(&parameter);
    return result;
  };
  optim::SgdOptions options{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 5e-4};
  optim::SGD cpu_optimizer(pointers(cpu_parameters), options), cuda_optimizer(pointers(cuda_parameters), options);
  for (int step = 0; step < 3; ++step) {
    INFO("step " << step);
    for (std::size_t p = 0; p < cpu_parameters.size(); ++p) {
      Tensor grad = random_f32(cpu_parameters[p].value.shape(), generator);
      cpu_parameters[p].grad.copy_from(grad);
      cuda_parameters[p].grad.copy_from(grad);
    }
    cpu_optimizer.step();
#if defined(MINIDL_CUDA_EMULATOR)
    emulator::Counters before = emulator::counters();
#endif
    cuda_optimizer.step();
#if defined(MINIDL_CUDA_EMULATOR)
    emulator::Counters used = emulator::counters() - before;
    REQUIRE(used.launches == 1);
    if (step > 0) REQUIRE(used.host_synchronizations == 0);  // the table is built on the first step only
#endif
    for (std::size_t p = 0; p < cpu_parameters.size(); ++p) {
      require_close(cuda_parameters[p].value, cpu_parameters[p].value, 1e-6, 1e-7, "param");
      require_close(cuda_optimizer.momentum_buffers()[p], cpu_optimizer.momentum_buffers()[p], 1e-6, 1e-7,
                    "momentum_buffer");
    }
  }
}

TEST_CASE("the ops on cuda refuse f64 tensors with a clear message") {
  if (testing::skip_unless_cuda()) return;
  auto f64 = [](const Shape& shape) { return Tensor::zeros(shape, DType::f64, Device::cuda()); };
  Tensor indices = cuda_empty({1, 1, 2, 2}, DType::i32);
  Tensor image = f64({1, 1, 4, 4}), pooled = f64({1, 1, 2, 2});
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_forward(image, pooled, indices, {}),
                        "max_pool2d on cuda: no implementation serves dtype f64");
  REQUIRE_THROWS_MINIDL(ops::max_pool2d_backward(pooled, indices, image, {}),
                        "max_pool2d on cuda: no implementation serves dtype f64");

  Tensor c1 = f64({1}), c2 = f64({1}), c3 = f64({1}), c4 = f64({1}), c5 = f64({1}), c6 = f64({1});
  Tensor bn_output = f64({1, 1, 4, 4});
  REQUIRE_THROWS_MINIDL(ops::batch_norm2d_forward_train(image, c1, c2, c3, c4, bn_output, c5, c6, {}),
                        "batch_norm2d on cuda: no implementation serves dtype f64");
  REQUIRE_THROWS_MINIDL(ops::batch_norm2d_forward_eval(image, c1, c2, c3, c4, bn_output, {}),
                        "batch_norm2d on cuda: no implementation serves dtype f64");
  REQUIRE_THROWS_MINIDL(ops::batch_norm2d_backward_train(image, image, c1, c2, c3, bn_output, c4, c5),
                        "batch_norm2d on cuda: no implementation serves dtype f64");
  REQUIRE_THROWS_MINIDL(ops::batch_norm2d_backward_eval(image, image, c1, c2, c3, bn_output, c4, c5, {}),
                        "batch_norm2d on cuda: no implementation serves dtype f64");

  Tensor logits = f64({2, 3}), grad_logits = f64({2, 3}), loss = f64({1});
  Tensor labels = Tensor::zeros({2}, DType::i32, Device::cuda()), num_correct = cuda_empty({1}, DType::i32);
  REQUIRE_THROWS_MINIDL(ops::cross_entropy_forward_backward(logits, labels, loss, grad_logits, num_correct),
                        "cross_entropy on cuda: no implementation serves dtype f64");

  Tensor features = f64({2, 3}), weight = f64({4, 3}), bias = f64({4}), out = f64({2, 4});
  Tensor grad_weight = f64({4, 3}), grad_bias = f64({4});
  REQUIRE_THROWS_MINIDL(ops::linear_forward(features, weight, bias, out),
                        "linear on cuda: no implementation serves dtype f64");
  REQUIRE_THROWS_MINIDL(ops::linear_backward(out, features, weight, features, grad_weight, grad_bias),
                        "linear on cuda: no implementation serves dtype f64");

  Tensor kernel = f64({1, 1, 3, 3}), grad_kernel = f64({1, 1, 3, 3}), conv_output = f64({1, 1, 2, 2});
  REQUIRE_THROWS_MINIDL(ops::conv2d_forward(image, kernel, Tensor(), conv_output, {}),
                        "conv2d on cuda: no implementation serves dtype f64");
  REQUIRE_THROWS_MINIDL(ops::conv2d_backward(conv_output, image, kernel, image, grad_kernel, c1, {}),
                        "conv2d on cuda: no implementation serves dtype f64");

  Tensor param = f64({3}), grad = f64({3}), buffer = f64({3});
  REQUIRE_THROWS_MINIDL(ops::sgd_update(param, grad, buffer, {.lr = 0.1}, false),
                        "sgd on cuda: no implementation serves dtype f64");

  // A chosen implementation is never replaced by another: it serves the call or the call fails.
  ops::ImplementationGuard cublas(ops::Op::linear, DeviceType::CUDA, "cublas");
  REQUIRE_THROWS_MINIDL(ops::linear_forward(features, weight, bias, out),
                        "linear on cuda: implementation 'cublas' does not serve dtype f64 (it serves f32)");
}
