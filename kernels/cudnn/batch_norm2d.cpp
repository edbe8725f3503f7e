// batch_norm2d with cuDNN's batch-normalization API. The data is described as
// (N, C, HW, 1), which is the same memory as (N, C, H, W) and the same per-channel
// statistics; the per-channel arrays as (1, C, 1, 1), derived by cuDNN.
#include "minidl/kernels/cudnn/batch_norm2d.h"

#include "minidl/core/error.h"
#include "minidl/kernels/cudnn/cudnn_support.h"

namespace minidl::cudnn {

namespace {

constexpr float kOne = 1.0f, kZero = 0.0f;
constexpr cudnnBatchNormMode_t kMode = CUDNN_BATCHNORM_SPATIAL;
// cuDNN's backward takes epsilon but, given the saved mean and inverse standard
// deviation, does not recompute them from it; this value (PyTorch's default) only
// has to be valid (at least CUDNN_BN_MIN_EPSILON).
constexpr double kBackwardEpsilon = 1e-5;

// The data's descriptor and the per-channel arrays' descriptor derived from it.
struct Descriptors {
  Descriptors(std::int64_t N, std::int64_t C, std::int64_t HW) : data(N, C, HW, 1) {
    cuda::check_cudnn(cudnnDeriveBNTensorDescriptor(per_channel.get(), data.get(), kMode),
                      "cudnnDeriveBNTensorDescriptor");
  }
  TensorDescriptor data;
  TensorDescriptor per_channel;
};

double checked_epsilon(double eps) {
  if (eps < CUDNN_BN_MIN_EPSILON) fail("cudnn batch_norm2d: eps = {} is below cuDNN's minimum {}", eps, CUDNN_BN_MIN_EPSILON);
  return eps;
}

}  // namespace

void batch_norm2d_forward_train(const float* input, const float* weight, const float* bias, float* running_mean,
                                float* running_var, float* output, float* save_mean, float* save_invstd,
                                std::int64_t N, std::int64_t C, std::int64_t HW, ops::BatchNormParams params,
                                cudaStream_t stream) {
  if (N * C * HW == 0) return;
  Descriptors descriptors(N, C, HW);
  cuda::check_cudnn(cudnnBatchNormalizationForwardTraining(
                        handle(stream), kMode, &kOne, &kZero, descriptors.data.get(), input, descriptors.data.get(),
                        output, descriptors.per_channel.get(), weight, bias, params.momentum, running_mean,
                        running_var, checked_epsilon(params.eps), save_mean, save_invstd),
                    "cudnnBatchNormalizationForwardTraining");
}

void batch_norm2d_forward_eval(const float* input, const float* weight, const float* bias, const float* running_mean,
                               const float* running_var, float* output, std::int64_t N, std::int64_t C,
                               std::int64_t HW, ops::BatchNormParams params, cudaStream_t stream) {
  if (N * C * HW == 0) return;
  Descriptors descriptors(N, C, HW);
  cuda::check_cudnn(cudnnBatchNormalizationForwardInference(
                        handle(stream), kMode, &kOne, &kZero, descriptors.data.get(), input, descriptors.data.get(),
                        output, descriptors.per_channel.get(), weight, bias, running_mean, running_var,
                        checked_epsilon(params.eps)),
                    "cudnnBatchNormalizationForwardInference");
}

void batch_norm2d_backward_train(const float* grad_output, const float* input, const float* weight,
                                 const float* save_mean, const float* save_invstd, float* grad_input,
                                 float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C,
                                 std::int64_t HW, cudaStream_t stream) {
  if (N * C * HW == 0) return;
  Descriptors descriptors(N, C, HW);
  // grad_input = 1 * result + 0 * grad_input; grad_weight, grad_bias = 1 * result + 1 * themselves.
  cuda::check_cudnn(cudnnBatchNormalizationBackward(handle(stream), kMode, &kOne, &kZero, &kOne, &kOne,
                                                    descriptors.data.get(), input, descriptors.data.get(),
                                                    grad_output, descriptors.data.get(), grad_input,
                                                    descriptors.per_channel.get(), weight, grad_weight, grad_bias,
                                                    kBackwardEpsilon, save_mean, save_invstd),
                    "cudnnBatchNormalizationBackward");
}

}  // namespace minidl::cudnn
