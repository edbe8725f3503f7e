/// \file
/// The MPI backend of Communicator: CPU tensors reduced over MPI_COMM_WORLD, the ranks
/// being the processes mpirun started.
#pragma once

#include <memory>

#include "minidl/distributed/communicator.h"

namespace minidl::distributed {

/// A communicator over MPI_COMM_WORLD for CPU tensors of f32, f64, i32 or i64.
/// Initializes MPI on first use and finalizes it when the process exits. Throws Error
/// when minidl was built without MPI.
std::unique_ptr<Communicator> make_mpi_communicator();

}  // namespace minidl::distributed
