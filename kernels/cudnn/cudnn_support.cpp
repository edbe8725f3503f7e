#include "minidl/kernels/cudnn/cudnn_support.h"

#include <climits>

#include "minidl/core/error.h"

namespace minidl::cudnn {

cudnnHandle_t handle(cudaStream_t stream) {
  thread_local const cudnnHandle_t thread_handle = [] {
    cudnnHandle_t created = nullptr;
    cuda::check_cudnn(cudnnCreate(&created), "cudnnCreate");
    return created;
  }();
  cuda::check_cudnn(cudnnSetStream(thread_handle, stream), "cudnnSetStream");
  return thread_handle;
}

int as_int(std::int64_t value, const char* what) {
  if (value < 0 || value > INT_MAX) fail("cudnn: {} = {} does not fit cuDNN's int", what, value);
  return static_cast<int>(value);
}

TensorDescriptor::TensorDescriptor() {
  cuda::check_cudnn(cudnnCreateTensorDescriptor(&descriptor_), "cudnnCreateTensorDescriptor");
}

TensorDescriptor::TensorDescriptor(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w)
    : TensorDescriptor() {
  cuda::check_cudnn(cudnnSetTensor4dDescriptor(descriptor_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, as_int(n, "N"),
                                               as_int(c, "C"), as_int(h, "H"), as_int(w, "W")),
                    "cudnnSetTensor4dDescriptor");
}

TensorDescriptor::~TensorDescriptor() { cudnnDestroyTensorDescriptor(descriptor_); }

}  // namespace minidl::cudnn
