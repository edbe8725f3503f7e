// The study's shapes at batch N: three times conv 3x3 with padding 1 (3->32 on 32x32,
// 32->32 on 16x16, 32->32 on 8x8) -> batch_norm2d -> relu -> max_pool2d 2x2, then linear
// 512->64 -> relu -> linear 64->10, cross_entropy over 10 classes, and one SGD update of
// every parameter. As in the study's network, conv1 (3->32) computes no input gradient.
// Each case calls the Tensor-level op (kernels/ops.h), what the layers call, with a
// workspace of its own for each direction (as a layer keeps), in fp32, on random data.
#include "op_cases.h"

#include <memory>
#include <utility>

#include <fmt/format.h>

#include "minidl/core/rng.h"
#include "minidl/core/tensor.h"
#include "minidl/kernels/ops.h"
#include "minidl/kernels/step_metrics.h"
#include "minidl/kernels/workspace.h"
#if defined(MINIDL_WITH_CUDNN)
#include "minidl/kernels/cudnn/conv2d.h"
#endif

namespace minidl::bench {

namespace {

constexpr double kBytes = sizeof(float);

// Tensors of the cases, on the benchmarked device.
struct Tensors {
  Device device;
  // Random values in [low, high), drawn on the host from seed.
  Tensor random(const Shape& shape, std::uint64_t seed, double low = -1.0, double high = 1.0) const {
    Generator generator(seed);
    Tensor host = Tensor::empty(shape, DType::f32);
    host.uniform_(low, high, generator);
    return host.to(device);
  }
  Tensor empty(const Shape& shape, DType dtype = DType::f32) const { return Tensor::empty(shape, dtype, device); }
  Tensor zeros(const Shape& shape) const { return Tensor::zeros(shape, DType::f32, device); }
};

using WorkspacePtr = std::shared_ptr<ops::Workspace>;
WorkspacePtr workspace() { return std::make_shared<ops::Workspace>(); }

std::vector<Case> conv2d_cases(const std::string& implementation, bool fuses_relu, const Tensors& t, std::int64_t N,
                               std::int64_t d) {
  std::vector<Case> cases;
  for (auto [C_in, side] : {std::pair<std::int64_t, std::int64_t>{3, 32 / d}, {32, 16 / d}, {32, 8 / d}}) {
    const ops::Conv2dParams params{.stride = 1, .padding = 1};
    Tensor input = t.random({N, C_in, side, side}, 1), weight = t.random({32, C_in, 3, 3}, 2, -0.2, 0.2);
    Tensor bias = t.random({32}, 3), output = t.empty({N, 32, side, side});
    Tensor grad_output = t.random({N, 32, side, side}, 4);
    const bool input_grad = C_in != 3;  // conv1's input is the images
    Tensor grad_input = input_grad ? t.empty({N, C_in, side, side}) : Tensor();
    Tensor grad_weight = t.zeros({32, C_in, 3, 3}), grad_bias = t.zeros({32});
    WorkspacePtr forward_workspace = workspace(), backward_workspace = workspace();
    const double macs = static_cast<double>(N) * 32 * side * side * C_in * 9;
    const double outputs = static_cast<double>(N) * 32 * side * side;
    const double inputs = static_cast<double>(N) * C_in * side * side, weights = 32.0 * C_in * 9;
    const double backward_macs = input_grad ? 2 * macs : macs;
    Case c{ops::Op::conv2d, fmt::format("{}->32 {}x{}", C_in, side, side), "", N, implementation,
           2 * macs + outputs, 2 * backward_macs + outputs, kBytes * (inputs + weights + 32 + outputs),
           kBytes * (outputs + inputs + weights + (input_grad ? inputs : 0) + 2 * weights + 2 * 32),
           [=]() mutable { ops::conv2d_forward(input, weight, bias, output, params, ops::Activation::none, forward_workspace.get()); },
           [=]() mutable {
             ops::conv2d_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias, params,
                                  backward_workspace.get());
           },
           {}, {}};
#if defined(MINIDL_WITH_CUDNN)
    if (implementation == "cudnn") {
      const cpu::Conv2dShape s{.batch = N, .in_channels = C_in, .height = side, .width = side, .out_channels = 32,
                               .kernel_height = 3, .kernel_width = 3, .stride = 1, .padding = 1,
                               .out_height = side, .out_width = side};
      c.note = [s] { return cudnn::conv2d_algorithms(s); };
      c.library_find_times = [s] {
        const cudnn::FindTimes times = cudnn::conv2d_find_times(s);
        return std::pair{times.fastest_ms, times.gemm_based_ms};
      };
    }
#endif
    cases.push_back(c);
    if (fuses_relu) {
      Case fused = c;
      fused.variant = "+relu";
      fused.forward = [=]() mutable {
        ops::conv2d_forward(input, weight, bias, output, params, ops::Activation::relu, forward_workspace.get());
      };
      fused.backward = {};
      fused.note = {};
      fused.library_find_times = {};
      cases.push_back(fused);
    }
  }
  return cases;
}

std::vector<Case> batch_norm2d_cases(const std::string& implementation, bool fuses_relu, const Tensors& t,
                                     std::int64_t N, std::int64_t d) {
  std::vector<Case> cases;
  for (std::int64_t side : {32 / d, 16 / d, 8 / d}) {
    const std::int64_t C = 32;
    const ops::BatchNormParams params{.eps = 1e-5, .momentum = 0.1};
    Tensor input = t.random({N, C, side, side}, 7), weight = t.random({C}, 8, 0.5, 1.5);
    Tensor bias = t.random({C}, 9), running_mean = t.random({C}, 10), running_var = t.random({C}, 11, 0.5, 2);
    Tensor output = t.empty({N, C, side, side}), save_mean = t.empty({C}), save_invstd = t.empty({C});
    Tensor grad_output = t.random({N, C, side, side}, 12), grad_input = t.empty({N, C, side, side});
    Tensor grad_weight = t.zeros({C}), grad_bias = t.zeros({C});
    WorkspacePtr forward_workspace = workspace(), backward_workspace = workspace();
    auto forward = [=](ops::Activation activation) mutable {
      ops::batch_norm2d_forward_train(input, weight, bias, running_mean, running_var, output, save_mean, save_invstd,
                                      params, activation, forward_workspace.get());
    };
    forward(ops::Activation::none);  // the statistics the backward reads
    const double elements = static_cast<double>(N) * C * side * side;
    // Forward: mean (1), variance (2), normalise (2), scale and shift (2) per element.
    // Backward: two sums (3), the input gradient (5) per element.
    Case c{ops::Op::batch_norm2d, fmt::format("32x{}x{}", side, side), "", N, implementation, 7 * elements,
           8 * elements, kBytes * 2 * elements, kBytes * 3 * elements,
           [=]() mutable { forward(ops::Activation::none); },
           [=]() mutable {
             ops::batch_norm2d_backward_train(grad_output, input, weight, save_mean, save_invstd, grad_input,
                                              grad_weight, grad_bias, backward_workspace.get());
           },
           {}, {}};
    cases.push_back(c);
    if (fuses_relu) {
      Case fused = c;
      fused.variant = "+relu";
      fused.forward = [=]() mutable { forward(ops::Activation::relu); };
      fused.backward = {};
      cases.push_back(fused);
    }
  }
  return cases;
}

std::vector<Case> relu_cases(const std::string& implementation, const Tensors& t, std::int64_t N, std::int64_t d) {
  std::vector<Case> cases;
  for (std::int64_t side : {32 / d, 16 / d, 8 / d}) {
    const std::int64_t count = N * 32 * side * side;
    Tensor input = t.random({count}, 13), output = t.empty({count});
    Tensor grad_output = t.random({count}, 14), grad_input = t.empty({count});
    ops::relu_forward(input, output);  // the output the backward reads
    const double elements = static_cast<double>(count);
    cases.push_back(Case{ops::Op::relu, fmt::format("32x{}x{}", side, side), "", N, implementation, elements, elements,
                         kBytes * 2 * elements, kBytes * 3 * elements,
                         [=]() mutable { ops::relu_forward(input, output); },
                         [=]() mutable { ops::relu_backward(grad_output, output, grad_input); }, {}, {}});
  }
  return cases;
}

std::vector<Case> max_pool2d_cases(const std::string& implementation, bool fuses_relu, const Tensors& t,
                                   std::int64_t N, std::int64_t d) {
  std::vector<Case> cases;
  for (std::int64_t side : {32 / d, 16 / d, 8 / d}) {
    const ops::MaxPool2dParams params{.kernel_size = 2, .stride = 2};
    Tensor input = t.random({N, 32, side, side}, 5, 0.0, 1.0), output = t.empty({N, 32, side / 2, side / 2});
    Tensor indices = t.empty({N, 32, side / 2, side / 2}, DType::i32);
    Tensor grad_output = t.random({N, 32, side / 2, side / 2}, 6), grad_input = t.empty({N, 32, side, side});
    ops::max_pool2d_forward(input, output, indices, params);  // the indices the backward reads
    const double inputs = static_cast<double>(N) * 32 * side * side, outputs = inputs / 4;
    Case c{ops::Op::max_pool2d, fmt::format("32x{}x{} 2x2", side, side), "", N, implementation, 3 * outputs, outputs,
           kBytes * (inputs + 2 * outputs), kBytes * (2 * outputs + inputs),
           [=]() mutable { ops::max_pool2d_forward(input, output, indices, params); },
           [=]() mutable { ops::max_pool2d_backward(grad_output, indices, grad_input, params); }, {}, {}};
    cases.push_back(c);
    if (fuses_relu) {  // the backward of the ReLU before the pooling, fused
      Case fused = c;
      fused.variant = "+relu";
      fused.forward = {};
      fused.backward_bytes += kBytes * outputs;  // the pooled output, the ReLU's mask
      fused.backward = [=]() mutable {
        ops::max_pool2d_backward(grad_output, indices, grad_input, params, true, output);
      };
      cases.push_back(fused);
    }
  }
  return cases;
}

std::vector<Case> linear_cases(const std::string& implementation, bool fuses_relu, const Tensors& t, std::int64_t N,
                               std::int64_t d) {
  std::vector<Case> cases;
  // fc1 takes the last pool's 32 x (4/d) x (4/d) values.
  for (auto [in, out] : {std::pair<std::int64_t, std::int64_t>{512 / (d * d), 64}, {64, 10}}) {
    Tensor input = t.random({N, in}, 15), weight = t.random({out, in}, 16, -0.1, 0.1);
    Tensor bias = t.random({out}, 17), output = t.empty({N, out});
    Tensor grad_output = t.random({N, out}, 18), grad_input = t.empty({N, in});
    Tensor grad_weight = t.zeros({out, in}), grad_bias = t.zeros({out});
    WorkspacePtr forward_workspace = workspace(), backward_workspace = workspace();
    const double macs = static_cast<double>(N) * in * out, weights = static_cast<double>(in) * out;
    Case c{ops::Op::linear, fmt::format("{}->{}", in, out), "", N, implementation, 2 * macs + N * out,
           4 * macs + N * out, kBytes * (N * in + weights + out + N * out),
           kBytes * (N * out + N * in + weights + N * in + 2 * weights + 2 * out),
           [=]() mutable { ops::linear_forward(input, weight, bias, output, ops::Activation::none, forward_workspace.get()); },
           [=]() mutable {
             ops::linear_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias,
                                  backward_workspace.get());
           },
           {}, {}};
    cases.push_back(c);
    if (fuses_relu && out == 64) {  // fc1 -> relu4
      Case fused = c;
      fused.variant = "+relu";
      fused.forward = [=]() mutable {
        ops::linear_forward(input, weight, bias, output, ops::Activation::relu, forward_workspace.get());
      };
      fused.backward = {};
      cases.push_back(fused);
    }
  }
  return cases;
}

std::vector<Case> cross_entropy_cases(const std::string& implementation, const Tensors& t, std::int64_t N) {
  const std::int64_t K = 10;
  Tensor logits = t.random({N, K}, 19, -3, 3), grad_logits = t.empty({N, K});
  std::vector<std::int32_t> label_values(N);
  for (std::int64_t n = 0; n < N; ++n) label_values[n] = static_cast<std::int32_t>(n * 7 % K);
  Tensor labels = Tensor::from_vector<std::int32_t>({N}, label_values, t.device);
  Tensor loss = t.empty({1}), num_correct = t.empty({1}, DType::i32);
  const double elements = static_cast<double>(N) * K;
  // Per element: the row maximum (1), exp and its sum (2), the correct count (1); the gradient adds 2.
  // Its forward is loss and count only; its backward the fused forward and gradient.
  return {Case{ops::Op::cross_entropy, "10 classes", "", N, implementation, 4 * elements, 6 * elements,
               kBytes * (elements + N), kBytes * (2 * elements + N),
               [=]() mutable {
                 Tensor no_gradient;
                 ops::cross_entropy_forward_backward(logits, labels, loss, no_gradient, num_correct);
               },
               [=]() mutable { ops::cross_entropy_forward_backward(logits, labels, loss, grad_logits, num_correct); },
               {}, {}}};
}

// One update of the study's ten parameters (52,874 values), as the optimizer makes it.
std::vector<Case> sgd_cases(const std::string& implementation, const Tensors& t) {
  const std::vector<Shape> shapes = {{32, 3, 3, 3}, {32}, {32, 32, 3, 3}, {32}, {32, 32, 3, 3},
                                     {32},          {64, 512}, {64},      {10, 64},     {10}};
  auto params = std::make_shared<std::vector<Tensor>>(), grads = std::make_shared<std::vector<Tensor>>();
  auto buffers = std::make_shared<std::vector<Tensor>>();
  double values = 0;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    params->push_back(t.random(shapes[i], 20 + i));
    grads->push_back(t.random(shapes[i], 40 + i));
    buffers->push_back(Tensor());
    values += static_cast<double>(shapes[i].numel());
  }
  auto parameters = std::make_shared<std::vector<ops::SgdParameterTensors>>();
  for (std::size_t i = 0; i < shapes.size(); ++i) parameters->push_back({&(*params)[i], &(*grads)[i], &(*buffers)[i]});
  WorkspacePtr update_workspace = workspace();
  // Per value: weight decay (2), the step (2).
  return {Case{ops::Op::sgd, "52874 values", "", 0, implementation, 4 * values, 0, kBytes * 3 * values, 0,
               [params, grads, buffers, parameters, update_workspace] {  // parameters points into the first three
                 ops::sgd_update(*parameters, {.lr = 0.01}, false, Tensor(), update_workspace.get());
               },
               {}, {}, {}}};
}

}  // namespace

std::vector<Case> op_cases(ops::Op op, const std::string& implementation, bool fuses_relu, Device device,
                           std::int64_t N, std::int64_t divisor) {
  const Tensors t{device};
  switch (op) {
    case ops::Op::conv2d: return conv2d_cases(implementation, fuses_relu, t, N, divisor);
    case ops::Op::batch_norm2d: return batch_norm2d_cases(implementation, fuses_relu, t, N, divisor);
    case ops::Op::relu: return relu_cases(implementation, t, N, divisor);
    case ops::Op::max_pool2d: return max_pool2d_cases(implementation, fuses_relu, t, N, divisor);
    case ops::Op::linear: return linear_cases(implementation, fuses_relu, t, N, divisor);
    case ops::Op::cross_entropy: return cross_entropy_cases(implementation, t, N);
    case ops::Op::sgd: return sgd_cases(implementation, t);
    default: return {};  // step_metrics, divergence_check, gather_normalize: a few values a step
  }
}

}  // namespace minidl::bench
