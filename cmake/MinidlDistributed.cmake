# Finds the engines of data-parallel training (distributed/, docs/distributed.md):
#   MINIDL_WITH_MPI   Open MPI (or another MPI): processes and CPU tensors. Debian:
#                     openmpi-bin and libopenmpi-dev (scripts/setup installs them).
#   MINIDL_WITH_NCCL  NCCL for CUDA tensors. Real CUDA: found like cuDNN, in the CUDA
#                     toolkit, the system, or PyTorch's pip packages
#                     (site-packages/nvidia/nccl, which ship only libnccl.so.2); set
#                     MINIDL_NCCL_INCLUDE_DIR and MINIDL_NCCL_LIBRARY to point at it.
#                     Emulated CUDA: minidl's NCCL stand-in, carried over MPI.
option(MINIDL_DISTRIBUTED "Build data-parallel training where MPI or NCCL is found" ON)

set(MINIDL_WITH_MPI OFF)
set(MINIDL_WITH_NCCL OFF)
if(MINIDL_DISTRIBUTED)
  set(MPI_CXX_SKIP_MPICXX ON)  # the C API only: no C++ bindings library
  find_package(MPI COMPONENTS CXX QUIET)
  if(MPI_CXX_FOUND)
    set(MINIDL_WITH_MPI ON)
    message(STATUS "minidl: MPI found (${MPI_CXX_LIBRARIES}): data-parallel training on the CPU")
  else()
    message(STATUS "minidl: MPI not found: no data-parallel training over processes (install libopenmpi-dev)")
  endif()

  if(MINIDL_CUDA_MODE STREQUAL "real")
    minidl_find_nvidia_library(NCCL nccl.h nccl nccl libnccl.so.2)
    if(MINIDL_NCCL_INCLUDE_DIR AND MINIDL_NCCL_LIBRARY)
      set(MINIDL_WITH_NCCL ON)
      message(STATUS "minidl: NCCL found: ${MINIDL_NCCL_LIBRARY}")
    else()
      message(STATUS "minidl: NCCL not found: no data-parallel training on CUDA "
                     "(set MINIDL_NCCL_INCLUDE_DIR and MINIDL_NCCL_LIBRARY to point at it)")
    endif()
  elseif(MINIDL_CUDA_MODE STREQUAL "emulated" AND MINIDL_WITH_MPI)
    set(MINIDL_WITH_NCCL ON)
    message(STATUS "minidl: NCCL is minidl's stand-in, over MPI (emulated CUDA)")
  endif()
endif()
