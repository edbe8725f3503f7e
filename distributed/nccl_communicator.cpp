// The NCCL backend: each collective is one NCCL call on minidl's stream, in place.
// Compiled in the real CUDA flavour against <nccl.h>, in the emulated one against the
// stand-in (nccl_emulator.h).
#include "minidl/distributed/nccl_communicator.h"

#include <cstdlib>
#include <string>

#include "minidl/core/cuda_api.h"
#include "minidl/core/error.h"
#if defined(MINIDL_WITH_MPI)
#include "mpi_world.h"
#endif
#if defined(MINIDL_CUDA_EMULATOR)
#include "nccl_emulator.h"
#else
#include <nccl.h>
#if NCCL_VERSION_CODE < NCCL_VERSION(2, 10, 0)
#error "minidl's NCCL backend needs NCCL 2.10 or later (ncclAvg)"
#endif
#endif

namespace minidl::distributed {

namespace {

void check_nccl(ncclResult_t result, const char* call) {
  if (result != ncclSuccess) fail("{} failed: {}", call, ncclGetErrorString(result));
}

ncclDataType_t nccl_type(DType dtype, const char* call) {
  switch (dtype) {
    case DType::f32: return ncclFloat32;
    case DType::f64: return ncclFloat64;
    case DType::i32: return ncclInt32;
    case DType::i64: return ncclInt64;
    default: fail("{}: the NCCL backend reduces f32, f64, i32 or i64 tensors, not {}", call, dtype_name(dtype));
  }
}

class NcclCommunicator final : public Communicator {
 public:
  // Joins the communicator of size ranks that id names. over_mpi: the ranks are MPI's
  // (sum() goes over MPI); otherwise size is 1.
  NcclCommunicator(int rank, int size, const ncclUniqueId& id, bool over_mpi)
      : rank_(rank), size_(size), over_mpi_(over_mpi) {
    check_nccl(ncclCommInitRank(&comm_, size, id, rank), "ncclCommInitRank");
  }
  ~NcclCommunicator() override { ncclCommDestroy(comm_); }
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }
  Device device() const override { return Device::cuda(); }

  void all_reduce(Tensor& tensor, Reduction reduction) override {
    const ncclDataType_t type = check_tensor(tensor, "all_reduce");
    const bool floating = tensor.dtype() == DType::f32 || tensor.dtype() == DType::f64;
    if (reduction == Reduction::average && !floating)
      fail("all_reduce: an average of {} values is not an integer; reduce with Reduction::sum", dtype_name(tensor.dtype()));
    check_nccl(ncclAllReduce(tensor.raw_data(), tensor.raw_data(), static_cast<std::size_t>(tensor.numel()), type,
                             reduction == Reduction::average ? ncclAvg : ncclSum, comm_, cuda::current_stream()),
               "ncclAllReduce");
  }

  void broadcast(Tensor& tensor, int root) override {
    const ncclDataType_t type = check_tensor(tensor, "broadcast");
    if (root < 0 || root >= size_) fail("broadcast: root {} is not a rank (0..{})", root, size_ - 1);
    check_nccl(ncclBroadcast(tensor.raw_data(), tensor.raw_data(), static_cast<std::size_t>(tensor.numel()), type,
                             root, comm_, cuda::current_stream()),
               "ncclBroadcast");
  }

  std::int64_t sum(std::int64_t value) override {
#if defined(MINIDL_WITH_MPI)
    if (over_mpi_) return mpi::sum(value);
#endif
    return value;
  }

 private:
  static ncclDataType_t check_tensor(const Tensor& tensor, const char* call) {
    if (!tensor.defined()) fail("{}: the tensor is undefined", call);
    if (!tensor.device().is_cuda())
      fail("{}: the NCCL backend reduces CUDA tensors; this one is on {} (use the MPI backend for the CPU)", call,
           tensor.device().str());
    return nccl_type(tensor.dtype(), call);
  }

  int rank_, size_;
  bool over_mpi_;
  ncclComm_t comm_ = nullptr;
};

#if defined(MINIDL_WITH_MPI)
// The rank's index among the ranks on its machine, from the launcher's environment.
int local_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* value = std::getenv(name)) return std::atoi(value);
  return 0;
}

// With several GPUs in the machine, makes GPU (local rank mod their count) the current one.
void choose_gpu() {
  int devices = 0;
  cuda::check_cuda(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
  if (devices > 1) cuda::check_cuda(cudaSetDevice(local_rank() % devices), "cudaSetDevice");
}
#endif

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator() {
#if !defined(MINIDL_WITH_MPI)
  fail("the NCCL backend over several processes needs MPI to start them, and minidl was built without MPI "
       "(install libopenmpi-dev: scripts/setup)");
#else
  const int rank = mpi::world_rank(), size = mpi::world_size();
  choose_gpu();
  ncclUniqueId id{};
  if (rank == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  mpi::broadcast_bytes(&id, sizeof id, 0);
  return std::make_unique<NcclCommunicator>(rank, size, id, /*over_mpi=*/true);
#endif
}

std::unique_ptr<Communicator> make_single_process_nccl_communicator() {
  ncclUniqueId id{};
  check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  return std::make_unique<NcclCommunicator>(0, 1, id, /*over_mpi=*/false);
}

}  // namespace minidl::distributed
