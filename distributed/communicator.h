/// \file
/// Communicator: the processes ("ranks") of one data-parallel job and the collective
/// operations between them, on the engines people already run: MPI for CPU tensors
/// (mpi_communicator.h), NCCL for CUDA tensors (nccl_communicator.h).
///
///   auto communicator = distributed::make_communicator(Device::cpu());  // under mpirun -np 2
///   communicator->all_reduce(gradients, distributed::Reduction::average);
///
/// Every rank must make the same calls in the same order, with tensors of the same shape
/// and dtype: a collective returns (or, on CUDA, its work completes) once every rank has
/// joined it. MPI and NCCL do not promise that a reduction gives every rank the same
/// bits; Open MPI and NCCL do in practice, and tests/test_distributed.cpp checks it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "minidl/core/device.h"
#include "minidl/core/tensor.h"

namespace minidl::distributed {

/// How all_reduce combines the ranks' tensors, element by element.
enum class Reduction {
  sum,      ///< x_0 + x_1 + ... + x_{N-1}
  average,  ///< that sum times 1/N (floating-point tensors only)
};

/// The ranks of one job and the collectives between them; see the top of this file.
class Communicator {
 public:
  virtual ~Communicator() = default;

  /// This process's rank, 0..size()-1.
  virtual int rank() const = 0;
  /// The number of ranks.
  virtual int size() const = 0;
  /// "mpi" or "nccl".
  virtual std::string backend() const = 0;
  /// Where the tensors it reduces live: the CPU (MPI) or this rank's GPU (NCCL).
  virtual Device device() const = 0;

  /// In place, on every rank: tensor = the reduction of every rank's tensor. One call
  /// moves the whole tensor (a flat buffer of every gradient is one call). On CUDA the
  /// work is queued on minidl's stream (and may be captured in a CUDA graph); on the CPU
  /// it is done when the call returns. Throws Error for a tensor on another device or of
  /// a dtype the backend does not reduce.
  virtual void all_reduce(Tensor& tensor, Reduction reduction) = 0;
  /// In place, on every rank: tensor = root's tensor. Queued like all_reduce.
  virtual void broadcast(Tensor& tensor, int root) = 0;
  /// The sum over ranks of a host value, on every rank; waits for every rank (for
  /// totals at an epoch's end, and for agreeing to stop: sum(stop ? 1 : 0) > 0).
  virtual std::int64_t sum(std::int64_t value) = 0;
};

/// The communicator for tensors on device: MPI (CPU) or NCCL (CUDA), over the
/// processes mpirun started (MPI's environment says which rank this is). Throws Error
/// when minidl was built without that backend, or when the process was not started by an
/// MPI launcher that MPI can join.
std::unique_ptr<Communicator> make_communicator(Device device);

/// The number of ranks mpirun (Open MPI's, or MPICH's Hydra) says this process was started
/// among, read from the environment without initializing MPI; 1 when no launcher said so.
int launcher_world_size();

/// When this process is one rank of several that MPI runs, ends them all at once with
/// exit_code (MPI_Abort): an error on one rank would leave the others waiting forever in
/// their next collective. Otherwise returns.
void abort_job_if_distributed(int exit_code);

/// Whether make_communicator(device) can work in this build: MPI for the CPU; NCCL and
/// MPI (which starts the ranks) for CUDA.
bool has_backend(Device device);

/// Whether this build has NCCL (real, or the emulated flavour's stand-in), for
/// make_single_process_nccl_communicator() (nccl_communicator.h), which needs no MPI.
bool has_nccl();

}  // namespace minidl::distributed
