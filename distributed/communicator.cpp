#include "minidl/distributed/communicator.h"

#include <algorithm>
#include <cstdlib>

#include "minidl/core/error.h"
#include "minidl/distributed/mpi_communicator.h"
#include "minidl/distributed/nccl_communicator.h"
#if defined(MINIDL_WITH_MPI)
#include "mpi_world.h"
#endif

namespace minidl::distributed {

int launcher_world_size() {
  // Open MPI's mpirun, then MPICH's (Hydra).
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* value = std::getenv(name)) return std::max(1, std::atoi(value));
  return 1;
}

void abort_job_if_distributed(int exit_code) {
#if defined(MINIDL_WITH_MPI)
  mpi::abort_if_running(exit_code);
#else
  (void)exit_code;
#endif
}

bool has_backend(Device device) {
#if defined(MINIDL_WITH_MPI)
  if (device.is_cpu()) return true;
#endif
#if defined(MINIDL_WITH_NCCL) && defined(MINIDL_WITH_MPI)
  if (device.is_cuda()) return true;
#endif
  (void)device;
  return false;
}

bool has_nccl() {
#if defined(MINIDL_WITH_NCCL)
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Communicator> make_communicator(Device device) {
  return device.is_cuda() ? make_nccl_communicator() : make_mpi_communicator();
}

#if !defined(MINIDL_WITH_MPI)
std::unique_ptr<Communicator> make_mpi_communicator() {
  fail("minidl was built without MPI: data-parallel training on the CPU needs it "
       "(install openmpi-bin and libopenmpi-dev, e.g. scripts/setup, and build again)");
}
#endif

#if !defined(MINIDL_WITH_NCCL)
std::unique_ptr<Communicator> make_nccl_communicator() {
  fail("minidl was built without NCCL: data-parallel training on CUDA needs it "
       "(point MINIDL_NCCL_INCLUDE_DIR and MINIDL_NCCL_LIBRARY at it, see README)");
}
std::unique_ptr<Communicator> make_single_process_nccl_communicator() { return make_nccl_communicator(); }
#endif

}  // namespace minidl::distributed
