// The NCCL calls minidl makes, for the emulated CUDA flavour (core/emulator/).
//
// The names, types and values are NCCL's, so the NCCL backend (nccl_communicator.cpp)
// compiles against this or against <nccl.h> unchanged. The device memory of the
// emulator is host memory, so a collective is carried by MPI between the processes
// mpirun started, on the buffers themselves:
//   - a communicator of nranks > 1 is MPI_COMM_WORLD, which must have nranks processes,
//     rank being the process's MPI rank; every rank must pass the unique id rank 0
//     made (checked: a wrong id is ncclInvalidArgument);
//   - a communicator of one rank needs no MPI;
//   - a collective runs when it is called, or, on a stream that captures a CUDA graph,
//     when the graph is launched (NCCL's collectives can be captured too);
//   - ncclAvg is the sum, then times 1/nranks, in the buffer's precision, for f32 and f64
//     only. Real NCCL (2.10 and later) multiplies each rank's values by 1/nranks before
//     summing floats, which rounds alike only when nranks is a power of two, and averages
//     integers too (sum, then divide); minidl averages only floats.
#pragma once

#include <cstddef>

#include "minidl/core/emulator/cuda_emulator.h"

#define NCCL_UNIQUE_ID_BYTES 128

enum ncclResult_t {
  ncclSuccess = 0,
  ncclUnhandledCudaError = 1,
  ncclSystemError = 2,
  ncclInternalError = 3,
  ncclInvalidArgument = 4,
  ncclInvalidUsage = 5,
  ncclRemoteError = 6,
};

enum ncclDataType_t {
  ncclInt32 = 2,
  ncclInt64 = 4,
  ncclFloat32 = 7,
  ncclFloat = 7,
  ncclFloat64 = 8,
  ncclDouble = 8,
};

enum ncclRedOp_t { ncclSum = 0, ncclAvg = 4 };

struct ncclUniqueId {
  char internal[NCCL_UNIQUE_ID_BYTES];
};

struct ncclComm;
using ncclComm_t = ncclComm*;

const char* ncclGetErrorString(ncclResult_t result);
ncclResult_t ncclGetUniqueId(ncclUniqueId* id);
ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank);
ncclResult_t ncclCommDestroy(ncclComm_t comm);
ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, std::size_t count, ncclDataType_t datatype,
                           ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream);
ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, std::size_t count, ncclDataType_t datatype, int root,
                           ncclComm_t comm, cudaStream_t stream);
