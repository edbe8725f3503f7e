// What the cuDNN implementations (kernels/cudnn/) share: the handle and descriptors
// of f32 NCHW tensors, each owning its cuDNN object. Only compiled with cuDNN
// (MINIDL_WITH_CUDNN, real CUDA builds where CMake found it); cuDNN is not emulated.
#pragma once

#include <cstdint>

#include "minidl/core/cuda_api.h"

namespace minidl::cudnn {

// The calling thread's cuDNN handle, created on first use, queueing on stream from
// now on. A cuDNN handle must not be used by two threads at once, so each thread
// has its own. It is never destroyed: at exit the CUDA runtime may already be gone.
cudnnHandle_t handle(cudaStream_t stream);

// A 4-d f32 tensor (n, c, h, w), contiguous NCHW.
class TensorDescriptor {
 public:
  TensorDescriptor();  // created, not yet set (for cudnnDeriveBNTensorDescriptor)
  TensorDescriptor(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w);
  ~TensorDescriptor();
  TensorDescriptor(const TensorDescriptor&) = delete;
  TensorDescriptor& operator=(const TensorDescriptor&) = delete;
  cudnnTensorDescriptor_t get() const { return descriptor_; }

 private:
  cudnnTensorDescriptor_t descriptor_ = nullptr;
};

// cuDNN takes sizes as int: throws Error naming what does not fit.
int as_int(std::int64_t value, const char* what);

}  // namespace minidl::cudnn
