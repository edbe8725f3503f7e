/// \file
/// The NCCL backend of Communicator: CUDA tensors reduced by NCCL on minidl's stream,
/// so a collective can be captured in a CUDA graph with the rest of a training step.
///
/// In the emulated CUDA flavour the same code runs against minidl's NCCL stand-in
/// (nccl_emulator.h), which carries each collective over MPI between the processes:
/// the NCCL path of data parallel is tested without a GPU.
#pragma once

#include <memory>

#include "minidl/distributed/communicator.h"

namespace minidl::distributed {

/// An NCCL communicator over the processes mpirun started: rank 0 makes NCCL's unique
/// id and MPI broadcasts it, then every rank joins (ncclCommInitRank). With several GPUs
/// in a machine, each rank first makes GPU (its local rank mod the GPU count) its
/// current device: call it before any CUDA tensor is made. CUDA tensors of f32, f64,
/// i32 or i64. Throws Error when minidl was built without NCCL or MPI.
std::unique_ptr<Communicator> make_nccl_communicator();

/// A one-rank NCCL communicator bootstrapped in this process alone (ncclGetUniqueId, then
/// ncclCommInitRank with one rank), without MPI: what a single GPU checks the NCCL path with.
std::unique_ptr<Communicator> make_single_process_nccl_communicator();

}  // namespace minidl::distributed
