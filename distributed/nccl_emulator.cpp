// The NCCL stand-in of the emulated flavour: each collective is one MPI call on the
// emulated device memory (host memory). See nccl_emulator.h.
#include "nccl_emulator.h"

#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>

#include <mpi.h>

#include "minidl/core/emulator/emulator.h"
#include "mpi_world.h"

struct ncclComm {
  int nranks;
  int rank;
};

namespace {

MPI_Datatype mpi_type(ncclDataType_t datatype) {
  switch (datatype) {
    case ncclInt32: return MPI_INT32_T;
    case ncclInt64: return MPI_INT64_T;
    case ncclFloat32: return MPI_FLOAT;
    case ncclFloat64: return MPI_DOUBLE;
  }
  return MPI_DATATYPE_NULL;
}

std::size_t element_bytes(ncclDataType_t datatype) {
  return datatype == ncclInt32 || datatype == ncclFloat32 ? 4 : 8;
}

template <typename T>
void scale(void* buffer, std::size_t count, T factor) {
  T* values = static_cast<T*>(buffer);
  for (std::size_t i = 0; i < count; ++i) values[i] *= factor;
}

// Runs work now, or records it in the graph the stream is capturing.
void enqueue(cudaStream_t stream, std::function<void()> work) {
  if (!minidl::emulator::detail::capture(stream, work)) work();
}

bool valid(ncclDataType_t datatype) { return mpi_type(datatype) != MPI_DATATYPE_NULL; }

}  // namespace

const char* ncclGetErrorString(ncclResult_t result) {
  switch (result) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error";
    case ncclSystemError: return "unhandled system error";
    case ncclInternalError: return "internal error";
    case ncclInvalidArgument: return "invalid argument";
    case ncclInvalidUsage: return "invalid usage";
    case ncclRemoteError: return "remote process exited or there was a network error";
  }
  return "unknown result code";
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  if (id == nullptr) return ncclInvalidArgument;
  std::random_device random;
  for (char& byte : id->internal) byte = static_cast<char>(random());
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  if (comm == nullptr || nranks < 1 || rank < 0 || rank >= nranks) return ncclInvalidArgument;
  if (nranks > 1) {
    // The stand-in's ranks are MPI_COMM_WORLD's, and they agree on rank 0's id.
    try {
      if (minidl::distributed::mpi::world_size() != nranks || minidl::distributed::mpi::world_rank() != rank)
        return ncclInvalidUsage;
      ncclUniqueId root_id = id;
      minidl::distributed::mpi::broadcast_bytes(root_id.internal, sizeof root_id.internal, 0);
      const bool same = std::memcmp(root_id.internal, id.internal, sizeof id.internal) == 0;
      if (minidl::distributed::mpi::sum(same ? 0 : 1) != 0) return ncclInvalidArgument;
    } catch (const std::exception&) {
      return ncclSystemError;
    }
  }
  *comm = new ncclComm{nranks, rank};
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  delete comm;
  return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, std::size_t count, ncclDataType_t datatype,
                           ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
  if (comm == nullptr || recvbuff == nullptr || sendbuff == nullptr || !valid(datatype)) return ncclInvalidArgument;
  if (op != ncclSum && op != ncclAvg) return ncclInvalidArgument;
  if (op == ncclAvg && datatype != ncclFloat32 && datatype != ncclFloat64) return ncclInvalidArgument;
  if (count > INT_MAX) return ncclInvalidArgument;
  const int nranks = comm->nranks;
  enqueue(stream, [=] {
    if (sendbuff != recvbuff) std::memmove(recvbuff, sendbuff, count * element_bytes(datatype));
    if (nranks > 1)
      minidl::distributed::mpi::check(MPI_Allreduce(MPI_IN_PLACE, recvbuff, static_cast<int>(count),
                                                    mpi_type(datatype), MPI_SUM, MPI_COMM_WORLD),
                                      "MPI_Allreduce (NCCL stand-in)");
    if (op != ncclAvg) return;
    if (datatype == ncclFloat32)
      scale(recvbuff, count, 1.0f / static_cast<float>(nranks));
    else
      scale(recvbuff, count, 1.0 / static_cast<double>(nranks));
  });
  return ncclSuccess;
}

ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, std::size_t count, ncclDataType_t datatype, int root,
                           ncclComm_t comm, cudaStream_t stream) {
  if (comm == nullptr || recvbuff == nullptr || !valid(datatype)) return ncclInvalidArgument;
  if (root < 0 || root >= comm->nranks || count > INT_MAX) return ncclInvalidArgument;
  if (comm->rank == root && sendbuff == nullptr) return ncclInvalidArgument;
  const int nranks = comm->nranks, rank = comm->rank;
  enqueue(stream, [=] {
    if (rank == root && sendbuff != recvbuff) std::memmove(recvbuff, sendbuff, count * element_bytes(datatype));
    if (nranks > 1)
      minidl::distributed::mpi::check(
          MPI_Bcast(recvbuff, static_cast<int>(count), mpi_type(datatype), root, MPI_COMM_WORLD),
          "MPI_Bcast (NCCL stand-in)");
  });
  return ncclSuccess;
}
