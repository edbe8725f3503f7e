// Specification of the CUDA runtime layer (core/cuda_runtime.h, core/cuda_api.h):
// checked calls, detection, streams, events, pinned memory, out of memory, cuBLAS.
// Runs on a GPU, or in the emulated flavour; the cases that need a device are
// skipped without one.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "minidl/core/cuda_api.h"
#include "minidl/core/cuda_runtime.h"
#include "minidl/core/tensor.h"
#include "minidl/kernels/cuda/elementwise.h"
#include "test_support.h"

using namespace minidl;

TEST_CASE("a failing CUDA call throws the call and file and line and CUDA's message") {
  int line = __LINE__ + 1;
  REQUIRE_THROWS_MINIDL(cuda::check_cuda(cudaErrorMemoryAllocation, "cudaMalloc"),
                        fmt::format("cudaMalloc failed at {}:{}: out of memory (cudaErrorMemoryAllocation)", __FILE__, line));
  REQUIRE_NOTHROW(cuda::check_cuda(cudaSuccess, "cudaMalloc"));
}

TEST_CASE("a failing cuBLAS call throws the call and file and line and cuBLAS's message") {
  int line = __LINE__ + 1;
  REQUIRE_THROWS_MINIDL(cuda::check_cublas(CUBLAS_STATUS_INVALID_VALUE, "cublasSgemm"),
                        fmt::format("cublasSgemm failed at {}:{}: ", __FILE__, line));
  REQUIRE_THROWS_MINIDL(cuda::check_cublas(CUBLAS_STATUS_INVALID_VALUE, "cublasSgemm"), "(CUBLAS_STATUS_INVALID_VALUE)");
}

#if defined(MINIDL_WITH_CUDNN)
TEST_CASE("a failing cuDNN call throws the call and file and line and cuDNN's message") {
  int line = __LINE__ + 1;
  REQUIRE_THROWS_MINIDL(cuda::check_cudnn(CUDNN_STATUS_BAD_PARAM, "cudnnConvolutionForward"),
                        fmt::format("cudnnConvolutionForward failed at {}:{}: CUDNN_STATUS_BAD_PARAM", __FILE__, line));
}
#endif

TEST_CASE("without a usable GPU every cuda call says why in one sentence") {
  if (cuda_is_available()) {
    REQUIRE(cuda_unavailable_reason().empty());
    return;
  }
  std::string reason = cuda_unavailable_reason();
  REQUIRE(reason.starts_with("no usable CUDA GPU: "));
  REQUIRE(cuda::describe() == reason);
  REQUIRE_THROWS_MINIDL(cuda::Stream(), "create a cuda stream: " + reason);
  REQUIRE_THROWS_MINIDL(cuda::PinnedBuffer(16), "allocate pinned host memory: " + reason);
  REQUIRE_THROWS_MINIDL(cuda::synchronize(), "cuda synchronize: " + reason);
}

TEST_CASE("describe names the device") {
  if (testing::skip_unless_cuda()) return;
  std::string line = cuda::describe();
  INFO(line);
  REQUIRE(line.starts_with("cuda:0 is "));
  REQUIRE(line.find("compute capability") != std::string::npos);
}

TEST_CASE("an async copy through pinned memory on a stream round-trips the data") {
  if (testing::skip_unless_cuda()) return;
  constexpr std::size_t kCount = 1000;
  cuda::Stream stream;
  cuda::PinnedBuffer upload(kCount * sizeof(float)), download(kCount * sizeof(float));
  auto* values = static_cast<float*>(upload.data());
  for (std::size_t i = 0; i < kCount; ++i) values[i] = 0.5f * static_cast<float>(i);
  Tensor device = Tensor::empty({kCount}, DType::f32, Device::cuda());
  cuda::copy_host_to_device_async(device.raw_data(), upload.data(), upload.bytes(), stream);
  cuda::copy_device_to_host_async(download.data(), device.raw_data(), download.bytes(), stream);
  stream.synchronize();
  auto* copied = static_cast<float*>(download.data());
  REQUIRE(std::vector<float>(copied, copied + kCount) == std::vector<float>(values, values + kCount));
}

TEST_CASE("events time the work between them") {
  if (testing::skip_unless_cuda()) return;
  Tensor data = Tensor::empty({4096}, DType::f32, Device::cuda());
  cuda::Event start, stop;
  start.record();
  cuda::fill(data.data<float>(), 1.0f, data.numel());
  stop.record();
  stop.synchronize();
  REQUIRE(stop.elapsed_ms_since(start) >= 0.0f);
  REQUIRE(data.to_vector<float>() == std::vector<float>(4096, 1.0f));
}

TEST_CASE("out of memory says how much was asked and how much is free and leaves the device usable") {
  if (testing::skip_unless_cuda()) return;
  constexpr std::int64_t kHuge = std::int64_t{1} << 48;  // 1 PiB of floats: more than any device
  REQUIRE_THROWS_MINIDL(Tensor::empty({kHuge}, DType::f32, Device::cuda()),
                        fmt::format("out of memory allocating {} bytes on cuda:0 (", kHuge * 4));
  // cudaMalloc's failure must not be reported again by the next launch's check.
  Tensor data = Tensor::empty({300}, DType::f32, Device::cuda());
  cuda::fill(data.data<float>(), 3.0f, data.numel());
  REQUIRE(data.to_vector<float>() == std::vector<float>(300, 3.0f));
}

namespace {

// C = alpha * op(A) * op(B) + beta * C in column-major storage, in double, from the definition.
std::vector<float> reference_gemm(bool a_transposed, bool b_transposed, int m, int n, int k, float alpha,
                                  const std::vector<float>& a, int lda, const std::vector<float>& b, int ldb,
                                  float beta, std::vector<float> c, int ldc) {
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < m; ++i) {
      double sum = 0.0;
      for (int l = 0; l < k; ++l) {
        double a_il = a_transposed ? a[l + i * lda] : a[i + l * lda];
        double b_lj = b_transposed ? b[j + l * ldb] : b[l + j * ldb];
        sum += a_il * b_lj;
      }
      float& c_ij = c[i + j * ldc];
      c_ij = static_cast<float>(alpha * sum + (beta == 0.0f ? 0.0 : beta * static_cast<double>(c_ij)));
    }
  }
  return c;
}

std::vector<float> random_values(std::size_t count, Generator& generator) {
  Tensor t = Tensor::empty({static_cast<std::int64_t>(count)});
  t.uniform_(-1.0, 1.0, generator);
  return t.to_vector<float>();
}

}  // namespace

TEST_CASE("cuBLAS GEMM matches a column-major loop for all transpose combinations") {
  if (testing::skip_unless_cuda()) return;
  const int m = 5, n = 4, k = 3;
  Generator generator(11);
  for (bool a_transposed : {false, true}) {
    for (bool b_transposed : {false, true}) {
      for (bool use_gemm_ex : {false, true}) {
        INFO("transa " << a_transposed << " transb " << b_transposed << " cublasGemmEx " << use_gemm_ex);
        // Leading dimensions larger than the stored rows, so padding is skipped correctly.
        int lda = (a_transposed ? k : m) + 2, ldb = (b_transposed ? n : k) + 1, ldc = m + 3;
        std::vector<float> a = random_values(lda * (a_transposed ? m : k), generator);
        std::vector<float> b = random_values(ldb * (b_transposed ? k : n), generator);
        std::vector<float> c = random_values(ldc * n, generator);
        float alpha = 1.5f, beta = use_gemm_ex ? 0.0f : -0.5f;
        if (beta == 0.0f) c[0] = std::numeric_limits<float>::quiet_NaN();  // not read when beta == 0
        std::vector<float> expected =
            reference_gemm(a_transposed, b_transposed, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

        Tensor a_device = Tensor::from_vector<float>({static_cast<std::int64_t>(a.size())}, a, Device::cuda());
        Tensor b_device = Tensor::from_vector<float>({static_cast<std::int64_t>(b.size())}, b, Device::cuda());
        Tensor c_device = Tensor::from_vector<float>({static_cast<std::int64_t>(c.size())}, c, Device::cuda());
        cublasOperation_t transa = a_transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
        cublasOperation_t transb = b_transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
        if (use_gemm_ex) {
          cuda::check_cublas(cublasGemmEx(cuda::cublas_handle(), transa, transb, m, n, k, &alpha,
                                          a_device.data<float>(), CUDA_R_32F, lda, b_device.data<float>(),
                                          CUDA_R_32F, ldb, &beta, c_device.data<float>(), CUDA_R_32F, ldc,
                                          CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                             "cublasGemmEx");
        } else {
          cuda::check_cublas(cublasSgemm(cuda::cublas_handle(), transa, transb, m, n, k, &alpha,
                                         a_device.data<float>(), lda, b_device.data<float>(), ldb, &beta,
                                         c_device.data<float>(), ldc),
                             "cublasSgemm");
        }
        std::vector<float> actual = c_device.to_vector<float>();
        for (std::size_t i = 0; i < expected.size(); ++i) {
          INFO("element " << i);
          REQUIRE(actual[i] == Approx(expected[i]).epsilon(1e-5).margin(1e-6));
        }
      }
    }
  }
}

TEST_CASE("cuBLAS GEMM with a leading dimension smaller than the rows fails with cuBLAS's message") {
  if (testing::skip_unless_cuda()) return;
  Tensor a = Tensor::zeros({16}, DType::f32, Device::cuda());
  float alpha = 1.0f, beta = 0.0f;
  REQUIRE_THROWS_MINIDL(cuda::check_cublas(cublasSgemm(cuda::cublas_handle(), CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 1,
                                                       &alpha, a.data<float>(), 2, a.data<float>(), 1, &beta,
                                                       a.data<float>(), 4),
                                           "cublasSgemm"),
                        "cublasSgemm failed at");
}
