// docs/autograd.md's program: checks the tape of tape.h and measures what it costs.
//
//   autograd_check [--threads N]     checks, then timings on N CPU threads (default 1)
//   autograd_check --no-timing       checks only (CI)
//
// 1. conv -> relu -> pool -> flatten -> linear -> cross-entropy: the tape's gradients
//    equal those of minidl's explicit nn::Sequential backward (f32, the default CPU
//    implementations), to float rounding.
// 2. A graph a Sequential cannot express (a weight used twice, a skip connection reusing
//    its input): the tape's gradients equal central finite differences in f64.
// 3. Time per op and per step, tape against direct calls and nn::Sequential (unless
//    --no-timing): printed, not checked.
// Exits 1 when a check fails.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "minidl/core/command_line.h"
#include "minidl/core/error.h"
#include "minidl/core/parallel.h"
#include "minidl/layers/activation.h"
#include "minidl/layers/conv2d.h"
#include "minidl/layers/cross_entropy_loss.h"
#include "minidl/layers/linear.h"
#include "minidl/layers/sequential.h"
#include "tape.h"

using namespace minidl;
using tape::Var;

namespace {

Tensor uniform(const Shape& shape, DType dtype, Generator& generator) {
  Tensor t = Tensor::empty(shape, dtype);
  t.uniform_(-1.0, 1.0, generator);
  return t;
}

Tensor labels_for(std::int64_t batch) {
  std::vector<std::int32_t> labels;
  for (std::int64_t n = 0; n < batch; ++n) labels.push_back(static_cast<std::int32_t>(n * 7 % 10));
  return Tensor::from_vector<std::int32_t>({batch}, labels);
}

// max |a - b| / max |b|, in double.
double relative_difference(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to(DType::f64).to_vector<double>(), y = b.to(DType::f64).to_vector<double>();
  double difference = 0.0, size = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    difference = std::max(difference, std::abs(x[i] - y[i]));
    size = std::max(size, std::abs(y[i]));
  }
  return difference / size;
}

// ---- 1. The tape against nn::Sequential -------------------------------------------------

// conv(3 -> C, 3x3, padding 1) -> relu -> max-pool 2 -> flatten -> linear(C*H/2*W/2 -> 10).
struct SmallNet {
  std::int64_t batch, channels, size;
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::Linear> fc;
  nn::Sequential net;

  SmallNet(std::int64_t batch, int channels, std::int64_t size, Generator& generator)
      : batch(batch), channels(channels), size(size) {
    conv = std::make_shared<nn::Conv2d>(
        nn::Conv2dOptions{.in_channels = 3, .out_channels = channels, .kernel_size = 3, .padding = 1}, generator);
    fc = std::make_shared<nn::Linear>(int(channels * size / 2 * size / 2), 10, generator);
    net.add("conv", conv).add("relu", std::make_shared<nn::ReLU>()).add("pool", std::make_shared<nn::MaxPool2d>(2));
    net.add("flatten", std::make_shared<nn::Flatten>()).add("fc", fc);
  }
};

// The same network on a tape, with parameters that start as copies of the Sequential's.
struct TapeNet {
  Var conv_weight, conv_bias, fc_weight, fc_bias;
  explicit TapeNet(SmallNet& net)
      : conv_weight(tape::leaf(net.conv->weight.value.clone(), true)),
        conv_bias(tape::leaf(net.conv->bias.value.clone(), true)),
        fc_weight(tape::leaf(net.fc->weight.value.clone(), true)),
        fc_bias(tape::leaf(net.fc->bias.value.clone(), true)) {}
  // Records the forward on t and returns the loss.
  Var loss(tape::Tape& t, const Tensor& images, const Tensor& labels) {
    Var x = t.conv2d(tape::leaf(images, false), conv_weight, conv_bias, {.stride = 1, .padding = 1});
    x = t.max_pool2d(t.relu(x), {.kernel_size = 2, .stride = 2});
    return t.cross_entropy(t.linear(t.flatten(x), fc_weight, fc_bias), labels);
  }
  void zero_grad() {
    for (const Var& v : {conv_weight, conv_bias, fc_weight, fc_bias}) v->grad = Tensor();
  }
};

// The tape calls the same ops in the same order as the Sequential (whose fusion is bit for
// bit the unfused computation), so the loss and every gradient must have the same bits.
bool tape_equals_sequential() {
  Generator generator(5);
  SmallNet small(4, 4, 8, generator);
  const Tensor images = uniform({4, 3, 8, 8}, DType::f32, generator), labels = labels_for(4);
  nn::CrossEntropyLoss criterion;
  small.net.zero_grad();
  const float sequential_loss = criterion.forward(small.net.forward(images), labels).item<float>();
  small.net.backward(criterion.backward());

  TapeNet on_tape(small);
  tape::Tape t;
  Var loss = on_tape.loss(t, images, labels);
  t.backward(loss);

  fmt::print("1. conv -> relu -> pool -> flatten -> linear -> cross-entropy, f32, batch 4, 3x8x8:\n");
  fmt::print("   loss: Sequential {:.9g}, tape {:.9g}\n", sequential_loss, loss->value.item<float>());
  bool ok = loss->value.item<float>() == sequential_loss;
  const std::pair<nn::Parameter*, Var> pairs[] = {{&small.conv->weight, on_tape.conv_weight},
                                                  {&small.conv->bias, on_tape.conv_bias},
                                                  {&small.fc->weight, on_tape.fc_weight},
                                                  {&small.fc->bias, on_tape.fc_bias}};
  for (const auto& [parameter, var] : pairs) {
    const double difference = relative_difference(var->grad, parameter->grad);
    const bool same_bits = std::memcmp(var->grad.raw_data(), parameter->grad.raw_data(), var->grad.nbytes()) == 0;
    fmt::print("   {:<12} max |tape - Sequential| / max |Sequential| = {:.1e}{}\n", parameter->name + ".grad",
               difference, same_bits ? " (the same bits)" : "");
    ok = ok && same_bits;
  }
  return ok;
}

// ---- 2. A graph with a shared weight and a skip connection, against finite differences ----

//   h = relu(conv(x, w, b));  z = conv(h, w, b) + x;  loss = cross_entropy(linear(flatten(pool(relu(z)))))
// w is used twice and x twice: their gradients are sums over both uses.
struct BranchingGraph {
  Var x, w, b, fc_weight, fc_bias;
  Tensor labels = labels_for(2);
  BranchingGraph() {
    Generator generator(11);
    x = tape::leaf(uniform({2, 4, 6, 6}, DType::f64, generator), true);
    w = tape::leaf(uniform({4, 4, 3, 3}, DType::f64, generator), true);
    b = tape::leaf(uniform({4}, DType::f64, generator), true);
    fc_weight = tape::leaf(uniform({10, 36}, DType::f64, generator), true);
    fc_bias = tape::leaf(uniform({10}, DType::f64, generator), true);
  }
  Var loss(tape::Tape& t) {
    const ops::Conv2dParams same{.stride = 1, .padding = 1};
    Var h = t.relu(t.conv2d(x, w, b, same));
    Var z = t.add(t.conv2d(h, w, b, same), x);
    Var pooled = t.max_pool2d(t.relu(z), {.kernel_size = 2, .stride = 2});
    return t.cross_entropy(t.linear(t.flatten(pooled), fc_weight, fc_bias), labels);
  }
};

bool tape_equals_finite_differences() {
  BranchingGraph graph;
  tape::Tape t;
  t.backward(graph.loss(t));
  fmt::print("2. a weight used twice and a skip connection, f64, against central differences (eps 1e-6):\n");
  bool ok = true;
  const std::pair<const char*, Var> leaves[] = {
      {"x", graph.x}, {"w", graph.w}, {"b", graph.b}, {"fc.weight", graph.fc_weight}, {"fc.bias", graph.fc_bias}};
  for (const auto& [name, var] : leaves) {
    Tensor numerical = Tensor::empty(var->value.shape(), DType::f64);
    double* value = var->value.data<double>();
    for (std::int64_t i = 0; i < var->value.numel(); ++i) {
      const double saved = value[i], eps = 1e-6;
      auto loss_at = [&](double v) {
        value[i] = v;
        tape::Tape forward_only;
        return graph.loss(forward_only)->value.item<double>();
      };
      numerical.data<double>()[i] = (loss_at(saved + eps) - loss_at(saved - eps)) / (2 * eps);
      value[i] = saved;
    }
    const double error = relative_difference(var->grad, numerical);
    fmt::print("   {:<10} relative error {:.1e}\n", name, error);
    ok = ok && error <= 1e-7;
  }
  return ok;
}

// ---- 3. What the tape costs ------------------------------------------------------------

// Microseconds per call of each body: the fastest of 5 rounds of 60 ms each, the bodies
// taking turns, so that a burst of load on the machine touches every body alike.
std::vector<double> microseconds_per_call(const std::vector<std::function<void()>>& bodies) {
  using clock = std::chrono::steady_clock;
  std::vector<double> fastest(bodies.size(), 1e300);
  for (int round = 0; round < 5; ++round)
    for (std::size_t k = 0; k < bodies.size(); ++k) {
      bodies[k]();  // warm up
      std::int64_t calls = 0;
      const auto start = clock::now();
      while (clock::now() - start < std::chrono::milliseconds(60)) {
        bodies[k]();
        ++calls;
      }
      const double us = std::chrono::duration<double, std::micro>(clock::now() - start).count() / double(calls);
      fastest[k] = std::min(fastest[k], us);
    }
  return fastest;
}

// A chain of 100 ReLUs on 64 floats: the cost of the tape per op, where the op costs little.
void time_relu_chain() {
  constexpr int kOps = 100;
  Generator generator(3);
  const Tensor x = uniform({1, 4, 4, 4}, DType::f32, generator), labels = labels_for(1);
  Tensor a = x.clone(), grad = Tensor::full(x.shape(), 1.0f);
  std::int64_t allocations = 0;
  const std::vector<double> us = microseconds_per_call({
      [&] {
        for (int i = 0; i < kOps; ++i) ops::relu_forward(a, a);
        for (int i = 0; i < kOps; ++i) ops::relu_backward(grad, a, grad);
      },
      [&] {
        tape::Tape t;
        Var v = tape::leaf(x, true);
        for (int i = 0; i < kOps; ++i) v = t.relu(v);
        t.backward(t.cross_entropy(t.flatten(v), labels));
        allocations = t.allocations;
      },
  });
  fmt::print("   {} ReLUs of 64 floats, forward and backward: direct calls {:.2f} us per ReLU, tape {:.2f} us "
             "per ReLU ({} tensors allocated)\n",
             kOps, us[0] / kOps, us[1] / kOps, allocations);
}

// Minor page faults of one call of body: first touches of memory the process got from the
// kernel, which a step that allocates its tensors afresh pays for large ones.
long page_faults_of(const std::function<void()>& body) {
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  body();
  getrusage(RUSAGE_SELF, &after);
  return after.ru_minflt - before.ru_minflt;
}

// One training step of SmallNet (no update): Sequential with and without fusion, and the tape.
void time_step(std::int64_t batch, int channels, std::int64_t size) {
  Generator generator(5);
  SmallNet fused(batch, channels, size, generator), unfused(batch, channels, size, generator);
  unfused.net.set_fusion(false);
  const Tensor images = uniform({batch, 3, size, size}, DType::f32, generator), labels = labels_for(batch);
  nn::CrossEntropyLoss criterion;
  auto sequential_step = [&](SmallNet& small) {
    small.net.zero_grad();
    criterion.forward(small.net.forward(images), labels);
    small.net.backward(criterion.backward());
  };
  TapeNet on_tape(fused);
  std::int64_t allocations = 0;
  auto tape_step = [&] {
    on_tape.zero_grad();
    tape::Tape t;
    t.backward(on_tape.loss(t, images, labels));
    allocations = t.allocations;
  };
  const std::vector<double> us = microseconds_per_call({
      [&] { sequential_step(fused); },
      [&] { sequential_step(unfused); },
      tape_step,
  });
  fmt::print("   step of the net above, batch {}, 3x{}x{}, conv to {} channels: Sequential {:.1f} us, "
             "Sequential unfused {:.1f} us, tape {:.1f} us ({} tensors allocated); page faults in one more step: "
             "Sequential {}, tape {}\n",
             batch, size, size, channels, us[0], us[1], us[2], allocations,
             page_faults_of([&] { sequential_step(fused); }), page_faults_of(tape_step));
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const bool timing = args != std::vector<std::string>{"--no-timing"};
  int threads = 1;
  try {
    if (args.size() == 2 && args[0] == "--threads")
      threads = static_cast<int>(parse_integer("--threads", args[1], 1, 999));
    else if (!args.empty() && timing)
      throw Error("unknown arguments");
  } catch (const Error&) {
    fmt::print(stderr, "usage: autograd_check [--threads N | --no-timing]\n");
    return 2;
  }
  const bool sequential_ok = tape_equals_sequential();
  const bool finite_differences_ok = tape_equals_finite_differences();
  if (timing) {
    // One thread by default: the tape's cost is host bookkeeping, and one thread is steadier on a busy machine.
    set_num_threads(threads);
    fmt::print("3. time, {} CPU thread(s) (each figure the fastest of 5 rounds of 60 ms):\n", threads);
    time_relu_chain();
    time_step(4, 4, 8);
    time_step(10, 32, 32);
  }
  const bool ok = sequential_ok && finite_differences_ok;
  fmt::print("{}\n", ok ? "autograd_check: all checks passed" : "autograd_check: FAILED");
  return ok ? 0 : 1;
}
