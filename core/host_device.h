/// \file
/// MINIDL_HOST_DEVICE marks a function that both host code and CUDA kernels call
/// (the Philox generator, small math helpers). It is __host__ __device__ under
/// nvcc, and nothing for the host compiler, the CUDA emulator included: there
/// host and device code are the same C++.
#pragma once

#if defined(__CUDACC__)
#define MINIDL_HOST_DEVICE __host__ __device__
#else
#define MINIDL_HOST_DEVICE
#endif
