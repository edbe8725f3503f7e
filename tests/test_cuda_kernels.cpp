// Each CUDA kernel of kernels/cuda/ against the CPU reference (or the formula, where
// no reference exists), on random inputs and on sizes that are not multiples of the
// block size (256). Runs on a GPU, or in the emulated flavour; skipped without either.
//
// Tolerances: in the emulator the float arithmetic is the CPU reference's, bit for
// bit; on a GPU nvcc fuses a * b + c into one rounding, so results may differ in
// the last bit.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <vector>

#include "minidl/core/cuda_runtime.h"
#include "minidl/core/tensor.h"
#include "gradcheck.h"
#include "minidl/kernels/cpu/relu.h"
#include "minidl/kernels/cpu/sgd.h"
#include "minidl/kernels/cuda/elementwise.h"
#include "minidl/kernels/cuda/gather_normalize.h"
#include "minidl/kernels/cuda/reduce.h"
#include "minidl/kernels/cuda/relu.h"
#include "minidl/kernels/cuda/sgd.h"
#include "test_support.h"

using namespace minidl;
using testing::require_close;

namespace {

// One element, less than a warp, a block and one more, several blocks.
const std::vector<std::int64_t> kSizes = {1, 31, 257, 1000};

Tensor random_f32(std::int64_t count, std::uint64_t seed, double low = -1.0, double high = 1.0) {
  Generator generator(seed);
  return testing::random_tensor({count}, generator, DType::f32, low, high);
}

Tensor on_cuda(const Tensor& host) { return host.to(Device::cuda()); }

}  // namespace

TEST_CASE("cuda fill sets every element") {
  if (testing::skip_unless_cuda()) return;
  for (std::int64_t count : kSizes) {
    Tensor data = on_cuda(random_f32(count, 1));
    cuda::fill(data.data<float>(), 2.5f, count);
    REQUIRE(data.to_vector<float>() == std::vector<float>(count, 2.5f));
  }
}

TEST_CASE("cuda scale multiplies every element") {
  if (testing::skip_unless_cuda()) return;
  for (std::int64_t count : kSizes) {
    Tensor host = random_f32(count, 2);
    Tensor data = on_cuda(host);
    cuda::scale(data.data<float>(), -0.75f, count);
    for (float& value : std::span(host.data<float>(), count)) value *= -0.75f;
    require_close(data, host, 0.0, 0.0, "scaled");
  }
}

TEST_CASE("cuda add computes a plus alpha times b and may write over a") {
  if (testing::skip_unless_cuda()) return;
  for (std::int64_t count : kSizes) {
    Tensor a = random_f32(count, 3), b = random_f32(count, 4);
    Tensor expected = Tensor::empty({count});
    for (std::int64_t i = 0; i < count; ++i)
      expected.data<float>()[i] = a.data<float>()[i] + 0.5f * b.data<float>()[i];
    Tensor a_device = on_cuda(a), b_device = on_cuda(b), output = Tensor::empty({count}, DType::f32, Device::cuda());
    cuda::add(a_device.data<float>(), b_device.data<float>(), 0.5f, output.data<float>(), count);
    require_close(output, expected, 1e-6, 1e-7, "output");
    cuda::add(a_device.data<float>(), b_device.data<float>(), 0.5f, a_device.data<float>(), count);
    require_close(a_device, expected, 1e-6, 1e-7, "a in place");
  }
}

TEST_CASE("cuda relu forward matches the CPU reference") {
  if (testing::skip_unless_cuda()) return;
  for (std::int64_t count : kSizes) {
    Tensor input = random_f32(count, 5);
    input.data<float>()[0] = std::nanf("");  // passes through, as in the reference
    Tensor expected = Tensor::empty({count});
    cpu::relu_forward(input.data<float>(), expected.data<float>(), count);
    Tensor input_device = on_cuda(input), output = Tensor::empty({count}, DType::f32, Device::cuda());
    cuda::relu_forward(input_device.data<float>(), output.data<float>(), count);
    REQUIRE(std::isnan(output.slice(0, 1).item<float>()));
    require_close(output.slice(1, count), expected.slice(1, count), 0.0, 0.0, "output");
    cuda::relu_forward(input_device.data<float>(), input_device.data<float>(), count);
    REQUIRE(std::isnan(input_device.slice(0, 1).item<float>()));
    require_close(input_device.slice(1, count), expected.slice(1, count), 0.0, 0.0, "in place");
  }
}

TEST_CASE("cuda relu backward matches the CPU reference") {
  if (testing::skip_unless_cuda()) return;
  for (std::int64_t count : kSizes) {
    Tensor output = random_f32(count, 6), grad_output = random_f32(count, 7);
    cpu::relu_forward(output.data<float>(), output.data<float>(), count);  // a forward's output: zeros and positives
    Tensor expected = Tensor::empty({count});
    cpu::relu_backward(grad_output.data<float>(), output.data<float>(), expected.data<float>(), count);
    Tensor output_device = on_cuda(output), grad_device = on_cuda(grad_output);
    cuda::relu_backward(grad_device.data<float>(), output_device.data<float>(), grad_device.data<float>(), count);
    require_close(grad_device, expected, 0.0, 0.0, "grad_input");
  }
}

TEST_CASE("cuda sum and mean match a double-precision sum") {
  if (testing::skip_unless_cuda()) return;
  for (std::int64_t count : {std::int64_t{1}, std::int64_t{31}, std::int64_t{256}, std::int64_t{1000},
                             std::int64_t{3001}}) {
    INFO("count " << count);
    Tensor input = random_f32(count, 8, -1.0, 2.0);
    std::vector<float> values = input.to_vector<float>();
    double expected = std::accumulate(values.begin(), values.end(), 0.0);
    double magnitude = 0.0;
    for (float value : values) magnitude += std::abs(value);
    Tensor input_device = on_cuda(input), result = Tensor::empty({2}, DType::f32, Device::cuda());
    Tensor partials = Tensor::empty({cuda::sum_partials_size(count)}, DType::f32, Device::cuda());
    cuda::sum(input_device.data<float>(), count, result.data<float>(), partials.data<float>());
    cuda::mean(input_device.data<float>(), count, result.data<float>() + 1, partials.data<float>());
    std::vector<float> sum_and_mean = result.to_vector<float>();
    REQUIRE(sum_and_mean[0] == Approx(expected).margin(1e-6 * magnitude + 1e-6));
    REQUIRE(sum_and_mean[1] == Approx(expected / count).margin((1e-6 * magnitude + 1e-6) / count));
  }
}

TEST_CASE("cuda sum of nothing is zero and mean of nothing is NaN") {
  if (testing::skip_unless_cuda()) return;
  Tensor result = Tensor::empty({2}, DType::f32, Device::cuda());
  Tensor partials = Tensor::empty({cuda::sum_partials_size(0)}, DType::f32, Device::cuda());
  cuda::sum(nullptr, 0, result.data<float>(), partials.data<float>());
  cuda::mean(nullptr, 0, result.data<float>() + 1, partials.data<float>());
  std::vector<float> sum_and_mean = result.to_vector<float>();
  REQUIRE(sum_and_mean[0] == 0.0f);
  REQUIRE(std::isnan(sum_and_mean[1]));
}

TEST_CASE("cuda sum allocates no device memory") {
  if (testing::skip_unless_cuda()) return;
  Tensor input = on_cuda(random_f32(3000, 9)), result = Tensor::empty({1}, DType::f32, Device::cuda());
  Tensor partials = Tensor::empty({cuda::sum_partials_size(3000)}, DType::f32, Device::cuda());
  const cuda::AllocatorStats before = cuda::allocator_stats();
  cuda::sum(input.data<float>(), 3000, result.data<float>(), partials.data<float>());
  const cuda::AllocatorStats after = cuda::allocator_stats();
  REQUIRE(after.allocated_bytes == before.allocated_bytes);
  REQUIRE(after.cache_hits == before.cache_hits);
  REQUIRE(after.device_allocations == before.device_allocations);
}

TEST_CASE("cuda sum gives the same bits on every run") {
  if (testing::skip_unless_cuda()) return;
  Tensor input = on_cuda(random_f32(2000, 9));
  Tensor first = Tensor::empty({1}, DType::f32, Device::cuda()), second = Tensor::empty({1}, DType::f32, Device::cuda());
  Tensor partials = Tensor::empty({cuda::sum_partials_size(input.numel())}, DType::f32, Device::cuda());
  cuda::sum(input.data<float>(), input.numel(), first.data<float>(), partials.data<float>());
  cuda::sum(input.data<float>(), input.numel(), second.data<float>(), partials.data<float>());
  REQUIRE(first.item<float>() == second.item<float>());
}

TEST_CASE("cuda sgd updates all parameters in one launch to the CPU reference's bits") {
  if (testing::skip_unless_cuda()) return;
  const std::vector<std::int64_t> sizes = {1, 300, 1000};
  std::vector<ops::SgdParams> settings(4);
  settings[0].lr = 0.1;
  settings[1] = {.lr = 0.05, .momentum = 0.9};
  settings[2] = {.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 1e-2};
  settings[3] = {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true};
  std::uint64_t seed = 10;
  for (const ops::SgdParams& params : settings) {
    INFO("lr " << params.lr << " momentum " << params.momentum << " dampening " << params.dampening
               << " weight_decay " << params.weight_decay << " nesterov " << params.nesterov);
    std::vector<Tensor> param, grad, buffer, param_device, grad_device, buffer_device;
    std::vector<cuda::SgdTensor> tensors;
    for (std::int64_t size : sizes) {
      param.push_back(random_f32(size, seed++));
      grad.push_back(random_f32(size, seed++));
      buffer.push_back(Tensor::zeros({size}));
      param_device.push_back(on_cuda(param.back()));
      grad_device.push_back(on_cuda(grad.back()));
      buffer_device.push_back(on_cuda(buffer.back()));
      tensors.push_back({param_device.back().data<float>(), grad_device.back().data<float>(),
                         buffer_device.back().data<float>(), size});
    }
    cuda::DeviceTable<cuda::SgdTensor> table(tensors);
    const std::int64_t max_numel = *std::max_element(sizes.begin(), sizes.end());
    cuda::SgdHyperparameters hyperparameters{static_cast<float>(params.lr), static_cast<float>(params.momentum),
                                             static_cast<float>(params.dampening),
                                             static_cast<float>(params.weight_decay), params.nesterov};
    Tensor on_device = Tensor::empty({sizeof(hyperparameters)}, DType::u8, Device::cuda());
    cuda::copy_host_to_device(on_device.raw_data(), &hyperparameters, sizeof(hyperparameters));
    const auto* device_hyperparameters = static_cast<const cuda::SgdHyperparameters*>(on_device.raw_data());
    for (bool first_step : {true, false}) {
      cuda::sgd_update(table, max_numel, device_hyperparameters, first_step, /*skip_update=*/nullptr);
      for (std::size_t p = 0; p < sizes.size(); ++p)
        cpu::sgd_update(param[p].data<float>(), grad[p].data<float>(), buffer[p].data<float>(), sizes[p], params,
                        first_step);
    }
    for (std::size_t p = 0; p < sizes.size(); ++p) {
      // The kernel rounds every product and sum on its own, as the reference: the same bits.
      REQUIRE(param_device[p].to_vector<float>() == param[p].to_vector<float>());
      REQUIRE(buffer_device[p].to_vector<float>() == buffer[p].to_vector<float>());
    }
  }
}

TEST_CASE("cuda gather_normalize picks the batch by index and normalizes each channel") {
  if (testing::skip_unless_cuda()) return;
  const int channels = 3;
  const std::int64_t images = 6, pixels = 5 * 7, image_size = channels * pixels;
  Generator generator(12);
  std::vector<std::uint8_t> dataset(images * image_size);
  for (std::uint8_t& value : dataset) value = static_cast<std::uint8_t>(generator.next_below(256));
  const std::vector<std::int64_t> indices = {4, 0, 5, 5, 2};
  const std::vector<float> mean = {0.49f, 0.48f, 0.45f}, stddev = {0.25f, 0.24f, 0.26f};
  const auto batch = static_cast<std::int64_t>(indices.size());

  Tensor expected = Tensor::empty({batch, channels, 5, 7});
  for (std::int64_t b = 0; b < batch; ++b)
    for (int c = 0; c < channels; ++c)
      for (std::int64_t p = 0; p < pixels; ++p) {
        float pixel = dataset[indices[b] * image_size + c * pixels + p];
        expected.data<float>()[(b * channels + c) * pixels + p] = (pixel / 255.0f - mean[c]) / stddev[c];
      }

  Tensor dataset_device = Tensor::from_vector<std::uint8_t>({images, channels, 5, 7}, dataset, Device::cuda());
  Tensor indices_device = Tensor::from_vector<std::int64_t>({batch}, indices, Device::cuda());
  Tensor mean_device = Tensor::from_vector<float>({channels}, mean, Device::cuda());
  Tensor stddev_device = Tensor::from_vector<float>({channels}, stddev, Device::cuda());
  Tensor output = Tensor::empty({batch, channels, 5, 7}, DType::f32, Device::cuda());
  cuda::gather_normalize(dataset_device.data<std::uint8_t>(), indices_device.data<std::int64_t>(), batch, channels,
                         pixels, mean_device.data<float>(), stddev_device.data<float>(), output.data<float>());
  require_close(output, expected, 1e-6, 1e-6, "output");
}
