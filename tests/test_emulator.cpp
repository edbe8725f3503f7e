// Specification of the CUDA emulator (core/emulator/): CUDA's execution model on
// host threads, and the failures it reports instead of hanging. Emulated flavour only.
// Small launches only: at most 256 threads per block and a few blocks.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "minidl/core/cuda_api.h"
#include "minidl/core/tensor.h"
#include "minidl/kernels/cuda/kernel_support.cuh"
#include "minidl/core/emulator/emulator.h"
#include "test_support.h"

using namespace minidl;
using cuda::launch;

namespace {

// A launch of grid blocks of block threads with dynamic_shared_bytes, on the default
// stream, declaring no work (the recorder's tests declare theirs).
cuda::LaunchConfig config(dim3 grid, dim3 block, std::size_t dynamic_shared_bytes = 0,
                          SourceLocation where = SourceLocation::current()) {
  return {grid, block, dynamic_shared_bytes, nullptr, cuda::elements(0), where};
}

Tensor zeros_i32(std::int64_t count) { return Tensor::zeros({count}, DType::i32, Device::cuda()); }

// Restores the emulator's settings at the end of a test (the block order may come
// from MINIDL_EMULATOR_SHUFFLE_SEED).
struct EmulatorSettingsGuard {
  std::size_t memory_limit = emulator::memory_limit();
  emulator::BlockOrder block_order = emulator::block_order();
  ~EmulatorSettingsGuard() {
    emulator::set_memory_limit(memory_limit);
    emulator::set_block_order(block_order);
  }
};

// Thread t writes t to shared memory, waits, and reads the slot of thread (t + 32) % n,
// which another warp wrote.
__global__ void rotate_through_shared(int* output) {
  __shared__ int values[256];
  unsigned t = threadIdx.x;
  values[t] = static_cast<int>(t);
  __syncthreads();
  output[t] = values[(t + 32) % blockDim.x];
}

// Threads at or past `active` return before the barrier; the others still pass it.
__global__ void return_before_barrier(int* output, unsigned active) {
  __shared__ int values[256];
  unsigned t = threadIdx.x;
  if (t >= active) return;
  values[t] = static_cast<int>(t) * 2;
  __syncthreads();
  output[t] = values[active - 1 - t];
}

// Thread 0 of each block stores its block index in shared memory for the others.
__global__ void broadcast_block_index(int* output) {
  __shared__ int block_index;
  if (threadIdx.x == 0) block_index = static_cast<int>(blockIdx.x);
  __syncthreads();
  output[blockIdx.x * blockDim.x + threadIdx.x] = block_index;
}

// Reads dynamic shared memory before writing it (reports whether it was NaN), then
// reverses the block's values through it.
__global__ void reverse_through_dynamic_shared(int* started_as_nan, int* output) {
  float* values = cuda::dynamic_shared_memory<float>();
  unsigned t = threadIdx.x;
  started_as_nan[t] = std::isnan(values[t]);
  __syncthreads();
  values[t] = static_cast<float>(t);
  __syncthreads();
  output[t] = static_cast<int>(values[blockDim.x - 1 - t]);
}

// Each lane records the results of the shuffles of its own lane number.
__global__ void shuffle_lane_numbers(int* output) {
  int lane = static_cast<int>(threadIdx.x % 32);
  int* row = output + threadIdx.x * 6;
  row[0] = __shfl_sync(0xffffffffu, lane * 10, (lane + 3) % 32);
  row[1] = __shfl_down_sync(0xffffffffu, lane, 5);
  row[2] = __shfl_up_sync(0xffffffffu, lane, 2);
  row[3] = __shfl_xor_sync(0xffffffffu, lane, 1);
  row[4] = __shfl_down_sync(0xffffffffu, lane, 2, 8);
  row[5] = __shfl_sync(0xffffffffu, lane, 0, 8);
}

__global__ void vote_kernel(unsigned* output) {
  unsigned lane = threadIdx.x % 32;
  unsigned ballot = __ballot_sync(0xffffffffu, lane % 3 == 0);
  int any_last = __any_sync(0xffffffffu, lane == 31);
  int all_below_32 = __all_sync(0xffffffffu, lane < 32);
  int all_below_31 = __all_sync(0xffffffffu, lane < 31);
  if (lane == 0) {
    output[0] = ballot;
    output[1] = static_cast<unsigned>(any_last);
    output[2] = static_cast<unsigned>(all_below_32);
    output[3] = static_cast<unsigned>(all_below_31);
  }
}

// Sums lane numbers in segments of 16 lanes (width 16), with a mask naming the warp's
// lanes: a block of 48 threads has a full warp and a warp of 16 lanes.
__global__ void segment_sums(int* output) {
  unsigned mask = threadIdx.x < 32 ? 0xffffffffu : 0x0000ffffu;
  int value = static_cast<int>(threadIdx.x % 32);
  for (unsigned offset = 8; offset > 0; offset /= 2) value += __shfl_down_sync(mask, value, offset, 16);
  if (threadIdx.x % 16 == 0) output[threadIdx.x / 16] = value;
}

// A bug: a shuffle with the full mask after half the warp has returned.
__global__ void shuffle_after_early_return(int* output) {
  if (threadIdx.x >= 16) return;
  __syncthreads();  // passes once the other 16 threads have returned
  output[threadIdx.x] = __shfl_down_sync(0xffffffffu, static_cast<int>(threadIdx.x), 1);
}

__global__ void atomics(int* counter, float* total, int* maximum, int* winner, int* last) {
  int t = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  atomicAdd(counter, 1);
  atomicAdd(total, 0.5f);
  atomicMax(maximum, t);
  atomicCAS(winner, -1, t);  // only the first thread to get here succeeds
  atomicExch(last, t);
}

__global__ void throw_in_one_thread(int* output) {
  if (blockIdx.x == 1 && threadIdx.x == 77) throw std::runtime_error("boom");
  __syncthreads();
  output[blockIdx.x * blockDim.x + threadIdx.x] = 1;
}

// Lane 0 of warp 1 waits at __syncthreads while the rest of its warp waits for it in
// __syncwarp: no thread can go on.
__global__ void deadlock() {
  if (threadIdx.x >= 32 && threadIdx.x != 32) __syncwarp();
  __syncthreads();
}

__global__ void nothing() {}

// Thread 0 of each block appends its block index to the order of arrival.
__global__ void record_block_order(int* next, int* order) {
  if (threadIdx.x == 0) order[atomicAdd(next, 1)] = static_cast<int>(blockIdx.x);
}

}  // namespace

TEST_CASE("__syncthreads orders the writes of one warp before the reads of another") {
  Tensor output = zeros_i32(256);
  launch(rotate_through_shared, config(1, 256), output.data<int>());
  std::vector<int> expected(256);
  for (int t = 0; t < 256; ++t) expected[t] = (t + 32) % 256;
  REQUIRE(output.to_vector<int>() == expected);
}

TEST_CASE("threads that return early drop out of __syncthreads") {
  Tensor output = zeros_i32(128);
  launch(return_before_barrier, config(1, 128), output.data<int>(), 100u);
  std::vector<int> values = output.to_vector<int>();
  for (int t = 0; t < 100; ++t) REQUIRE(values[t] == (99 - t) * 2);
  REQUIRE(values[100] == 0);
}

TEST_CASE("each block sees its own shared memory contents") {
  Tensor output = zeros_i32(4 * 64);
  launch(broadcast_block_index, config(4, 64), output.data<int>());
  std::vector<int> values = output.to_vector<int>();
  for (int i = 0; i < 4 * 64; ++i) REQUIRE(values[i] == i / 64);
}

TEST_CASE("dynamic shared memory holds the launch's bytes and starts as NaN") {
  Tensor started_as_nan = zeros_i32(96), output = zeros_i32(96);
  launch(reverse_through_dynamic_shared, config(1, 96, 96 * sizeof(float)), started_as_nan.data<int>(), output.data<int>());
  REQUIRE(started_as_nan.to_vector<int>() == std::vector<int>(96, 1));
  std::vector<int> expected(96);
  for (int t = 0; t < 96; ++t) expected[t] = 95 - t;
  REQUIRE(output.to_vector<int>() == expected);
}

TEST_CASE("warp shuffles move values between lanes as in CUDA") {
  Tensor output = zeros_i32(64 * 6);
  launch(shuffle_lane_numbers, config(1, 64), output.data<int>());
  std::vector<int> values = output.to_vector<int>();
  for (int t = 0; t < 64; ++t) {
    INFO("thread " << t);
    int lane = t % 32;
    const int* row = values.data() + t * 6;
    REQUIRE(row[0] == (lane + 3) % 32 * 10);
    REQUIRE(row[1] == (lane + 5 < 32 ? lane + 5 : lane));
    REQUIRE(row[2] == (lane >= 2 ? lane - 2 : lane));
    REQUIRE(row[3] == (lane ^ 1));
    REQUIRE(row[4] == (lane % 8 + 2 < 8 ? lane + 2 : lane));
    REQUIRE(row[5] == lane / 8 * 8);
  }
}

TEST_CASE("warp votes report the lanes whose predicate holds") {
  Tensor output = Tensor::zeros({4}, DType::i32, Device::cuda());
  launch(vote_kernel, config(1, 32), reinterpret_cast<unsigned*>(output.data<int>()));
  std::vector<int> values = output.to_vector<int>();
  unsigned every_third = 0;
  for (int lane = 0; lane < 32; lane += 3) every_third |= 1u << lane;
  REQUIRE(static_cast<unsigned>(values[0]) == every_third);
  REQUIRE(values[1] == 1);
  REQUIRE(values[2] == 1);
  REQUIRE(values[3] == 0);
}

TEST_CASE("a shuffle in a partial warp works with a mask of its live lanes") {
  Tensor output = zeros_i32(3);
  launch(segment_sums, config(1, 48), output.data<int>());
  REQUIRE(output.to_vector<int>() == std::vector<int>{120, 376, 120});
}

TEST_CASE("a shuffle whose mask names lanes that returned is an error") {
  Tensor output = zeros_i32(16);
  REQUIRE_THROWS_MINIDL(launch(shuffle_after_early_return, config(1, 32), output.data<int>()),
                        "__shfl_down_sync: mask 0xffffffff does not match the live lanes 0x0000ffff of warp 0");
}

TEST_CASE("atomics from every thread of every block add up") {
  Tensor counter = zeros_i32(1), maximum = zeros_i32(1), last = zeros_i32(1);
  Tensor winner = Tensor::full({1}, -1.0, DType::i32, Device::cuda());
  Tensor total = Tensor::zeros({1}, DType::f32, Device::cuda());
  launch(atomics, config(4, 128), counter.data<int>(), total.data<float>(), maximum.data<int>(), winner.data<int>(),
         last.data<int>());
  REQUIRE(counter.item<int>() == 512);
  REQUIRE(total.item<float>() == 256.0f);
  REQUIRE(maximum.item<int>() == 511);
  REQUIRE(winner.item<int>() >= 0);
  REQUIRE(winner.item<int>() < 512);
  REQUIRE(last.item<int>() >= 0);
}

TEST_CASE("an exception in one thread fails the launch instead of hanging") {
  EmulatorSettingsGuard guard;
  emulator::set_block_order(emulator::BlockOrder::in_order);
  Tensor output = zeros_i32(3 * 128);
  REQUIRE_THROWS_MINIDL(launch(throw_in_one_thread, config(3, 128), output.data<int>()),
                        "thread (77, 0, 0) of block (1, 0, 0) threw: boom");
  REQUIRE_THROWS_MINIDL(launch(throw_in_one_thread, config(3, 128), output.data<int>()), "test_emulator.cpp:");
  // The launch stopped at the failing block: block 2 never ran.
  std::vector<int> values = output.to_vector<int>();
  REQUIRE(std::all_of(values.begin(), values.begin() + 128, [](int v) { return v == 1; }));
  REQUIRE(std::all_of(values.begin() + 256, values.end(), [](int v) { return v == 0; }));
}

TEST_CASE("a block whose threads wait at different barriers is reported as deadlocked") {
  REQUIRE_THROWS_MINIDL(launch(deadlock, config(1, 64)), "block (0, 0, 0) deadlocked");
}

TEST_CASE("a launch of more than 1024 threads per block fails like CUDA") {
  REQUIRE_THROWS_MINIDL(launch(nothing, config(1, 2048)),
                        "kernel launch with grid (1, 1, 1), block (2048, 1, 1) and 0 bytes of dynamic shared memory "
                        "failed at");
  REQUIRE_THROWS_MINIDL(launch(nothing, config(1, {32, 32, 2})), "invalid configuration argument (cudaErrorInvalidConfiguration)");
  REQUIRE_THROWS_MINIDL(launch(nothing, config(0, 32)), "invalid configuration argument");
  REQUIRE_NOTHROW(launch(nothing, config(1, 32)));
}

TEST_CASE("more dynamic shared memory than a block can have fails the launch") {
  REQUIRE_THROWS_MINIDL(launch(nothing, config(1, 32, 64 * 1024)), "invalid argument (cudaErrorInvalidValue)");
}

TEST_CASE("blocks run in order or shuffled when asked") {
  EmulatorSettingsGuard guard;
  constexpr int kBlocks = 8;
  auto run = [] {
    Tensor next = zeros_i32(1), order = zeros_i32(kBlocks);
    launch(record_block_order, config(kBlocks, 32), next.data<int>(), order.data<int>());
    return order.to_vector<int>();
  };
  std::vector<int> in_order(kBlocks);
  std::iota(in_order.begin(), in_order.end(), 0);
  emulator::set_block_order(emulator::BlockOrder::in_order);
  REQUIRE(run() == in_order);
  emulator::set_block_order(emulator::BlockOrder::shuffled, 7);
  std::vector<int> shuffled = run();
  REQUIRE(shuffled != in_order);
  std::sort(shuffled.begin(), shuffled.end());
  REQUIRE(shuffled == in_order);
}

TEST_CASE("the emulator counts allocations and host synchronisations and launches in a region") {
  emulator::Counters before = emulator::counters();
  void* device = nullptr;
  cuda::check_cuda(cudaMalloc(&device, 256), "cudaMalloc");
  int value = 7;
  cuda::check_cuda(cudaMemcpy(device, &value, sizeof(value), cudaMemcpyHostToDevice), "cudaMemcpy");
  launch(nothing, config(2, 32));
  launch(nothing, config(1, 32));
  cuda::check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  cuda::check_cuda(cudaFree(device), "cudaFree");
  emulator::Counters used = emulator::counters() - before;
  REQUIRE(used.device_allocations == 1);
  REQUIRE(used.device_frees == 1);
  REQUIRE(used.host_synchronizations == 2);
  REQUIRE(used.launches == 2);
}

TEST_CASE("a launch recorder keeps each launch's grid block and declared work and record-only runs no body") {
  Tensor output = Tensor::zeros({4 * 64}, DType::i32, Device::cuda());
  const std::vector<int> zeros(4 * 64, 0);
  {
    emulator::LaunchRecorder recorder(emulator::LaunchRecorder::Mode::record_only);
    launch(broadcast_block_index, {dim3(4), dim3(64), 0, nullptr, cuda::elements(256)}, output.data<int>());
    REQUIRE(output.to_vector<int>() == zeros);  // recorded, not run
    cublasHandle_t handle = cuda::cublas_handle();
    const float one = 1.0f, zero = 0.0f;
    auto* matrix = reinterpret_cast<float*>(output.data<int>());
    cuda::check_cublas(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, matrix, 4, matrix, 4, &zero,
                                   matrix, 4),
                       "cublasSgemm");
    const std::vector<emulator::LaunchRecord> records = recorder.records();
    REQUIRE(records.size() == 2);
    REQUIRE(records[0].grid.x == 4);
    REQUIRE(records[0].block.x == 64);
    REQUIRE(records[0].work.amount == 256);
    REQUIRE(std::string(records[0].work.kind) == "elements");
    REQUIRE_THAT(records[0].where.file, Catch::EndsWith("test_emulator.cpp"));
    REQUIRE(records[1].grid.x == 0);  // a library's own launch
    REQUIRE(records[1].work.amount == 64);
    REQUIRE(std::string(records[1].work.kind) == "multiply-adds");
    REQUIRE(output.to_vector<int>() == zeros);  // the GEMM computed nothing either
    REQUIRE_THROWS_MINIDL(emulator::LaunchRecorder(emulator::LaunchRecorder::Mode::run), "another recorder is alive");
  }
  emulator::LaunchRecorder recorder(emulator::LaunchRecorder::Mode::run);
  launch(broadcast_block_index, {dim3(4), dim3(64), 0, nullptr, cuda::elements(256)}, output.data<int>());
  REQUIRE(recorder.records().size() == 1);
  REQUIRE(output.to_vector<int>() != zeros);  // run as well as recorded
}

TEST_CASE("a memory limit makes cuda allocations fail with a clear out of memory message") {
  EmulatorSettingsGuard guard;
  emulator::set_memory_limit(std::size_t{1} << 20);
  REQUIRE_THROWS_MINIDL(Tensor::empty({1 << 20}, DType::f32, Device::cuda()),
                        "out of memory allocating 4194304 bytes on cuda:0 (");
  REQUIRE_THROWS_MINIDL(Tensor::empty({1 << 20}, DType::f32, Device::cuda()), "bytes free of 1048576)");
  REQUIRE_NOTHROW(Tensor::empty({1000}, DType::f32, Device::cuda()));
}

TEST_CASE("runtime calls outside device memory fail with invalid argument") {
  int host[4] = {};
  void* device = nullptr;
  cuda::check_cuda(cudaMalloc(&device, sizeof(host)), "cudaMalloc");
  REQUIRE(cudaMemcpy(host, device, sizeof(host) + 1, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);
  REQUIRE(cudaGetLastError() == cudaErrorInvalidValue);
  REQUIRE(cudaGetLastError() == cudaSuccess);
  REQUIRE(cudaMemcpy(device, host, sizeof(host), cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);
  REQUIRE(cudaFree(host) == cudaErrorInvalidValue);
  REQUIRE(cudaGetLastError() == cudaErrorInvalidValue);
  cuda::check_cuda(cudaFree(device), "cudaFree");
}

TEST_CASE("the cuBLAS math mode can be set and read back") {
  cublasHandle_t handle = nullptr;
  cuda::check_cublas(cublasCreate(&handle), "cublasCreate");
  cuda::check_cublas(cublasSetMathMode(handle, CUBLAS_TF32_TENSOR_OP_MATH), "cublasSetMathMode");
  cublasMath_t mode = CUBLAS_DEFAULT_MATH;
  cuda::check_cublas(cublasGetMathMode(handle, &mode), "cublasGetMathMode");
  REQUIRE(mode == CUBLAS_TF32_TENSOR_OP_MATH);
  REQUIRE(cublasSetMathMode(handle, static_cast<cublasMath_t>(42)) == CUBLAS_STATUS_INVALID_VALUE);
  cuda::check_cublas(cublasDestroy(handle), "cublasDestroy");
}

TEST_CASE("__syncthreads outside a kernel is an error") {
  REQUIRE_THROWS_MINIDL(__syncthreads(), "__syncthreads was called outside a kernel");
}
