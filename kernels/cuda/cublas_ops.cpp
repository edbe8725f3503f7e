// linear and conv2d with cuBLAS: the GEMM calls, with the row-major/column-major
// bookkeeping spelled out once per call (see the math in cublas_ops.h).
//
// cuBLAS reads a row-major matrix X (r, c) as the column-major matrix X^T (c, r) with
// leading dimension c. So a row-major product C = A @ B is computed as the column-major
// C^T = B^T @ A^T: the operands swap places, and each one's "transposed?" flag says
// whether the row-major operand appears transposed in the formula.
#include "minidl/kernels/cuda/cublas_ops.h"

#include <climits>

#include "minidl/core/cuda_runtime.h"
#include "minidl/core/error.h"
#include "minidl/kernels/cuda/bias.h"
#include "minidl/kernels/cuda/elementwise.h"
#include "minidl/kernels/cuda/im2col.h"

namespace minidl::cublas {

namespace {

// cuBLAS takes sizes as int.
int as_int(std::int64_t value, const char* what) {
  if (value < 0 || value > INT_MAX) fail("cublas: {} = {} does not fit cuBLAS's int", what, value);
  return static_cast<int>(value);
}

// The process's handle, queueing on stream from now on.
cublasHandle_t handle_on(cudaStream_t stream) {
  cublasHandle_t handle = cuda::cublas_handle();
  cuda::check_cublas(cublasSetStream(handle, stream), "cublasSetStream");
  return handle;
}

// A temporary device buffer of count floats from the caching allocator; freed when it
// goes out of scope, after its work is queued (the allocator reuses it in stream order).
class DeviceFloats {
 public:
  explicit DeviceFloats(std::int64_t count)
      : bytes_(static_cast<std::size_t>(count) * sizeof(float)),
        data_(static_cast<float*>(cuda::device_malloc(bytes_))) {}
  ~DeviceFloats() { cuda::device_free(data_, bytes_); }
  DeviceFloats(const DeviceFloats&) = delete;
  DeviceFloats& operator=(const DeviceFloats&) = delete;
  float* data() const { return data_; }

 private:
  std::size_t bytes_;
  float* data_;
};

constexpr float kOne = 1.0f, kZero = 0.0f;

}  // namespace

void linear_forward(const float* input, const float* weight, const float* bias, float* output, std::int64_t N,
                    std::int64_t in_features, std::int64_t out_features, cudaStream_t stream) {
  if (N == 0 || out_features == 0) return;
  int n = as_int(N, "N"), in = as_int(in_features, "in_features"), out = as_int(out_features, "out_features");
  // output^T (out, N) = weight (out, in) @ input^T (in, N): weight is read transposed.
  cuda::check_cublas(cublasSgemm(handle_on(stream), CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &kOne, weight, in, input,
                                 in, &kZero, output, out),
                     "cublasSgemm");
  if (bias != nullptr) cuda::add_bias(output, bias, N, out_features, 1, stream);
}

void linear_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                     float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t in_features,
                     std::int64_t out_features, cudaStream_t stream) {
  int n = as_int(N, "N"), in = as_int(in_features, "in_features"), out = as_int(out_features, "out_features");
  cublasHandle_t handle = handle_on(stream);
  if (grad_input != nullptr && N > 0 && in_features > 0) {
    // grad_input^T (in, N) = weight^T (in, out) @ grad_output^T (out, N).
    cuda::check_cublas(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &kOne, weight, in, grad_output, out,
                                   &kZero, grad_input, in),
                       "cublasSgemm");
  }
  if (in_features > 0 && out_features > 0) {
    // grad_weight^T (in, out) += input^T (in, N) @ grad_output (N, out): grad_output read transposed.
    cuda::check_cublas(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &kOne, input, in, grad_output, out,
                                   &kOne, grad_weight, in),
                       "cublasSgemm");
  }
  if (grad_bias != nullptr) cuda::accumulate_bias_grad(grad_output, grad_bias, N, out_features, 1, stream);
}

void conv2d_forward(const float* input, const float* weight, const float* bias, float* output,
                    const cpu::Conv2dShape& shape, cudaStream_t stream) {
  const std::int64_t K = shape.in_channels * shape.kernel_height * shape.kernel_width;
  const std::int64_t P = shape.out_height * shape.out_width;
  if (shape.batch == 0 || shape.out_channels == 0 || P == 0) return;
  DeviceFloats columns(cuda::im2col_size(shape));
  cuda::im2col(input, columns.data(), shape, stream);
  // Per image: output[n]^T (P, C_out) = columns[n]^T (P, K) @ weight^T (K, C_out);
  // the weight is shared by every image (stride 0).
  cuda::check_cublas(cublasSgemmStridedBatched(handle_on(stream), CUBLAS_OP_N, CUBLAS_OP_N, as_int(P, "OH*OW"),
                                               as_int(shape.out_channels, "C_out"), as_int(K, "C_in*KH*KW"), &kOne,
                                               columns.data(), as_int(P, "OH*OW"), K * P, weight, as_int(K, "K"), 0,
                                               &kZero, output, as_int(P, "OH*OW"), shape.out_channels * P,
                                               as_int(shape.batch, "N")),
                     "cublasSgemmStridedBatched");
  if (bias != nullptr) cuda::add_bias(output, bias, shape.batch, shape.out_channels, P, stream);
}

void conv2d_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                     float* grad_weight, float* grad_bias, const cpu::Conv2dShape& shape, cudaStream_t stream) {
  const std::int64_t N = shape.batch, C_out = shape.out_channels;
  const std::int64_t K = shape.in_channels * shape.kernel_height * shape.kernel_width;
  const std::int64_t P = shape.out_height * shape.out_width;
  if (N == 0 || C_out == 0 || P == 0) {
    // No output element: grad_input is zero and the parameter gradients are unchanged.
    if (grad_input != nullptr) cuda::fill(grad_input, 0.0f, N * shape.in_channels * shape.height * shape.width, stream);
    return;
  }
  const int p = as_int(P, "OH*OW"), k = as_int(K, "C_in*KH*KW"), c_out = as_int(C_out, "C_out"), n = as_int(N, "N");
  cublasHandle_t handle = handle_on(stream);
  DeviceFloats columns(cuda::im2col_size(shape));

  // grad_weight: per image, partial[n] (C_out, K) = grad_output[n] (C_out, P) @ columns[n]^T (P, K),
  // as partial[n]^T (K, C_out) = columns[n] (K, P) @ grad_output[n]^T (P, C_out) ...
  cuda::im2col(input, columns.data(), shape, stream);
  DeviceFloats partial(N * C_out * K);
  cuda::check_cublas(cublasSgemmStridedBatched(handle, CUBLAS_OP_T, CUBLAS_OP_N, k, c_out, p, &kOne, columns.data(),
                                               p, K * P, grad_output, p, C_out * P, &kZero, partial.data(), k,
                                               C_out * K, n),
                     "cublasSgemmStridedBatched");
  // ... then grad_weight (C_out*K) += partial^T (C_out*K, N) @ ones (N): the sum over images.
  DeviceFloats ones(N);
  cuda::fill(ones.data(), 1.0f, N, stream);
  cuda::check_cublas(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, as_int(C_out * K, "C_out*K"), 1, n, &kOne,
                                 partial.data(), as_int(C_out * K, "C_out*K"), ones.data(), n, &kOne, grad_weight,
                                 as_int(C_out * K, "C_out*K")),
                     "cublasSgemm");

  if (grad_input != nullptr) {
    // Per image: grad_columns[n] (K, P) = weight^T (K, C_out) @ grad_output[n] (C_out, P), as
    // grad_columns[n]^T (P, K) = grad_output[n]^T (P, C_out) @ weight (C_out, K); into the
    // columns buffer, whose input columns the queued GEMM above has already read.
    cuda::check_cublas(cublasSgemmStridedBatched(handle, CUBLAS_OP_N, CUBLAS_OP_T, p, k, c_out, &kOne, grad_output, p,
                                                 C_out * P, weight, k, 0, &kZero, columns.data(), p, K * P, n),
                       "cublasSgemmStridedBatched");
    cuda::col2im(columns.data(), grad_input, shape, stream);
  }
  if (grad_bias != nullptr) cuda::accumulate_bias_grad(grad_output, grad_bias, N, C_out, P, stream);
}

}  // namespace minidl::cublas
