// Specification of stream capture and CUDA graphs as minidl uses them (core/cuda_runtime.h's
// Graph, on minidl's stream) and as the emulator models them (core/emulator/cuda_emulator.h):
// capture records and runs nothing, a replay runs the recorded work with the arguments
// of capture time on the memory of replay time, and the calls capture refuses return
// cudaErrorStreamCaptureUnsupported and spoil the capture. The same cases run on a GPU,
// which confirms the emulator's codes; without either they are skipped.
#include <vector>

#include "minidl/core/cuda_api.h"
#include "minidl/core/cuda_runtime.h"
#include "minidl/core/tensor.h"
#include "minidl/kernels/cuda/elementwise.h"
#include "test_support.h"
#if defined(MINIDL_CUDA_EMULATOR)
#include "minidl/core/emulator/emulator.h"
#endif

using namespace minidl;

namespace {

Tensor cuda_full(std::int64_t count, float value) { return Tensor::full({count}, value, DType::f32, Device::cuda()); }

std::vector<float> values_of(const Tensor& t) { return t.to_vector<float>(); }

// Begins a capture on minidl's stream, runs call (which capture must refuse), and
// requires its code, and that ending the capture reports it spoilt and makes no graph.
void require_refused(const char* what, cudaError_t (*call)(void*, std::size_t), void* memory, std::size_t bytes) {
  INFO(what);
  cudaStream_t stream = cuda::current_stream();
  cuda::check_cuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), "cudaStreamBeginCapture");
  const cudaError_t status = call(memory, bytes);
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  cudaGetLastError();  // the errors above are the case's; none must reach the next check
  REQUIRE(status == cudaErrorStreamCaptureUnsupported);
  REQUIRE(ended == cudaErrorStreamCaptureInvalidated);
  REQUIRE(graph == nullptr);
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusActive;
  cuda::check_cuda(cudaStreamIsCapturing(stream, &capture), "cudaStreamIsCapturing");
  REQUIRE(capture == cudaStreamCaptureStatusNone);
}

}  // namespace

TEST_CASE("a graph runs nothing while it is captured and its work at every replay") {
  if (testing::skip_unless_cuda()) return;
  Tensor data = cuda_full(1000, 1.0f), copy = cuda_full(1000, 0.0f);
  cuda::Graph graph([&] {
    cuda::scale(data.data<float>(), 2.0f, data.numel());  // on minidl's stream, the default
    cuda::check_cuda(cudaMemcpyAsync(copy.raw_data(), data.raw_data(), data.nbytes(), cudaMemcpyDeviceToDevice,
                                     cuda::current_stream()),
                     "cudaMemcpyAsync");
  });
  REQUIRE(values_of(data) == std::vector<float>(1000, 1.0f));  // captured, not run
  REQUIRE(values_of(copy) == std::vector<float>(1000, 0.0f));
  graph.replay();
  REQUIRE(values_of(data) == std::vector<float>(1000, 2.0f));
  REQUIRE(values_of(copy) == std::vector<float>(1000, 2.0f));
  graph.replay();  // the same pointers, what memory holds now
  REQUIRE(values_of(data) == std::vector<float>(1000, 4.0f));
  REQUIRE(values_of(copy) == std::vector<float>(1000, 4.0f));
}

TEST_CASE("a copy between CUDA tensors waits for nothing and is captured like a kernel") {
  if (testing::skip_unless_cuda()) return;
  Tensor data = cuda_full(1000, 1.0f), copy = cuda_full(1000, 0.0f);
  cuda::Graph graph([&] {
    cuda::scale(data.data<float>(), 3.0f, data.numel());
    copy.copy_from(data);  // a synchronous copy here would be refused by the capture
  });
  REQUIRE(values_of(copy) == std::vector<float>(1000, 0.0f));  // captured, not run
  graph.replay();
  REQUIRE(values_of(copy) == std::vector<float>(1000, 3.0f));
#if defined(MINIDL_CUDA_EMULATOR)
  const emulator::Counters before = emulator::counters();
  data.copy_from(copy);
  REQUIRE((emulator::counters() - before).host_synchronizations == 0);
#endif
}

TEST_CASE("a kernel's arguments are those of capture time") {
  if (testing::skip_unless_cuda()) return;
  Tensor data = cuda_full(300, 0.0f);
  float value = 3.0f;
  cuda::Graph graph([&] { cuda::fill(data.data<float>(), value, data.numel()); });
  value = 5.0f;  // too late: the graph keeps 3
  graph.replay();
  REQUIRE(values_of(data) == std::vector<float>(300, 3.0f));
}

TEST_CASE("cuBLAS calls on minidl's stream are captured like kernels") {
  if (testing::skip_unless_cuda()) return;
  Tensor a = Tensor::from_vector<float>({4}, {1, 2, 3, 4}, Device::cuda()), c = cuda_full(4, 0.0f);
  const float one = 1.0f, zero = 0.0f;
  cuda::Graph graph([&] {
    cublasHandle_t handle = cuda::cublas_handle();
    cuda::check_cublas(cublasSetStream(handle, cuda::current_stream()), "cublasSetStream");
    // C (2 x 2) = A (2 x 2) @ A, column-major: [1 3; 2 4]^2 = [7 15; 10 22].
    cuda::check_cublas(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.data<float>(), 2,
                                   a.data<float>(), 2, &zero, c.data<float>(), 2),
                       "cublasSgemm");
  });
  REQUIRE(values_of(c) == std::vector<float>(4, 0.0f));
  graph.replay();
  REQUIRE(values_of(c) == std::vector<float>{7, 10, 15, 22});
}

TEST_CASE("capture refuses allocation synchronisation and copies from pageable memory and spoils the capture") {
  if (testing::skip_unless_cuda()) return;
  Tensor device = cuda_full(64, 1.0f);
  std::vector<float> pageable(64, 2.0f);
  require_refused("cudaMalloc", [](void*, std::size_t bytes) {
    void* allocated = nullptr;
    return cudaMalloc(&allocated, bytes);
  }, nullptr, 1 << 20);
  require_refused("a synchronous copy", [](void* memory, std::size_t bytes) {
    std::vector<float> host(bytes / sizeof(float));
    return cudaMemcpy(host.data(), memory, bytes, cudaMemcpyDeviceToHost);
  }, device.raw_data(), device.nbytes());
  require_refused("a stream synchronize", [](void*, std::size_t) {
    return cudaStreamSynchronize(cuda::current_stream());
  }, nullptr, 0);
  require_refused("a device synchronize", [](void*, std::size_t) { return cudaDeviceSynchronize(); }, nullptr, 0);
  static std::vector<float> source(64, 2.0f);  // pageable host memory
  require_refused("an asynchronous copy from pageable host memory", [](void* memory, std::size_t bytes) {
    return cudaMemcpyAsync(memory, source.data(), bytes, cudaMemcpyHostToDevice, cuda::current_stream());
  }, device.raw_data(), device.nbytes());
  // The stream works as before.
  REQUIRE(values_of(device) == std::vector<float>(64, 1.0f));
}

TEST_CASE("an allocation inside a graph's capture throws naming the call and leaves no capture open") {
  if (testing::skip_unless_cuda()) return;
  cuda::empty_cache();  // the allocation below cannot come from the cache
  REQUIRE_THROWS_MINIDL(cuda::Graph([] { Tensor::empty({12345}, DType::f32, Device::cuda()); }),
                        "cudaMalloc failed at ");
  REQUIRE_THROWS_MINIDL(cuda::Graph([] { Tensor::empty({12345}, DType::f32, Device::cuda()); }),
                        "operation not permitted when stream is capturing (cudaErrorStreamCaptureUnsupported)");
  Tensor data = cuda_full(10, 7.0f);  // allocates, copies and synchronises as usual
  REQUIRE(values_of(data) == std::vector<float>(10, 7.0f));
}
