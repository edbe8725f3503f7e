// The MPI backend: each collective is one MPI call on the tensor's memory, in place.
#include "minidl/distributed/mpi_communicator.h"

#include <climits>

#include <mpi.h>

#include "minidl/core/error.h"
#include "mpi_world.h"

namespace minidl::distributed {

namespace {

MPI_Datatype mpi_type(DType dtype, const char* call) {
  switch (dtype) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::i32: return MPI_INT32_T;
    case DType::i64: return MPI_INT64_T;
    default: fail("{}: the MPI backend reduces f32, f64, i32 or i64 tensors, not {}", call, dtype_name(dtype));
  }
}

// x *= 1/N in the tensor's own precision: the same bits on every rank.
template <typename T>
void scale(Tensor& tensor, T factor) {
  T* values = tensor.data<T>();
  for (std::int64_t i = 0; i < tensor.numel(); ++i) values[i] *= factor;
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() : rank_(mpi::world_rank()), size_(mpi::world_size()) {}

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  Device device() const override { return Device::cpu(); }

  void all_reduce(Tensor& tensor, Reduction reduction) override {
    const MPI_Datatype type = check_tensor(tensor, "all_reduce");
    mpi::check(MPI_Allreduce(MPI_IN_PLACE, tensor.raw_data(), static_cast<int>(tensor.numel()), type, MPI_SUM,
                             MPI_COMM_WORLD),
               "MPI_Allreduce");
    if (reduction == Reduction::sum) return;
    if (tensor.dtype() == DType::f32)
      scale(tensor, 1.0f / static_cast<float>(size_));
    else if (tensor.dtype() == DType::f64)
      scale(tensor, 1.0 / static_cast<double>(size_));
    else
      fail("all_reduce: an average of {} values is not an integer; reduce with Reduction::sum", dtype_name(tensor.dtype()));
  }

  void broadcast(Tensor& tensor, int root) override {
    const MPI_Datatype type = check_tensor(tensor, "broadcast");
    if (root < 0 || root >= size_) fail("broadcast: root {} is not a rank (0..{})", root, size_ - 1);
    mpi::check(MPI_Bcast(tensor.raw_data(), static_cast<int>(tensor.numel()), type, root, MPI_COMM_WORLD),
               "MPI_Bcast");
  }

  std::int64_t sum(std::int64_t value) override { return mpi::sum(value); }

 private:
  static MPI_Datatype check_tensor(const Tensor& tensor, const char* call) {
    if (!tensor.defined()) fail("{}: the tensor is undefined", call);
    if (!tensor.device().is_cpu())
      fail("{}: the MPI backend reduces CPU tensors; this one is on {} (use the NCCL backend for CUDA)", call,
           tensor.device().str());
    if (tensor.numel() > INT_MAX) fail("{}: {} elements is more than MPI's int count", call, tensor.numel());
    return mpi_type(tensor.dtype(), call);
  }

  int rank_, size_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

}  // namespace minidl::distributed
