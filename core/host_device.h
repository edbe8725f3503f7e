// MINIDL_HOST_DEVICE marks a function that both host code and CUDA kernels call
// (the Philox generator, small math helpers). It is __host__ __device__ under
// nvcc and under the CUDA emulator, and nothing in a plain C++ build.
#pragma once

#if defined(__CUDACC__) || defined(MINIDL_CUDA_EMULATOR)
#define MINIDL_HOST_DEVICE __host__ __device__
#else
#define MINIDL_HOST_DEVICE
#endif
