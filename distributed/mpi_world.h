// MPI_COMM_WORLD for the MPI backend, and for the NCCL backend's bootstrap and the NCCL
// stand-in of the emulated flavour. Only sources built with MPI include this.
#pragma once

#include <cstddef>
#include <cstdint>

namespace minidl::distributed::mpi {

// Initializes MPI once per process (MPI_Init_thread, MPI_THREAD_FUNNELED: only the thread
// that initialized it calls MPI; a CUDA graph's collectives run on the thread that launches
// it) and finalizes it at exit. Throws Error when MPI cannot start or cannot give that.
void ensure_initialized();
int world_rank();
int world_size();
// Every rank's bytes = root's (MPI_Bcast).
void broadcast_bytes(void* data, std::size_t bytes, int root);
// The sum over ranks of value (MPI_Allreduce).
std::int64_t sum(std::int64_t value);
// MPI_Abort on MPI_COMM_WORLD when MPI runs with more than one rank; returns otherwise.
void abort_if_running(int exit_code);
// Throws Error naming call unless status is MPI_SUCCESS, with MPI's message.
void check(int status, const char* call);

}  // namespace minidl::distributed::mpi
