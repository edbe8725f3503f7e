/// \file
/// The CUDA API as minidl's CUDA sources see it, in the real and in the emulated flavour.
///
/// Real flavour: the CUDA runtime, cuBLAS and (when found) cuDNN headers.
/// Emulated flavour (MINIDL_CUDA_EMULATOR): the emulator's stand-ins for the same
/// names (core/emulator/), so one source compiles both ways.
///
/// Only sources of the CUDA flavours include this header (core/cuda_runtime.cpp,
/// kernels/cuda/, CUDA tests); it does not include fmt, so nvcc can compile it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "minidl/core/source_location.h"

#if defined(MINIDL_CUDA_EMULATOR)
#include "minidl/core/emulator/cublas_emulator.h"
#include "minidl/core/emulator/cuda_emulator.h"
#else
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#if defined(MINIDL_WITH_CUDNN)
#include <cudnn.h>
#endif
#endif

namespace minidl::cuda {

///@{
/// Each throws Error unless status is success: "<call> failed at <file>:<line>: <library's message>",
/// followed by the status's name for CUDA and cuBLAS (cuDNN's message is its name).
/// Write the call's name as it appears in the code: check_cuda(cudaMemcpy(...), "cudaMemcpy").
void check_cuda(cudaError_t status, const char* call, SourceLocation where = SourceLocation::current());
void check_cublas(cublasStatus_t status, const char* call, SourceLocation where = SourceLocation::current());
#if defined(MINIDL_WITH_CUDNN)
void check_cudnn(cudnnStatus_t status, const char* call, SourceLocation where = SourceLocation::current());
#endif
///@}

/// value as the int a 32-bit-indexed kernel takes; throws Error naming op and what
/// ("<op>: <what> = 3000000000 does not fit the kernels' 32-bit indices") when it does not fit.
int as_index(std::int64_t value, const char* op, const char* what);

/// Checks the kernel launch just made (cudaGetLastError), naming its configuration in the error.
void check_launch(dim3 grid, dim3 block, std::size_t dynamic_shared_bytes, SourceLocation where);

/// The process's cuBLAS handle, created on first use, in full fp32 (no TF32, as PyTorch's default).
cublasHandle_t cublas_handle();

/// The stream every op of minidl queues its work on.
cudaStream_t current_stream();

/// The current device's number of multiprocessors (read once): kernels size their grids
/// to fill them. The emulator reports an H200's, 132.
int multiprocessor_count();

}  // namespace minidl::cuda
