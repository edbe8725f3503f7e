// The registry of implementations (kernels/registry.h, kernels/implementation.h): how an
// implementation is chosen, what a wrong choice says, and one specification per op that
// every registered implementation on every device this build can run must meet: the
// CPU reference's results, computed in f64. A new implementation is tested here as soon
// as its registration line exists. Where an implementation fuses the ReLU that follows
// (kernels/epilogue.h), its fused result must be the bits of its unfused result with the
// ReLU applied after.
//
// CUDA implementations run on a GPU or in the emulated flavour; without either only the
// CPU's are checked. Sizes stay small: the emulator runs every CUDA thread as a host thread.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "gradcheck.h"
#include "minidl/core/device.h"
#include "minidl/kernels/ops.h"
#include "minidl/kernels/registry.h"
#include "test_support.h"

using namespace minidl;
using testing::require_close;

namespace {

// f32 results against the f64 reference: float sums in another order than the reference's.
constexpr double kRtol = 1e-4, kAtol = 1e-5;

// Every registered implementation of op on the devices this process can run, the CUDA
// ones only where CUDA runs (a GPU, or the emulator).
std::vector<ops::ImplementationInfo> runnable_implementations(ops::Op op) {
  std::vector<ops::ImplementationInfo> all = ops::implementations(op, DeviceType::CPU);
  if (cuda_is_available())
    for (const ops::ImplementationInfo& info : ops::implementations(op, DeviceType::CUDA)) all.push_back(info);
  return all;
}

Device device_of(const ops::ImplementationInfo& info) {
  return info.device == DeviceType::CPU ? Device::cpu() : Device::cuda();
}

// Calls check(info, device) with info chosen for op, for every runnable implementation of op.
void for_each_implementation(ops::Op op, const std::function<void(const ops::ImplementationInfo&, Device)>& check) {
  std::vector<ops::ImplementationInfo> infos = runnable_implementations(op);
  REQUIRE_FALSE(infos.empty());
  for (const ops::ImplementationInfo& info : infos) {
    INFO(ops::op_name(op) << " implementation '" << info.name << "' on "
                          << (info.device == DeviceType::CPU ? "cpu" : "cuda"));
    ops::ImplementationGuard chosen(op, info.device, info.name);
    check(info, device_of(info));
  }
}

// f64 random values on the CPU, the reference's inputs.
Tensor random64(const Shape& shape, Generator& generator, double low = -1.0, double high = 1.0) {
  return testing::random_tensor(shape, generator, DType::f64, low, high);
}

// The f64 reference input as an f32 tensor on device.
Tensor f32_on(const Tensor& reference_input, Device device) { return reference_input.to(DType::f32).to(device); }

Tensor empty_f32(const Shape& shape, Device device) { return Tensor::empty(shape, DType::f32, device); }

// An undefined tensor stays undefined.
Tensor f32_on_or_none(const Tensor& t, Device device) { return t.defined() ? f32_on(t, device) : Tensor(); }

// A result on any device, against the f64 reference.
void require_matches_reference(const Tensor& actual, const Tensor& reference, const std::string& what) {
  require_close(actual.to(Device::cpu()), reference.to(DType::f32), kRtol, kAtol, what);
}

// max(x, 0) with NaN kept, on the host: what a fused ReLU must write.
Tensor relu_of(const Tensor& t) {
  std::vector<float> values = t.to(Device::cpu()).to_vector<float>();
  for (float& value : values) value = value < 0.0f ? 0.0f : value;
  return Tensor::from_vector(t.shape(), values);
}

void require_same_bits(const Tensor& actual, const Tensor& expected, const std::string& what) {
  std::vector<float> a = actual.to(Device::cpu()).to_vector<float>(), e = expected.to(Device::cpu()).to_vector<float>();
  REQUIRE(a.size() == e.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(what << ": element " << i << " is " << a[i] << ", expected " << e[i]);
    REQUIRE(std::memcmp(&a[i], &e[i], sizeof(float)) == 0);
  }
}

}  // namespace

// What the registry says when first asked during this file's static initialization, which
// runs before the library's own files' (their objects come later in the link).
const std::vector<ops::ImplementationInfo> conv2d_at_static_initialization =
    ops::implementations(ops::Op::conv2d, DeviceType::CPU);

TEST_CASE("the registry serves its dtypes when first used during static initialization") {
  REQUIRE_FALSE(conv2d_at_static_initialization.empty());
  for (const ops::ImplementationInfo& info : conv2d_at_static_initialization) {
    INFO(info.name);
    REQUIRE_FALSE(info.dtypes.empty());
  }
}

// ---- choosing --------------------------------------------------------------------------

TEST_CASE("every op has a cpu reference that serves f32 and f64 or the f32 it needs") {
  for (ops::Op op : ops::all_ops()) {
    INFO(ops::op_name(op));
    bool has_reference = false;
    for (const ops::ImplementationInfo& info : ops::implementations(op, DeviceType::CPU))
      has_reference = has_reference || info.name == "reference";
    REQUIRE(has_reference);
  }
}

TEST_CASE("by default an op runs its first registered implementation that serves the dtype") {
  ops::reset_implementations();
  REQUIRE(ops::implementation(ops::Op::conv2d, DeviceType::CPU, DType::f32).name == "gemm");
  REQUIRE(ops::implementation(ops::Op::conv2d, DeviceType::CPU, DType::f64).name == "reference");
  REQUIRE(ops::implementation(ops::Op::max_pool2d, DeviceType::CPU).name == "vectorized");
  REQUIRE(ops::implementation(ops::Op::relu, DeviceType::CPU).name == "reference");
  REQUIRE_FALSE(ops::implementation_chosen(ops::Op::conv2d, DeviceType::CPU));
  REQUIRE(ops::implementations(ops::Op::conv2d, DeviceType::CPU).front().name == "gemm");
  if (!cuda_is_built()) return;
  // On CUDA the fastest rung of minidl's own kernels, each of which fuses the ReLU.
  REQUIRE(ops::implementation(ops::Op::conv2d, DeviceType::CUDA).name == "blocked");
  REQUIRE(ops::implementation(ops::Op::linear, DeviceType::CUDA).name == "blocked");
  REQUIRE(ops::implementation(ops::Op::batch_norm2d, DeviceType::CUDA).name == "split");
  REQUIRE(ops::implementation(ops::Op::max_pool2d, DeviceType::CUDA).name == "windows");
  for (ops::Op op : {ops::Op::conv2d, ops::Op::linear, ops::Op::batch_norm2d, ops::Op::max_pool2d})
    REQUIRE(ops::implementation(op, DeviceType::CUDA).fuses_relu);
}

TEST_CASE("a chosen implementation runs until the guard that chose it ends") {
  {
    ops::ImplementationGuard guard(ops::Op::conv2d, DeviceType::CPU, "reference");
    REQUIRE(ops::implementation(ops::Op::conv2d, DeviceType::CPU).name == "reference");
    REQUIRE(ops::implementation_chosen(ops::Op::conv2d, DeviceType::CPU));
    REQUIRE_THAT(ops::implementations_summary(DeviceType::CPU), Catch::Contains("conv2d=reference"));
  }
  REQUIRE(ops::implementation(ops::Op::conv2d, DeviceType::CPU).name == "gemm");
  REQUIRE_FALSE(ops::implementation_chosen(ops::Op::conv2d, DeviceType::CPU));
  REQUIRE(ops::implementations_summary(DeviceType::CPU) ==
          "conv2d=gemm+relu max_pool2d=vectorized relu=reference batch_norm2d=vectorized linear=gemm "
          "cross_entropy=reference sgd=reference step_metrics=reference divergence_check=reference "
          "gather_normalize=reference");
}

TEST_CASE("a chosen implementation that does not serve the dtype is an error naming op implementation and dtype") {
  ops::ImplementationGuard gemm(ops::Op::conv2d, DeviceType::CPU, "gemm");
  Tensor input = Tensor::zeros({1, 1, 4, 4}, DType::f64), weight = Tensor::zeros({1, 1, 3, 3}, DType::f64);
  Tensor output = Tensor::empty({1, 1, 2, 2}, DType::f64);
  REQUIRE_THROWS_MINIDL(ops::conv2d_forward(input, weight, Tensor(), output, {}),
                        "conv2d on cpu: implementation 'gemm' does not serve dtype f64 (it serves f32)");
}

TEST_CASE("asking for an implementation this build lacks names the choices") {
  REQUIRE_THROWS_MINIDL(ops::set_implementation(ops::Op::conv2d, DeviceType::CPU, "cudnn"),
                        "conv2d on cpu: this build has no 'cudnn' implementation (choose from gemm, reference)");
  REQUIRE_THROWS_MINIDL(ops::set_implementation(ops::Op::relu, DeviceType::CPU, "gemm"),
                        "relu on cpu: this build has no 'gemm' implementation (choose from reference)");
  REQUIRE_THROWS_MINIDL(ops::set_implementation("conv2d", DeviceType::CPU), "expected OP=NAME, got 'conv2d'");
  REQUIRE_THROWS_MINIDL(ops::set_implementation("conv=gemm", DeviceType::CPU), "unknown op 'conv'");
  REQUIRE(ops::parse_op("batch_norm2d") == ops::Op::batch_norm2d);
  if (!cuda_is_built())
    REQUIRE_THROWS_MINIDL(ops::set_implementation(ops::Op::conv2d, DeviceType::CUDA, "cublas"),
                          "conv2d on cuda: this build has no implementation (built without CUDA)");
}

TEST_CASE("a registry refuses a name twice on one device and a tensor larger than an implementation indexes") {
  ops::OpRegistry<ops::ReluFunctions> registry(ops::Op::relu);
  auto forward = [](const ops::ReluForwardArgs&) {};
  auto backward = [](const ops::ReluBackwardArgs&) {};
  registry.add({"small", DeviceType::CPU, {DType::f32}, 8, false, "indexes 8 elements"}, {forward, backward});
  REQUIRE_THROWS_MINIDL(
      registry.add({"small", DeviceType::CPU, {DType::f32}, 8, false, "again"}, {forward, backward}),
      "relu on cpu: implementation 'small' is registered twice");
  registry.add({"small", DeviceType::CUDA, {DType::f32}, 8, false, "the same name on another device"},
               {forward, backward});
  Tensor eight = Tensor::zeros({8}), nine = Tensor::zeros({9});
  REQUIRE_NOTHROW(registry.select(DeviceType::CPU, DType::f32, {&eight}));
  REQUIRE_THROWS_MINIDL(registry.select(DeviceType::CPU, DType::f32, {&eight, &nine}),
                        "relu on cpu: implementation 'small' indexes tensors of at most 8 elements, got one of "
                        "shape (9) (9 elements)");
}

TEST_CASE("the registry's listing names every implementation with what it serves") {
  const std::string listing = ops::registry_listing();
  REQUIRE_THAT(listing, Catch::Contains("cpu conv2d gemm f32 any size fuses relu: "));
  REQUIRE_THAT(listing, Catch::Contains("cpu conv2d reference f32, f64 any size: "));
  std::size_t lines = 0;
  for (ops::Op op : ops::all_ops())
    lines += ops::implementations(op, DeviceType::CPU).size() + ops::implementations(op, DeviceType::CUDA).size();
  REQUIRE(static_cast<std::size_t>(std::count(listing.begin(), listing.end(), '\n')) == lines);
}

TEST_CASE("an implementation that does not fuse relu refuses to be asked to") {
  ops::ImplementationGuard reference(ops::Op::conv2d, DeviceType::CPU, "reference");
  if (ops::implementation(ops::Op::conv2d, DeviceType::CPU).fuses_relu) return;  // nothing to refuse
  Tensor input = Tensor::zeros({1, 1, 4, 4}), weight = Tensor::zeros({1, 1, 3, 3}), output = Tensor::empty({1, 1, 2, 2});
  REQUIRE_THROWS_MINIDL(ops::conv2d_forward(input, weight, Tensor(), output, {}, ops::Activation::relu),
                        "conv2d on cpu: implementation 'reference' does not fuse a ReLU");
}

// ---- every implementation of every op against the reference ------------------------------

TEST_CASE("every implementation of conv2d computes the reference's output and gradients") {
  struct Case {
    Shape input, weight;
    ops::Conv2dParams params;
    bool bias, input_grad;
  };
  const std::vector<Case> cases = {
      {{2, 3, 7, 9}, {5, 3, 3, 3}, {.stride = 1, .padding = 1}, true, false},  // as conv1: no input gradient
      {{2, 4, 6, 5}, {6, 4, 3, 3}, {.stride = 2, .padding = 1}, true, true},
      {{1, 2, 6, 5}, {3, 2, 2, 3}, {.stride = 2, .padding = 0}, false, true},
      {{2, 32, 8, 8}, {32, 32, 3, 3}, {.stride = 1, .padding = 1}, true, true},  // as conv3
  };
  std::uint64_t seed = 100;
  for (const Case& c : cases) {
    INFO("input " << c.input.str() << " weight " << c.weight.str() << " stride " << c.params.stride);
    Generator generator(seed++);
    const Shape output_shape = ops::conv2d_output_shape(c.input, c.weight, c.params);
    Tensor input = random64(c.input, generator), weight = random64(c.weight, generator, -0.3, 0.3);
    Tensor bias = c.bias ? random64({c.weight[0]}, generator) : Tensor();
    Tensor grad_output = random64(output_shape, generator);
    Tensor grad_weight_start = random64(c.weight, generator), grad_bias_start = random64({c.weight[0]}, generator);
    // The reference, in f64.
    Tensor output = Tensor::empty(output_shape, DType::f64);
    Tensor grad_input = c.input_grad ? Tensor::empty(c.input, DType::f64) : Tensor();
    Tensor grad_weight = grad_weight_start.clone(), grad_bias = c.bias ? grad_bias_start.clone() : Tensor();
    ops::conv2d_forward(input, weight, bias, output, c.params);
    ops::conv2d_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias, c.params);

    for_each_implementation(ops::Op::conv2d, [&](const ops::ImplementationInfo& info, Device device) {
      Tensor x = f32_on(input, device), w = f32_on(weight, device), b = f32_on_or_none(bias, device);
      Tensor y = empty_f32(output_shape, device);
      ops::conv2d_forward(x, w, b, y, c.params);
      require_matches_reference(y, output, "output");
      Tensor dx = c.input_grad ? empty_f32(c.input, device) : Tensor();
      Tensor dw = f32_on(grad_weight_start, device), db = c.bias ? f32_on(grad_bias_start, device) : Tensor();
      ops::conv2d_backward(f32_on(grad_output, device), x, w, dx, dw, db, c.params);
      if (c.input_grad) require_matches_reference(dx, grad_input, "grad_input");
      require_matches_reference(dw, grad_weight, "grad_weight (accumulated)");
      if (c.bias) require_matches_reference(db, grad_bias, "grad_bias (accumulated)");
      if (info.fuses_relu) {
        Tensor fused = empty_f32(output_shape, device);
        ops::conv2d_forward(x, w, b, fused, c.params, ops::Activation::relu);
        require_same_bits(fused, relu_of(y), "output with the fused relu");
      }
    });
  }
}

TEST_CASE("every implementation of linear computes the reference's output and gradients") {
  struct Case {
    std::int64_t N, in, out;
    bool bias, input_grad;
  };
  const std::vector<Case> cases = {{19, 37, 21, true, true}, {5, 64, 10, false, true}, {10, 512, 64, true, true},
                                   {3, 7, 5, true, false}};
  std::uint64_t seed = 200;
  for (const Case& c : cases) {
    INFO("N " << c.N << " in " << c.in << " out " << c.out);
    Generator generator(seed++);
    Tensor input = random64({c.N, c.in}, generator), weight = random64({c.out, c.in}, generator, -0.3, 0.3);
    Tensor bias = c.bias ? random64({c.out}, generator) : Tensor();
    Tensor grad_output = random64({c.N, c.out}, generator);
    Tensor grad_weight_start = random64({c.out, c.in}, generator), grad_bias_start = random64({c.out}, generator);
    Tensor output = Tensor::empty({c.N, c.out}, DType::f64);
    Tensor grad_input = c.input_grad ? Tensor::empty({c.N, c.in}, DType::f64) : Tensor();
    Tensor grad_weight = grad_weight_start.clone(), grad_bias = c.bias ? grad_bias_start.clone() : Tensor();
    ops::linear_forward(input, weight, bias, output);
    ops::linear_backward(grad_output, input, weight, grad_input, grad_weight, grad_bias);

    for_each_implementation(ops::Op::linear, [&](const ops::ImplementationInfo& info, Device device) {
      Tensor x = f32_on(input, device), w = f32_on(weight, device), b = f32_on_or_none(bias, device);
      Tensor y = empty_f32({c.N, c.out}, device);
      ops::linear_forward(x, w, b, y);
      require_matches_reference(y, output, "output");
      Tensor dx = c.input_grad ? empty_f32({c.N, c.in}, device) : Tensor();
      Tensor dw = f32_on(grad_weight_start, device), db = c.bias ? f32_on(grad_bias_start, device) : Tensor();
      ops::linear_backward(f32_on(grad_output, device), x, w, dx, dw, db);
      if (c.input_grad) require_matches_reference(dx, grad_input, "grad_input");
      require_matches_reference(dw, grad_weight, "grad_weight (accumulated)");
      if (c.bias) require_matches_reference(db, grad_bias, "grad_bias (accumulated)");
      if (info.fuses_relu) {
        Tensor fused = empty_f32({c.N, c.out}, device);
        ops::linear_forward(x, w, b, fused, ops::Activation::relu);
        require_same_bits(fused, relu_of(y), "output with the fused relu");
      }
    });
  }
}

TEST_CASE("every implementation of batch_norm2d computes the reference's outputs statistics and gradients") {
  const std::vector<Shape> shapes = {{3, 4, 5, 6}, {2, 8, 4, 4}, {7, 3, 1, 1}};
  const ops::BatchNormParams params{.eps = 1e-5, .momentum = 0.1};
  std::uint64_t seed = 300;
  for (const Shape& shape : shapes) {
    INFO("input " << shape.str());
    const std::int64_t C = shape[1];
    Generator generator(seed++);
    Tensor input = random64(shape, generator, -2.0, 3.0), weight = random64({C}, generator, 0.5, 1.5);
    Tensor bias = random64({C}, generator), grad_output = random64(shape, generator);
    Tensor running_mean_start = random64({C}, generator), running_var_start = random64({C}, generator, 0.5, 2.0);
    Tensor grad_weight_start = random64({C}, generator), grad_bias_start = random64({C}, generator);
    // The reference, in f64: training forward and backward, evaluation forward and backward.
    Tensor running_mean = running_mean_start.clone(), running_var = running_var_start.clone();
    Tensor output = Tensor::empty(shape, DType::f64), save_mean = Tensor::empty({C}, DType::f64);
    Tensor save_invstd = Tensor::empty({C}, DType::f64), grad_input = Tensor::empty(shape, DType::f64);
    Tensor grad_weight = grad_weight_start.clone(), grad_bias = grad_bias_start.clone();
    ops::batch_norm2d_forward_train(input, weight, bias, running_mean, running_var, output, save_mean, save_invstd,
                                    params);
    ops::batch_norm2d_backward_train(grad_output, input, weight, save_mean, save_invstd, grad_input, grad_weight,
                                     grad_bias);
    Tensor eval_output = Tensor::empty(shape, DType::f64), eval_grad_input = Tensor::empty(shape, DType::f64);
    Tensor eval_grad_weight = grad_weight_start.clone(), eval_grad_bias = grad_bias_start.clone();
    ops::batch_norm2d_forward_eval(input, weight, bias, running_mean_start, running_var_start, eval_output, params);
    ops::batch_norm2d_backward_eval(grad_output, input, weight, running_mean_start, running_var_start, eval_grad_input,
                                    eval_grad_weight, eval_grad_bias, params);

    for_each_implementation(ops::Op::batch_norm2d, [&](const ops::ImplementationInfo& info, Device device) {
      Tensor x = f32_on(input, device), w = f32_on(weight, device), b = f32_on(bias, device);
      Tensor dy = f32_on(grad_output, device);
      Tensor rm = f32_on(running_mean_start, device), rv = f32_on(running_var_start, device);
      Tensor y = empty_f32(shape, device), mean = empty_f32({C}, device), invstd = empty_f32({C}, device);
      ops::batch_norm2d_forward_train(x, w, b, rm, rv, y, mean, invstd, params);
      require_matches_reference(y, output, "output");
      require_matches_reference(rm, running_mean, "running_mean");
      require_matches_reference(rv, running_var, "running_var");
      require_matches_reference(mean, save_mean, "save_mean");
      require_matches_reference(invstd, save_invstd, "save_invstd");
      Tensor dx = empty_f32(shape, device), dw = f32_on(grad_weight_start, device), db = f32_on(grad_bias_start, device);
      ops::batch_norm2d_backward_train(dy, x, w, mean, invstd, dx, dw, db);
      require_matches_reference(dx, grad_input, "grad_input");
      require_matches_reference(dw, grad_weight, "grad_weight (accumulated)");
      require_matches_reference(db, grad_bias, "grad_bias (accumulated)");

      Tensor rm_start = f32_on(running_mean_start, device), rv_start = f32_on(running_var_start, device);
      Tensor eval_y = empty_f32(shape, device);
      ops::batch_norm2d_forward_eval(x, w, b, rm_start, rv_start, eval_y, params);
      require_matches_reference(eval_y, eval_output, "evaluation output");
      Tensor eval_dx = empty_f32(shape, device);
      Tensor eval_dw = f32_on(grad_weight_start, device), eval_db = f32_on(grad_bias_start, device);
      ops::batch_norm2d_backward_eval(dy, x, w, rm_start, rv_start, eval_dx, eval_dw, eval_db, params);
      require_matches_reference(eval_dx, eval_grad_input, "evaluation grad_input");
      require_matches_reference(eval_dw, eval_grad_weight, "evaluation grad_weight (accumulated)");
      require_matches_reference(eval_db, eval_grad_bias, "evaluation grad_bias (accumulated)");

      if (info.fuses_relu) {
        Tensor fused = empty_f32(shape, device);
        Tensor rm2 = f32_on(running_mean_start, device), rv2 = f32_on(running_var_start, device);
        Tensor mean2 = empty_f32({C}, device), invstd2 = empty_f32({C}, device);
        ops::batch_norm2d_forward_train(x, w, b, rm2, rv2, fused, mean2, invstd2, params, ops::Activation::relu);
        require_same_bits(fused, relu_of(y), "training output with the fused relu");
        require_same_bits(rm2, rm, "running_mean with the fused relu");
        Tensor fused_eval = empty_f32(shape, device);
        ops::batch_norm2d_forward_eval(x, w, b, rm_start, rv_start, fused_eval, params, ops::Activation::relu);
        require_same_bits(fused_eval, relu_of(eval_y), "evaluation output with the fused relu");
      }
    });
  }
}

TEST_CASE("every implementation of max_pool2d routes values and gradients as the reference") {
  struct Case {
    Shape input;
    ops::MaxPool2dParams params;
  };
  const std::vector<Case> cases = {{{2, 3, 8, 8}, {2, 2}}, {{1, 2, 7, 5}, {3, 2}}, {{2, 32, 6, 6}, {2, 2}}};
  std::uint64_t seed = 400;
  for (const Case& c : cases) {
    INFO("input " << c.input.str() << " kernel " << c.params.kernel_size << " stride " << c.params.stride);
    Generator generator(seed++);
    const Shape output_shape = ops::max_pool2d_output_shape(c.input, c.params);
    // Values on a coarse grid, so windows hold ties (the first maximum wins), and a NaN.
    Tensor input = random64(c.input, generator, -4.0, 4.0);
    for (std::int64_t i = 0; i < input.numel(); ++i) input.data<double>()[i] = std::round(input.data<double>()[i]);
    input.data<double>()[5] = std::nan("");
    Tensor grad_output = random64(output_shape, generator);
    // Pooling moves values and adds at most a few gradients, in the reference's order: the
    // reference runs in f32 here, and every implementation must give its bits.
    Tensor output = Tensor::empty(output_shape), indices = Tensor::empty(output_shape, DType::i32);
    Tensor grad_input = Tensor::empty(c.input);
    {
      ops::ImplementationGuard reference(ops::Op::max_pool2d, DeviceType::CPU, "reference");
      ops::max_pool2d_forward(input.to(DType::f32), output, indices, c.params);
      ops::max_pool2d_backward(grad_output.to(DType::f32), indices, grad_input, c.params);
    }

    for_each_implementation(ops::Op::max_pool2d, [&](const ops::ImplementationInfo& info, Device device) {
      Tensor x = f32_on(input, device), y = empty_f32(output_shape, device);
      Tensor idx = Tensor::empty(output_shape, DType::i32, device);
      ops::max_pool2d_forward(x, y, idx, c.params);
      require_same_bits(y, output, "output");
      REQUIRE(idx.to_vector<std::int32_t>() == indices.to_vector<std::int32_t>());
      Tensor dx = empty_f32(c.input, device);
      ops::max_pool2d_backward(f32_on(grad_output, device), idx, dx, c.params);
      require_same_bits(dx, grad_input, "grad_input");
      if (info.fuses_relu) {
        // The pooled input is a ReLU's output: the unfused path is the pool's backward, then the ReLU's.
        Tensor relu_output = relu_of(x).to(device), pooled = empty_f32(output_shape, device);
        ops::max_pool2d_forward(relu_output, pooled, idx, c.params);
        Tensor routed = empty_f32(c.input, device), unfused = empty_f32(c.input, device);
        ops::max_pool2d_backward(f32_on(grad_output, device), idx, routed, c.params);
        ops::relu_backward(routed, relu_output, unfused);
        Tensor fused = empty_f32(c.input, device);
        ops::max_pool2d_backward(f32_on(grad_output, device), idx, fused, c.params, true, pooled);
        require_same_bits(fused, unfused, "grad_input with the fused relu backward");
      }
    });
  }
}

TEST_CASE("every implementation of relu computes the reference's output and gradient NaN included") {
  Generator generator(500);
  Tensor input = random64({3, 5, 7}, generator);
  input.data<double>()[0] = std::nan("");
  input.data<double>()[1] = 0.0;
  Tensor grad_output = random64({3, 5, 7}, generator);
  Tensor output = Tensor::empty({3, 5, 7}, DType::f64), grad_input = Tensor::empty({3, 5, 7}, DType::f64);
  ops::relu_forward(input, output);
  ops::relu_backward(grad_output, output, grad_input);
  REQUIRE(std::isnan(output.data<double>()[0]));
  REQUIRE(grad_input.data<double>()[0] == grad_output.data<double>()[0]);  // PyTorch passes it on
  REQUIRE(grad_input.data<double>()[1] == 0.0);                           // the gradient at 0 is 0
  for_each_implementation(ops::Op::relu, [&](const ops::ImplementationInfo&, Device device) {
    Tensor x = f32_on(input, device), y = empty_f32(x.shape(), device), dx = empty_f32(x.shape(), device);
    ops::relu_forward(x, y);
    require_same_bits(y, output.to(DType::f32), "output");
    ops::relu_backward(f32_on(grad_output, device), y, dx);
    require_same_bits(dx, grad_input.to(DType::f32), "grad_input");
  });
}

TEST_CASE("every implementation of cross_entropy computes the reference's loss gradient and count") {
  for (auto [rows, classes] : {std::pair<std::int64_t, std::int64_t>{10, 10}, {37, 13}, {3, 40}}) {
    const std::int64_t N = rows, K = classes;  // lambdas below capture these (clang 14 cannot capture bindings)
    INFO("N " << N << " K " << K);
    Generator generator(600 + N);
    Tensor logits = random64({N, K}, generator, -5.0, 5.0);
    std::vector<std::int32_t> label_values(static_cast<std::size_t>(N));
    for (std::int64_t n = 0; n < N; ++n) label_values[n] = static_cast<std::int32_t>((n * 7) % K);
    Tensor labels = Tensor::from_vector<std::int32_t>({N}, label_values);
    Tensor loss = Tensor::empty({1}, DType::f64), grad_logits = Tensor::empty({N, K}, DType::f64);
    Tensor num_correct = Tensor::empty({1}, DType::i32);
    ops::cross_entropy_forward_backward(logits, labels, loss, grad_logits, num_correct);
    for_each_implementation(ops::Op::cross_entropy, [&](const ops::ImplementationInfo&, Device device) {
      Tensor l = empty_f32({1}, device), g = empty_f32({N, K}, device);
      Tensor correct = Tensor::empty({1}, DType::i32, device);
      ops::cross_entropy_forward_backward(f32_on(logits, device), labels.to(device), l, g, correct);
      require_matches_reference(l, loss, "loss");
      require_matches_reference(g, grad_logits, "grad_logits");
      REQUIRE(correct.item<std::int32_t>() == num_correct.item<std::int32_t>());
    });
  }
}

TEST_CASE("every implementation of sgd updates several parameters as the reference") {
  const std::vector<std::int64_t> sizes = {1, 300, 2049};
  const std::vector<ops::SgdParams> settings = {{.lr = 0.1},
                                                {.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 1e-2},
                                                {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true}};
  std::uint64_t seed = 700;
  for (const ops::SgdParams& params : settings) {
    INFO("lr " << params.lr << " momentum " << params.momentum << " nesterov " << params.nesterov);
    Generator generator(seed++);
    std::vector<Tensor> start, grads;
    for (std::int64_t size : sizes) {
      start.push_back(random64({size}, generator));
      grads.push_back(random64({size}, generator));
    }
    // Two steps of the reference, in f64: the first momentum step, then one after it.
    std::vector<Tensor> expected, expected_buffers;
    std::vector<ops::SgdParameterTensors> reference;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      expected.push_back(start[i].clone());
      expected_buffers.push_back(Tensor::zeros({sizes[i]}, DType::f64));
    }
    for (std::size_t i = 0; i < sizes.size(); ++i) reference.push_back({&expected[i], &grads[i], &expected_buffers[i]});
    ops::sgd_update(reference, params, true);
    ops::sgd_update(reference, params, false);

    for_each_implementation(ops::Op::sgd, [&](const ops::ImplementationInfo&, Device device) {
      std::vector<Tensor> values, gradients, buffers;
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        values.push_back(f32_on(start[i], device));
        gradients.push_back(f32_on(grads[i], device));
        buffers.push_back(Tensor::zeros({sizes[i]}, DType::f32, device));
      }
      std::vector<ops::SgdParameterTensors> parameters;
      for (std::size_t i = 0; i < sizes.size(); ++i) parameters.push_back({&values[i], &gradients[i], &buffers[i]});
      ops::Workspace workspace;  // as an optimizer keeps one from step to step
      ops::sgd_update(parameters, params, true, Tensor(), &workspace);
      ops::sgd_update(parameters, params, false, Tensor(), &workspace);
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        require_matches_reference(values[i], expected[i], "param");
        if (params.momentum != 0.0) require_matches_reference(buffers[i], expected_buffers[i], "momentum_buffer");
      }
      // A skipped step changes nothing.
      Tensor skip = Tensor::full({1}, 1.0, DType::i64, device);
      std::vector<Tensor> before;
      for (const Tensor& value : values) before.push_back(value.to(Device::cpu()));
      ops::sgd_update(parameters, params, false, skip, &workspace);
      for (std::size_t i = 0; i < sizes.size(); ++i) require_same_bits(values[i], before[i], "param after a skip");
    });
  }
}

TEST_CASE("every implementation of step_metrics divergence_check and gather_normalize computes the reference's") {
  for_each_implementation(ops::Op::step_metrics, [&](const ops::ImplementationInfo&, Device device) {
    Tensor total = Tensor::full({1}, 1.5, DType::f64, device), correct = Tensor::full({1}, 4, DType::i64, device);
    ops::accumulate_step_metrics(Tensor::full({1}, 0.25, DType::f32, device), Tensor::full({1}, 3, DType::i32, device),
                                 total, correct);
    REQUIRE(total.item<double>() == 1.75);
    REQUIRE(correct.item<std::int64_t>() == 7);
  });

  for_each_implementation(ops::Op::divergence_check, [&](const ops::ImplementationInfo&, Device device) {
    Tensor loss = Tensor::full({1}, 0.5, DType::f32, device);
    Tensor finite = Tensor::full({700}, 1.0, DType::f32, device);
    std::vector<float> with_inf(1000, 2.0f);
    with_inf[999] = INFINITY;
    Tensor not_finite = Tensor::from_vector<float>({1000}, with_inf, device);
    // state: first bad step, bad steps, and the step being checked, counted by the check.
    Tensor state = Tensor::from_vector<std::int64_t>({3}, {-1, 0, 1}, device), skip = Tensor::zeros({1}, DType::i64, device);
    const std::vector<const Tensor*> good{&finite}, bad{&finite, &not_finite};
    ops::divergence_check(loss, good, false, state, skip);  // step 1
    REQUIRE(state.to_vector<std::int64_t>() == std::vector<std::int64_t>{-1, 0, 2});
    REQUIRE(skip.item<std::int64_t>() == 0);
    ops::divergence_check(loss, bad, false, state, skip);  // step 2
    REQUIRE(state.to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 1, 3});
    REQUIRE(skip.item<std::int64_t>() == 1);
    ops::divergence_check(loss, good, false, state, skip);  // skip the bad steps only
    REQUIRE(skip.item<std::int64_t>() == 0);
    ops::divergence_check(loss, good, true, state, skip);  // stop from the first bad step on
    REQUIRE(skip.item<std::int64_t>() == 1);
    REQUIRE(state.to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 1, 5});
  });

  Generator generator(800);
  Tensor images = Tensor::empty({5, 3, 4, 4}, DType::u8);
  for (std::int64_t i = 0; i < images.numel(); ++i)
    images.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(generator.next_below(256));
  Tensor indices = Tensor::from_vector<std::int64_t>({3}, {4, 0, 4});
  Tensor mean = Tensor::from_vector<float>({3}, {0.4914f, 0.4822f, 0.4465f});
  Tensor stddev = Tensor::from_vector<float>({3}, {0.2023f, 0.1994f, 0.2010f});
  Tensor expected = Tensor::empty({3, 3, 4, 4});
  for (std::int64_t b = 0; b < 3; ++b)
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t p = 0; p < 16; ++p) {
        const std::int64_t image = indices.data<std::int64_t>()[b];
        const float pixel = images.data<std::uint8_t>()[(image * 3 + c) * 16 + p];
        expected.data<float>()[(b * 3 + c) * 16 + p] = (pixel / 255.0f - mean.data<float>()[c]) / stddev.data<float>()[c];
      }
  for_each_implementation(ops::Op::gather_normalize, [&](const ops::ImplementationInfo&, Device device) {
    Tensor output = empty_f32({3, 3, 4, 4}, device);
    ops::gather_normalize(images.to(device), indices.to(device), mean.to(device), stddev.to(device), output);
    require_same_bits(output, expected, "output");
  });
}
