// The CUDA runtime layer of the real and the emulated flavour: one source, compiled
// against CUDA's headers or the emulator's (core/cuda_api.h).
#include "minidl/core/cuda_runtime.h"

#include <atomic>
#include <cstdint>

#include "minidl/core/cuda_api.h"
#include "minidl/core/error.h"

namespace minidl::cuda {

void check_cuda(cudaError_t status, const char* call, SourceLocation where) {
  if (status != cudaSuccess)
    fail("{} failed at {}:{}: {} ({})", call, where.file, where.line, cudaGetErrorString(status), cudaGetErrorName(status));
}

void check_cublas(cublasStatus_t status, const char* call, SourceLocation where) {
  if (status != CUBLAS_STATUS_SUCCESS)
    fail("{} failed at {}:{}: {} ({})", call, where.file, where.line, cublasGetStatusString(status),
         cublasGetStatusName(status));
}

#if defined(MINIDL_WITH_CUDNN)
void check_cudnn(cudnnStatus_t status, const char* call, SourceLocation where) {
  if (status != CUDNN_STATUS_SUCCESS)
    fail("{} failed at {}:{}: {}", call, where.file, where.line, cudnnGetErrorString(status));
}
#endif

int as_index(std::int64_t value, const char* op, const char* what) {
  if (value < 0 || value > std::int64_t{INT32_MAX})
    fail("{}: {} = {} does not fit the kernels' 32-bit indices", op, what, value);
  return static_cast<int>(value);
}

void check_launch(dim3 grid, dim3 block, std::size_t dynamic_shared_bytes, SourceLocation where) {
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    fail("kernel launch with grid ({}, {}, {}), block ({}, {}, {}) and {} bytes of dynamic shared memory failed at {}:{}: {} ({})",
         grid.x, grid.y, grid.z, block.x, block.y, block.z, dynamic_shared_bytes, where.file, where.line,
         cudaGetErrorString(status), cudaGetErrorName(status));
}

namespace {

// Whether a GPU can be used, found out once. A machine without a GPU or driver
// answers cudaGetDeviceCount with an error ("CUDA driver version is insufficient
// for CUDA runtime version"); that becomes the reason, not a crash.
struct Detection {
  bool available = false;
  std::string reason;
};

const Detection& detection() {
  static const Detection result = [] {
    int count = 0;
    cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      cudaGetLastError();  // clears the error, so that no later check reports it
      return Detection{false, fmt::format("no usable CUDA GPU: {}", cudaGetErrorString(status))};
    }
    if (count == 0) return Detection{false, "no usable CUDA GPU: the CUDA runtime finds no device"};
    return Detection{true, ""};
  }();
  return result;
}

void require_gpu(const char* op) {
  if (!detection().available) fail("{}: {}", op, detection().reason);
}

int current_device() {
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

// cudaMalloc for the caching allocator: nullptr when out of memory.
void* cuda_malloc_or_null(std::size_t bytes) {
  void* ptr = nullptr;
  cudaError_t status = cudaMalloc(&ptr, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // out of memory is also recorded as the last error: clear it
    return nullptr;
  }
  check_cuda(status, "cudaMalloc");
  return ptr;
}

// Never destroyed: at exit the driver releases device memory, and a cudaFree from a
// static destructor could run after the CUDA runtime has shut down.
CachingAllocator& allocator() {
  static CachingAllocator& instance =
      *new CachingAllocator(cuda_malloc_or_null, [](void* ptr) { check_cuda(cudaFree(ptr), "cudaFree"); });
  return instance;
}

cudaStream_t native(const Stream& stream) { return static_cast<cudaStream_t>(stream.native_handle()); }
cudaEvent_t native(const Event& event) { return static_cast<cudaEvent_t>(event.native_handle()); }

// A destructor must not throw: a failing call there is reported on stderr.
void check_in_destructor(cudaError_t status, const char* call) {
  if (status != cudaSuccess) fmt::print(stderr, "minidl: {} failed: {}\n", call, cudaGetErrorString(status));
}

}  // namespace

void* device_malloc(std::size_t bytes) {
  require_gpu("allocate on cuda");
  if (bytes == 0) return nullptr;
  void* ptr = allocator().allocate(bytes);
  if (ptr == nullptr) {
    std::size_t free_bytes = 0, total_bytes = 0;
    check_cuda(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
    fail("out of memory allocating {} bytes on cuda:{} ({} bytes free of {})", bytes, current_device(), free_bytes,
         total_bytes);
  }
  return ptr;
}

void device_free(void* ptr, std::size_t) {
  if (ptr != nullptr) allocator().deallocate(ptr);
}

AllocatorStats allocator_stats() { return allocator().stats(); }

void empty_cache() { allocator().empty_cache(); }

void reset_peak_stats() { allocator().reset_peak_stats(); }

namespace {

// A copy queued on minidl's stream, then waited for: the copy sees everything queued
// before it (cudaMemcpy runs on the legacy default stream, which does not wait for a
// non-blocking stream's work).
void copy_and_wait(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(dst, src, bytes, kind, current_stream()), "cudaMemcpyAsync");
  check_cuda(cudaStreamSynchronize(current_stream()), "cudaStreamSynchronize");
}

}  // namespace

void copy_host_to_device(void* dst, const void* src, std::size_t bytes) {
  require_gpu("copy to cuda");
  copy_and_wait(dst, src, bytes, cudaMemcpyHostToDevice);
}

void copy_device_to_host(void* dst, const void* src, std::size_t bytes) {
  require_gpu("copy from cuda");
  copy_and_wait(dst, src, bytes, cudaMemcpyDeviceToHost);
}

void copy_host_to_device_queued(void* dst, const void* src, std::size_t bytes) {
  require_gpu("copy to cuda");
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, current_stream()), "cudaMemcpyAsync");
}

void copy_device_to_host_queued(void* pinned_dst, const void* src, std::size_t bytes) {
  require_gpu("copy from cuda");
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(pinned_dst, src, bytes, cudaMemcpyDeviceToHost, current_stream()), "cudaMemcpyAsync");
}

void copy_device_to_device_async(void* dst, const void* src, std::size_t bytes) {
  require_gpu("copy on cuda");
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, current_stream()), "cudaMemcpyAsync");
}

void memset_device(void* dst, int value, std::size_t bytes) {
  require_gpu("memset on cuda");
  if (bytes == 0) return;
  check_cuda(cudaMemsetAsync(dst, value, bytes, current_stream()), "cudaMemsetAsync");
}

Graph::Graph(const std::function<void()>& body) {
  require_gpu("capture a cuda graph");
  cudaStream_t stream = current_stream();
  check_cuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), "cudaStreamBeginCapture");
  // Ends the capture, whatever happened in it: a capture left open refuses every later call.
  auto end_capture = [&] {
    cudaGraph_t graph = nullptr;
    cudaError_t status = cudaStreamEndCapture(stream, &graph);
    graph_ = graph;
    return status;
  };
  try {
    body();
  } catch (...) {
    end_capture();
    if (graph_ != nullptr) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
    graph_ = nullptr;
    cudaGetLastError();  // the refused call's error, reported by the exception
    throw;
  }
  check_cuda(end_capture(), "cudaStreamEndCapture");
  cudaGraphExec_t exec = nullptr;
  cudaError_t status = cudaGraphInstantiate(&exec, static_cast<cudaGraph_t>(graph_), 0);
  if (status != cudaSuccess) {
    cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
    check_cuda(status, "cudaGraphInstantiate");
  }
  exec_ = exec;
}

Graph::~Graph() {
  if (exec_ != nullptr) check_in_destructor(cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_)), "cudaGraphExecDestroy");
  if (graph_ != nullptr) check_in_destructor(cudaGraphDestroy(static_cast<cudaGraph_t>(graph_)), "cudaGraphDestroy");
}

void Graph::replay() const {
  check_cuda(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), current_stream()), "cudaGraphLaunch");
}

namespace {
std::atomic<std::int64_t> g_kernels_launched{0};
}  // namespace

std::int64_t kernels_launched() { return g_kernels_launched.load(std::memory_order_relaxed); }

void count_kernel_launch() { g_kernels_launched.fetch_add(1, std::memory_order_relaxed); }

void synchronize() {
  require_gpu("cuda synchronize");
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

Stream::Stream() {
  require_gpu("create a cuda stream");
  cudaStream_t stream = current_stream();
  check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  handle_ = stream;
}

Stream::~Stream() { check_in_destructor(cudaStreamDestroy(native(*this)), "cudaStreamDestroy"); }

void Stream::synchronize() const { check_cuda(cudaStreamSynchronize(native(*this)), "cudaStreamSynchronize"); }

Event::Event() {
  require_gpu("create a cuda event");
  cudaEvent_t event = nullptr;
  check_cuda(cudaEventCreate(&event), "cudaEventCreate");
  handle_ = event;
}

Event::~Event() { check_in_destructor(cudaEventDestroy(native(*this)), "cudaEventDestroy"); }

void Event::record() { check_cuda(cudaEventRecord(native(*this), current_stream()), "cudaEventRecord"); }

void Event::record(const Stream& stream) {
  check_cuda(cudaEventRecord(native(*this), native(stream)), "cudaEventRecord");
}

void Event::synchronize() const {
  check_cuda(cudaEventSynchronize(native(*this)), "cudaEventSynchronize");
}

bool Event::done() const {
  const cudaError_t status = cudaEventQuery(native(*this));
  if (status == cudaErrorNotReady) {
    cudaGetLastError();  // not an error: the work is still queued
    return false;
  }
  check_cuda(status, "cudaEventQuery");
  return true;
}

float Event::elapsed_ms_since(const Event& start) const {
  float ms = 0.0f;
  check_cuda(cudaEventElapsedTime(&ms, native(start), native(*this)),
             "cudaEventElapsedTime");
  return ms;
}

PinnedBuffer::PinnedBuffer(std::size_t bytes) : bytes_(bytes) {
  require_gpu("allocate pinned host memory");
  check_cuda(cudaMallocHost(&data_, bytes), "cudaMallocHost");
}

PinnedBuffer::~PinnedBuffer() { check_in_destructor(cudaFreeHost(data_), "cudaFreeHost"); }

void copy_host_to_device_async(void* dst, const void* src, std::size_t bytes, const Stream& stream) {
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, native(stream)), "cudaMemcpyAsync");
}

void copy_device_to_host_async(void* dst, const void* src, std::size_t bytes, const Stream& stream) {
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, native(stream)), "cudaMemcpyAsync");
}

bool is_built() { return true; }

bool is_emulated() {
#if defined(MINIDL_CUDA_EMULATOR)
  return true;
#else
  return false;
#endif
}

bool is_available() { return detection().available; }

std::string unavailable_reason() { return detection().reason; }

std::string describe() {
  if (!is_available()) return unavailable_reason();
  int device = current_device();
  cudaDeviceProp properties{};
  check_cuda(cudaGetDeviceProperties(&properties, device), "cudaGetDeviceProperties");
  std::string line = fmt::format("cuda:{} is {} (compute capability {}.{}, {:.1f} GiB)", device, properties.name,
                                 properties.major, properties.minor,
                                 static_cast<double>(properties.totalGlobalMem) / (1 << 30));
#if defined(MINIDL_WITH_CUDNN)
  std::size_t version = cudnnGetVersion();
  line += fmt::format(", cuDNN {}.{}.{}", version / 10000, version / 100 % 100, version % 100);
#else
  line += ", without cuDNN";
#endif
  return line;
}

cudaStream_t current_stream() {
  // Created on first use, never destroyed (work may be queued until the process ends).
  static const cudaStream_t stream = [] {
    require_gpu("create minidl's cuda stream");
    cudaStream_t created = nullptr;
    check_cuda(cudaStreamCreateWithFlags(&created, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    return created;
  }();
  return stream;
}

int multiprocessor_count() {
  static const int count = [] {
    cudaDeviceProp properties{};
    check_cuda(cudaGetDeviceProperties(&properties, current_device()), "cudaGetDeviceProperties");
    return properties.multiProcessorCount;
  }();
  return count;
}

cublasHandle_t cublas_handle() {
  static const cublasHandle_t handle = [] {
    require_gpu("create the cuBLAS handle");
    cublasHandle_t created = nullptr;
    check_cublas(cublasCreate(&created), "cublasCreate");
    check_cublas(cublasSetMathMode(created, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    return created;
  }();
  return handle;
}

}  // namespace minidl::cuda
