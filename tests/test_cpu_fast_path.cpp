// Specification of the CPU fast path: the thread pool, the blocked GEMM, conv2d
// and linear through im2col + GEMM, and the vectorized batch_norm2d and max_pool2d,
// against the plain-loop reference; bitwise independence of the thread count, and
// the run-time choice of implementation.
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "minidl/core/parallel.h"
#include "gradcheck.h"
#include "minidl/kernels/batch_norm2d.h"
#include "minidl/kernels/conv2d.h"
#include "minidl/kernels/cpu/gemm.h"
#include "minidl/kernels/implementation.h"
#include "minidl/kernels/linear.h"
#include "minidl/kernels/max_pool2d.h"
#include "minidl/layers/cross_entropy_loss.h"
#include "minidl/layers/networks.h"
#include "minidl/optim/sgd.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// Restores the thread count a test changed.
struct ThreadCountGuard {
  int saved = num_threads();
  ~ThreadCountGuard() { set_num_threads(saved); }
};

std::vector<float> random_floats(std::int64_t count, std::uint64_t seed) {
  Generator generator(seed);
  return random_tensor({count}, generator, DType::f32).to_vector<float>();
}

// C = A·B (+ C) in double: the oracle for gemm. A and B are read through their views.
std::vector<float> naive_gemm(std::int64_t M, std::int64_t N, std::int64_t K, cpu::MatrixView a, cpu::MatrixView b,
                              std::vector<float> c, bool accumulate) {
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t j = 0; j < N; ++j) {
      double sum = accumulate ? c[i * N + j] : 0.0;
      for (std::int64_t k = 0; k < K; ++k)
        sum += static_cast<double>(a.data[i * a.row_stride + k * a.column_stride]) *
               b.data[k * b.row_stride + j * b.column_stride];
      c[i * N + j] = static_cast<float>(sum);
    }
  return c;
}

void require_close_floats(const std::vector<float>& actual, const std::vector<float>& expected, double tolerance) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i);
    REQUIRE(std::abs(actual[i] - expected[i]) <= tolerance * (1.0 + std::abs(expected[i])));
  }
}

struct ConvCase {
  Shape input;
  Shape weight;
  ops::Conv2dParams params;
};

// The study's three shapes at a small batch, and shapes that hit every edge of
// the blocking: odd sizes, stride 2, no padding, kernels taller than the image.
const ConvCase kConvCases[] = {
    {{2, 3, 32, 32}, {32, 3, 3, 3}, {.stride = 1, .padding = 1}},
    {{3, 32, 16, 16}, {32, 32, 3, 3}, {.stride = 1, .padding = 1}},
    {{2, 32, 8, 8}, {32, 32, 3, 3}, {.stride = 1, .padding = 1}},
    {{3, 2, 6, 5}, {7, 2, 3, 2}, {.stride = 2, .padding = 1}},
    {{1, 2, 7, 4}, {2, 2, 2, 3}, {.stride = 2, .padding = 0}},
    {{2, 3, 2, 3}, {5, 3, 3, 3}, {.stride = 1, .padding = 1}},
};

struct ConvResult {
  Tensor output, grad_input, grad_weight, grad_bias;
};

// Forward and backward of one case, with the implementation chosen now.
ConvResult run_conv(const ConvCase& c, std::uint64_t seed) {
  Generator generator(seed);
  Tensor input = random_tensor(c.input, generator, DType::f32);
  Tensor weight = random_tensor(c.weight, generator, DType::f32);
  Tensor bias = random_tensor({c.weight[0]}, generator, DType::f32);
  ConvResult r;
  r.output = Tensor::empty(ops::conv2d_output_shape(c.input, c.weight, c.params));
  ops::conv2d_forward(input, weight, bias, r.output, c.params);
  Tensor grad_output = random_tensor(r.output.shape(), generator, DType::f32);
  r.grad_input = Tensor::empty(c.input);
  // Parameter gradients accumulate: start them from a non-zero value.
  r.grad_weight = Tensor::full(c.weight, 0.25);
  r.grad_bias = Tensor::full({c.weight[0]}, -0.5);
  ops::conv2d_backward(grad_output, input, weight, r.grad_input, r.grad_weight, r.grad_bias, c.params);
  return r;
}

// What batch_norm2d's training forward and backward, then its evaluation forward
// and backward, write for one input, with the implementation chosen now.
struct BatchNormResult {
  Tensor output, save_mean, save_invstd, running_mean, running_var, grad_input, grad_weight, grad_bias;
  Tensor eval_output, eval_grad_input, eval_grad_weight, eval_grad_bias;
};

BatchNormResult run_batch_norm(const Shape& shape, std::uint64_t seed) {
  Generator generator(seed);
  const std::int64_t C = shape[1];
  // An offset larger than the spread, as after a ReLU, tests the centring.
  Tensor input = random_tensor(shape, generator, DType::f32, 2.0, 5.0);
  Tensor grad_output = random_tensor(shape, generator, DType::f32);
  Tensor weight = random_tensor({C}, generator, DType::f32, 0.5, 1.5);
  Tensor bias = random_tensor({C}, generator, DType::f32);
  BatchNormResult r;
  r.output = Tensor::empty(shape);
  r.save_mean = Tensor::empty({C});
  r.save_invstd = Tensor::empty({C});
  r.running_mean = random_tensor({C}, generator, DType::f32);
  r.running_var = random_tensor({C}, generator, DType::f32, 0.5, 2.0);
  ops::batch_norm2d_forward_train(input, weight, bias, r.running_mean, r.running_var, r.output, r.save_mean,
                                  r.save_invstd, {});
  // Parameter gradients accumulate: start them from a non-zero value.
  r.grad_input = Tensor::empty(shape);
  r.grad_weight = Tensor::full({C}, 0.25);
  r.grad_bias = Tensor::full({C}, -0.5);
  ops::batch_norm2d_backward_train(grad_output, input, weight, r.save_mean, r.save_invstd, r.grad_input,
                                   r.grad_weight, r.grad_bias);
  r.eval_output = Tensor::empty(shape);
  ops::batch_norm2d_forward_eval(input, weight, bias, r.running_mean, r.running_var, r.eval_output, {});
  r.eval_grad_input = Tensor::empty(shape);
  r.eval_grad_weight = Tensor::full({C}, 0.25);
  r.eval_grad_bias = Tensor::full({C}, -0.5);
  ops::batch_norm2d_backward_eval(grad_output, input, weight, r.running_mean, r.running_var, r.eval_grad_input,
                                  r.eval_grad_weight, r.eval_grad_bias, {});
  return r;
}

std::vector<std::pair<const char*, const Tensor*>> named_tensors(const BatchNormResult& r) {
  return {{"output", &r.output},
          {"save_mean", &r.save_mean},
          {"save_invstd", &r.save_invstd},
          {"running_mean", &r.running_mean},
          {"running_var", &r.running_var},
          {"grad_input", &r.grad_input},
          {"grad_weight", &r.grad_weight},
          {"grad_bias", &r.grad_bias},
          {"eval_output", &r.eval_output},
          {"eval_grad_input", &r.eval_grad_input},
          {"eval_grad_weight", &r.eval_grad_weight},
          {"eval_grad_bias", &r.eval_grad_bias}};
}

struct PoolResult {
  Tensor output, indices;
};

// The max_pool2d forward of an input on a grid of 0.5 (so that windows hold ties)
// with NaNs at nan_every-th values, with the implementation chosen now.
PoolResult run_max_pool(const Shape& shape, ops::MaxPool2dParams params, std::int64_t nan_every, std::uint64_t seed) {
  Generator generator(seed);
  Tensor input = random_tensor(shape, generator, DType::f32, -2.0, 2.0);
  float* values = input.data<float>();
  for (std::int64_t i = 0; i < input.numel(); ++i)
    values[i] = i % nan_every == nan_every - 1 ? std::nanf("") : std::round(values[i] * 2.0f) / 2.0f;
  const Shape output_shape = ops::max_pool2d_output_shape(shape, params);
  PoolResult r{Tensor::empty(output_shape), Tensor::empty(output_shape, DType::i32)};
  ops::max_pool2d_forward(input, r.output, r.indices, params);
  return r;
}

}  // namespace

TEST_CASE("parallel_for covers every index exactly once in contiguous ranges") {
  ThreadCountGuard guard;
  for (int threads : {1, 2, 3, 5}) {
    set_num_threads(threads);
    REQUIRE(num_threads() == threads);
    for (std::int64_t count : {1, 2, 7, 100}) {
      std::vector<std::atomic<int>> hits(count);
      std::atomic<int> ranges = 0;
      parallel_for(count, [&](std::int64_t begin, std::int64_t end) {
        REQUIRE(begin < end);
        ++ranges;
        for (std::int64_t i = begin; i < end; ++i) ++hits[i];
      });
      for (auto& hit : hits) REQUIRE(hit == 1);
      REQUIRE(ranges <= threads);
    }
  }
}

TEST_CASE("parallel_for rethrows the exception of a range after all ranges finish") {
  ThreadCountGuard guard;
  set_num_threads(3);
  std::atomic<int> finished = 0;
  REQUIRE_THROWS_AS(parallel_for(3,
                                 [&](std::int64_t begin, std::int64_t) {
                                   if (begin == 2) throw std::runtime_error("range 2 failed");
                                   ++finished;
                                 }),
                    std::runtime_error);
  REQUIRE(finished == 2);
  // The pool still works afterwards, and nested calls run in the calling thread.
  std::atomic<int> inner_calls = 0;
  parallel_for(2, [&](std::int64_t, std::int64_t) { parallel_for(4, [&](std::int64_t, std::int64_t) { ++inner_calls; }); });
  REQUIRE(inner_calls == 2);
}

TEST_CASE("the thread count must be at least one") {
  ThreadCountGuard guard;
  REQUIRE_THROWS_MINIDL(set_num_threads(0), "the thread count must be at least 1, got 0");
}

TEST_CASE("gemm equals the product in double for every blocking edge") {
  // Sizes below, at and above the register tile (6 x 16) and the cache blocks
  // (72 rows, 256 columns, 256 deep), and an empty depth.
  const std::int64_t shapes[][3] = {{1, 1, 1},   {6, 16, 8},  {7, 17, 3},  {32, 1024, 27}, {80, 300, 300},
                                    {5, 3, 600}, {13, 40, 0}, {100, 64, 512}};
  for (const auto& [M, N, K] : shapes) {
    for (bool accumulate : {false, true}) {
      for (bool transpose_a : {false, true}) {
        INFO("M " << M << " N " << N << " K " << K << " accumulate " << accumulate << " transpose_a " << transpose_a);
        std::vector<float> a = random_floats(M * K + 1, 1), b = random_floats(K * N + 1, 2);
        std::vector<float> c = random_floats(M * N, 3);
        cpu::MatrixView a_view = transpose_a ? cpu::transposed(a.data(), M) : cpu::row_major(a.data(), K);
        // B as the transpose of an N x K row-major matrix when A is not transposed.
        cpu::MatrixView b_view = transpose_a ? cpu::row_major(b.data(), N) : cpu::transposed(b.data(), K);
        std::vector<float> expected = naive_gemm(M, N, K, a_view, b_view, c, accumulate);
        cpu::gemm(M, N, K, a_view, b_view, c.data(), N, accumulate);
        require_close_floats(c, expected, 1e-5);
      }
    }
  }
}

TEST_CASE("gemm writes only its block of a larger matrix") {
  // C is the top-left 7 x 20 corner of a 9 x 33 matrix: the rest stays as it was.
  const std::int64_t M = 7, N = 20, K = 5, ldc = 33;
  std::vector<float> a = random_floats(M * K, 4), b = random_floats(K * N, 5);
  std::vector<float> c(9 * ldc, 42.0f);
  cpu::gemm(M, N, K, cpu::row_major(a.data(), K), cpu::row_major(b.data(), N), c.data(), ldc, false);
  for (std::int64_t i = 0; i < 9; ++i)
    for (std::int64_t j = 0; j < ldc; ++j)
      if (i >= M || j >= N) REQUIRE(c[i * ldc + j] == 42.0f);
}

TEST_CASE("parallel_gemm gives the same bits as gemm with any thread count") {
  ThreadCountGuard guard;
  const std::int64_t M = 37, N = 131, K = 290;
  std::vector<float> a = random_floats(M * K, 6), b = random_floats(K * N, 7);
  std::vector<float> expected = random_floats(M * N, 8);
  std::vector<float> start = expected;
  cpu::gemm(M, N, K, cpu::row_major(a.data(), K), cpu::row_major(b.data(), N), expected.data(), N, true);
  for (int threads : {1, 2, 3, 4}) {
    set_num_threads(threads);
    std::vector<float> c = start;
    cpu::parallel_gemm(M, N, K, cpu::row_major(a.data(), K), cpu::row_major(b.data(), N), c.data(), N, true);
    REQUIRE(c == expected);
  }
}

TEST_CASE("conv2d through im2col and gemm matches the reference forward and backward") {
  for (const ConvCase& c : kConvCases) {
    INFO("input " << c.input.str() << " weight " << c.weight.str() << " stride " << c.params.stride);
    ConvResult fast = run_conv(c, 11);
    ops::ImplementationGuard reference(ops::Op::conv2d, DeviceType::CPU, "reference");
    ConvResult expected = run_conv(c, 11);
    require_close(fast.output, expected.output, 1e-5, 1e-5, "output");
    require_close(fast.grad_input, expected.grad_input, 1e-5, 1e-5, "grad_input");
    require_close(fast.grad_weight, expected.grad_weight, 1e-5, 1e-4, "grad_weight");
    require_close(fast.grad_bias, expected.grad_bias, 1e-5, 1e-4, "grad_bias");
  }
}

TEST_CASE("conv2d through gemm gives the same bits with one two or three threads") {
  ThreadCountGuard guard;
  set_num_threads(1);
  ConvResult one = run_conv(kConvCases[1], 12);
  for (int threads : {2, 3}) {
    set_num_threads(threads);
    ConvResult many = run_conv(kConvCases[1], 12);
    REQUIRE(testing::bitwise_equal(many.output, one.output));
    REQUIRE(testing::bitwise_equal(many.grad_input, one.grad_input));
    REQUIRE(testing::bitwise_equal(many.grad_weight, one.grad_weight));
    REQUIRE(testing::bitwise_equal(many.grad_bias, one.grad_bias));
  }
}

TEST_CASE("linear through gemm matches the reference forward and backward") {
  ThreadCountGuard guard;
  const std::int64_t shapes[][3] = {{10, 512, 64}, {100, 64, 10}, {3, 5, 7}};
  for (const auto& shape : shapes) {
    const std::int64_t N = shape[0], in_features = shape[1], out_features = shape[2];  // lambdas capture these
    INFO("N " << N << " in " << in_features << " out " << out_features);
    auto run = [&] {
      Generator generator(21);
      Tensor input = random_tensor({N, in_features}, generator, DType::f32);
      Tensor weight = random_tensor({out_features, in_features}, generator, DType::f32);
      Tensor bias = random_tensor({out_features}, generator, DType::f32);
      Tensor grad_output = random_tensor({N, out_features}, generator, DType::f32);
      std::vector<Tensor> r = {Tensor::empty({N, out_features}), Tensor::empty({N, in_features}),
                               Tensor::full({out_features, in_features}, 0.25), Tensor::full({out_features}, -0.5)};
      ops::linear_forward(input, weight, bias, r[0]);
      ops::linear_backward(grad_output, input, weight, r[1], r[2], r[3]);
      return r;
    };
    set_num_threads(2);
    std::vector<Tensor> fast = run();
    set_num_threads(1);
    std::vector<Tensor> one_thread = run();
    ops::ImplementationGuard reference(ops::Op::linear, DeviceType::CPU, "reference");
    std::vector<Tensor> expected = run();
    const char* names[] = {"output", "grad_input", "grad_weight", "grad_bias"};
    for (int i = 0; i < 4; ++i) {
      require_close(fast[i], expected[i], 1e-5, 1e-5, names[i]);
      REQUIRE(testing::bitwise_equal(fast[i], one_thread[i]));
    }
  }
}

TEST_CASE("parallel_for with the values per index keeps small loops on the calling thread") {
  ThreadCountGuard guard;
  set_num_threads(2);
  auto threads_used = [](std::int64_t count, std::int64_t values_per_index) {
    std::atomic<int> ranges = 0, elsewhere = 0;
    const std::thread::id caller = std::this_thread::get_id();
    parallel_for(count, values_per_index, [&](std::int64_t, std::int64_t) {
      ++ranges;
      if (std::this_thread::get_id() != caller) ++elsewhere;
    });
    return std::pair{ranges.load(), elsewhere.load()};
  };
  REQUIRE(threads_used(32, kMinParallelValues / 32 - 1) == std::pair{1, 0});
  REQUIRE(threads_used(32, kMinParallelValues / 32) == std::pair{2, 1});
  REQUIRE(threads_used(0, kMinParallelValues) == std::pair{0, 0});
}

TEST_CASE("vectorized batch_norm2d matches the reference in training and evaluation, forward and backward") {
  // The study's shapes at batch 4 and 2, and planes whose size is no multiple of the
  // lanes (1, 3, 35 values), a single image, and channels fewer than the threads.
  const Shape shapes[] = {{4, 32, 32, 32}, {2, 32, 8, 8}, {3, 5, 5, 7}, {1, 3, 1, 3}, {6, 1, 1, 1}, {2, 2, 16, 16}};
  for (const Shape& shape : shapes) {
    INFO("input " << shape.str());
    BatchNormResult fast = run_batch_norm(shape, 31);
    ops::ImplementationGuard reference(ops::Op::batch_norm2d, DeviceType::CPU, "reference");
    BatchNormResult expected = run_batch_norm(shape, 31);
    auto fast_tensors = named_tensors(fast), expected_tensors = named_tensors(expected);
    for (std::size_t i = 0; i < fast_tensors.size(); ++i)
      require_close(*fast_tensors[i].second, *expected_tensors[i].second, 1e-5, 1e-5, fast_tensors[i].first);
  }
}

TEST_CASE("vectorized batch_norm2d gives the same bits with one two or three threads") {
  ThreadCountGuard guard;
  const Shape shape{4, 32, 16, 16};  // 32,768 values: enough to be split over threads
  set_num_threads(1);
  BatchNormResult one = run_batch_norm(shape, 32);
  for (int threads : {2, 3}) {
    set_num_threads(threads);
    BatchNormResult many = run_batch_norm(shape, 32);
    auto many_tensors = named_tensors(many), one_tensors = named_tensors(one);
    for (std::size_t i = 0; i < many_tensors.size(); ++i) {
      INFO(many_tensors[i].first << " with " << threads << " threads");
      REQUIRE(testing::bitwise_equal(*many_tensors[i].second, *one_tensors[i].second));
    }
  }
}

TEST_CASE("vectorized max_pool2d gives the reference's maxima and indices, ties and NaNs included") {
  ThreadCountGuard guard;
  struct PoolCase {
    Shape input;
    ops::MaxPool2dParams params;
  };
  // The study's 2 x 2 windows on its three sizes; odd sizes, where the last row and
  // column are left out and a row has fewer than four windows; other windows, which
  // run the reference.
  const PoolCase cases[] = {
      {{2, 32, 32, 32}, {}},
      {{3, 32, 16, 16}, {}},
      {{2, 4, 8, 8}, {}},
      {{2, 3, 9, 11}, {}},
      {{1, 2, 5, 19}, {}},
      {{1, 1, 2, 2}, {}},
      {{2, 3, 9, 9}, {.kernel_size = 3, .stride = 2}},
      {{1, 2, 6, 6}, {.kernel_size = 2, .stride = 1}},
  };
  for (const PoolCase& c : cases) {
    for (std::int64_t nan_every : {7, 1000003}) {
      for (int threads : {1, 2}) {
        INFO("input " << c.input.str() << " kernel " << c.params.kernel_size << " stride " << c.params.stride
                      << " NaN every " << nan_every << " threads " << threads);
        set_num_threads(threads);
        PoolResult fast = run_max_pool(c.input, c.params, nan_every, 41);
        ops::ImplementationGuard reference(ops::Op::max_pool2d, DeviceType::CPU, "reference");
        PoolResult expected = run_max_pool(c.input, c.params, nan_every, 41);
        REQUIRE(testing::bitwise_equal(fast.output, expected.output));
        REQUIRE(fast.indices.to_vector<std::int32_t>() == expected.indices.to_vector<std::int32_t>());
      }
    }
  }
}

TEST_CASE("training steps of the study's network give the same bits with one or two threads") {
  ThreadCountGuard guard;
  auto train = [](int threads, bool batch_norm) {
    set_num_threads(threads);
    Generator generator(5);
    auto net = nn::make_study_net(batch_norm, generator);
    optim::SGD optimizer(net->parameters(), {.lr = 0.1});
    nn::CrossEntropyLoss criterion;
    Tensor images = random_tensor({6, 3, 32, 32}, generator, DType::f32);
    Tensor labels = Tensor::from_vector<std::int32_t>({6}, {0, 3, 9, 1, 1, 7});
    for (int step = 0; step < 3; ++step) {
      optimizer.zero_grad();
      criterion.forward(net->forward(images), labels);
      net->backward(criterion.backward());
      optimizer.step();
    }
    std::vector<std::vector<float>> weights;
    for (nn::Parameter* parameter : net->parameters()) weights.push_back(parameter->value.to_vector<float>());
    return weights;
  };
  for (bool batch_norm : {false, true}) {
    INFO("batch norm " << batch_norm);
    REQUIRE(train(1, batch_norm) == train(2, batch_norm));
  }
}
