// CPU reference of batch_norm2d (contract: kernels/batch_norm2d.h).
//
// Channel c of image n is the plane of HW = H*W values starting at (n*C + c) * HW.
// Every statistic and sum is accumulated in double, also when T is float, so the
// reference stays accurate over the M = N*H*W values of a channel.
#include "minidl/kernels/cpu/batch_norm2d.h"

#include <cmath>

namespace minidl::cpu {

// Training forward. input (N, C, H, W) -> output (N, C, H, W); per channel (C):
// weight, bias, running_mean, running_var (updated), save_mean, save_invstd (written).
// Over the M = N*H*W values x of channel c:
//   mean = (1/M) sum x,   var = (1/M) sum (x - mean)^2     (biased: it normalises)
//   invstd = 1 / sqrt(var + eps)
//   y = (x - mean) * invstd * weight[c] + bias[c]
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)   (unbiased)
// The variance takes a second pass over the squared deviations, which is more
// accurate than E[x^2] - mean^2. M > 1 is the caller's check.
template <typename T>
void batch_norm2d_forward_train(const T* input, const T* weight, const T* bias, T* running_mean, T* running_var,
                                T* output, T* save_mean, T* save_invstd, std::int64_t N, std::int64_t C,
                                std::int64_t HW, ops::BatchNormParams params) {
  const std::int64_t M = N * HW;
  for (std::int64_t c = 0; c < C; ++c) {
    // doc:batch-norm-batch-statistics
    double sum = 0.0;
    for (std::int64_t n = 0; n < N; ++n) {
      const T* x = input + (n * C + c) * HW;
      for (std::int64_t i = 0; i < HW; ++i) sum += x[i];
    }
    const double mean = sum / M;
    double sum_sq_dev = 0.0;
    for (std::int64_t n = 0; n < N; ++n) {
      const T* x = input + (n * C + c) * HW;
      for (std::int64_t i = 0; i < HW; ++i) {
        const double dev = x[i] - mean;
        sum_sq_dev += dev * dev;
      }
    }
    const double var = sum_sq_dev / M;
    const double invstd = 1.0 / std::sqrt(var + params.eps);

    // doc:batch-norm-forward
    for (std::int64_t n = 0; n < N; ++n) {
      const T* x = input + (n * C + c) * HW;
      T* y = output + (n * C + c) * HW;
      for (std::int64_t i = 0; i < HW; ++i) y[i] = static_cast<T>((x[i] - mean) * invstd * weight[c] + bias[c]);
    }

    // doc:batch-norm-running-stats
    const double unbiased_var = var * M / (M - 1);
    running_mean[c] = static_cast<T>((1.0 - params.momentum) * running_mean[c] + params.momentum * mean);
    running_var[c] = static_cast<T>((1.0 - params.momentum) * running_var[c] + params.momentum * unbiased_var);
    save_mean[c] = static_cast<T>(mean);
    save_invstd[c] = static_cast<T>(invstd);
  }
}

// Evaluation forward: the running statistics stand in for the batch's.
// input (N, C, H, W) -> output (N, C, H, W); weight, bias, running_mean, running_var (C).
//   y = (x - running_mean[c]) / sqrt(running_var[c] + eps) * weight[c] + bias[c]
template <typename T>
void batch_norm2d_forward_eval(const T* input, const T* weight, const T* bias, const T* running_mean,
                               const T* running_var, T* output, std::int64_t N, std::int64_t C, std::int64_t HW,
                               ops::BatchNormParams params) {
  for (std::int64_t c = 0; c < C; ++c) {
    const double mean = running_mean[c];
    const double invstd = 1.0 / std::sqrt(running_var[c] + params.eps);
    // doc:batch-norm-eval-forward
    for (std::int64_t n = 0; n < N; ++n) {
      const T* x = input + (n * C + c) * HW;
      T* y = output + (n * C + c) * HW;
      for (std::int64_t i = 0; i < HW; ++i) y[i] = static_cast<T>((x[i] - mean) * invstd * weight[c] + bias[c]);
    }
  }
}

// Backward of the training forward. grad_output, input, grad_input (N, C, H, W);
// weight, save_mean, save_invstd, grad_weight, grad_bias (C).
// With dy = grad_output and x_hat = (x - mean) * invstd, over channel c:
//   grad_bias[c]   += sum dy
//   grad_weight[c] += sum dy * x_hat
//   grad_input      = weight[c] * invstd / M * (M * dy - sum dy - x_hat * sum(dy * x_hat))
// grad_input is overwritten; grad_weight and grad_bias are accumulated (+=).
// Why grad_input has three terms: mean and invstd are functions of every x in the
// channel, so besides the direct path (M * dy) each x also moves the output
// through the mean (- sum dy) and through the variance (- x_hat * sum(dy * x_hat)).
template <typename T>
void batch_norm2d_backward_train(const T* grad_output, const T* input, const T* weight, const T* save_mean,
                                 const T* save_invstd, T* grad_input, T* grad_weight, T* grad_bias, std::int64_t N,
                                 std::int64_t C, std::int64_t HW) {
  const std::int64_t M = N * HW;
  for (std::int64_t c = 0; c < C; ++c) {
    const double mean = save_mean[c];
    const double invstd = save_invstd[c];
    double sum_dy = 0.0;
    double sum_dy_xhat = 0.0;
    for (std::int64_t n = 0; n < N; ++n) {
      const T* x = input + (n * C + c) * HW;
      const T* dy = grad_output + (n * C + c) * HW;
      for (std::int64_t i = 0; i < HW; ++i) {
        sum_dy += dy[i];
        sum_dy_xhat += dy[i] * ((x[i] - mean) * invstd);
      }
    }
    // doc:batch-norm-grad-params
    grad_bias[c] += static_cast<T>(sum_dy);
    grad_weight[c] += static_cast<T>(sum_dy_xhat);

    // doc:batch-norm-grad-input
    const double scale = weight[c] * invstd / M;
    for (std::int64_t n = 0; n < N; ++n) {
      const T* x = input + (n * C + c) * HW;
      const T* dy = grad_output + (n * C + c) * HW;
      T* dx = grad_input + (n * C + c) * HW;
      for (std::int64_t i = 0; i < HW; ++i) {
        const double x_hat = (x[i] - mean) * invstd;
        dx[i] = static_cast<T>(scale * (M * static_cast<double>(dy[i]) - sum_dy - x_hat * sum_dy_xhat));
      }
    }
  }
}

// Backward of the evaluation forward, where mean and variance are constants, so
// the output is an affine function of each x. Shapes as in the training backward.
// With x_hat = (x - running_mean[c]) * invstd, invstd = 1 / sqrt(running_var[c] + eps):
//   grad_input      = dy * weight[c] * invstd          (overwritten)
//   grad_weight[c] += sum dy * x_hat                   (accumulated)
//   grad_bias[c]   += sum dy                           (accumulated)
template <typename T>
void batch_norm2d_backward_eval(const T* grad_output, const T* input, const T* weight, const T* running_mean,
                                const T* running_var, T* grad_input, T* grad_weight, T* grad_bias, std::int64_t N,
                                std::int64_t C, std::int64_t HW, ops::BatchNormParams params) {
  for (std::int64_t c = 0; c < C; ++c) {
    const double mean = running_mean[c];
    const double invstd = 1.0 / std::sqrt(running_var[c] + params.eps);
    double sum_dy = 0.0;
    double sum_dy_xhat = 0.0;
    for (std::int64_t n = 0; n < N; ++n) {
      const T* x = input + (n * C + c) * HW;
      const T* dy = grad_output + (n * C + c) * HW;
      T* dx = grad_input + (n * C + c) * HW;
      for (std::int64_t i = 0; i < HW; ++i) {
        sum_dy += dy[i];
        sum_dy_xhat += dy[i] * ((x[i] - mean) * invstd);
        // doc:batch-norm-eval-grad-input
        dx[i] = static_cast<T>(weight[c] * invstd * dy[i]);
      }
    }
    grad_bias[c] += static_cast<T>(sum_dy);
    grad_weight[c] += static_cast<T>(sum_dy_xhat);
  }
}

template void batch_norm2d_forward_train<float>(const float*, const float*, const float*, float*, float*, float*,
                                                float*, float*, std::int64_t, std::int64_t, std::int64_t,
                                                ops::BatchNormParams);
template void batch_norm2d_forward_train<double>(const double*, const double*, const double*, double*, double*,
                                                 double*, double*, double*, std::int64_t, std::int64_t,
                                                 std::int64_t, ops::BatchNormParams);
template void batch_norm2d_forward_eval<float>(const float*, const float*, const float*, const float*,
                                               const float*, float*, std::int64_t, std::int64_t, std::int64_t,
                                               ops::BatchNormParams);
template void batch_norm2d_forward_eval<double>(const double*, const double*, const double*, const double*,
                                                const double*, double*, std::int64_t, std::int64_t, std::int64_t,
                                                ops::BatchNormParams);
template void batch_norm2d_backward_train<float>(const float*, const float*, const float*, const float*,
                                                 const float*, float*, float*, float*, std::int64_t, std::int64_t,
                                                 std::int64_t);
template void batch_norm2d_backward_train<double>(const double*, const double*, const double*, const double*,
                                                  const double*, double*, double*, double*, std::int64_t,
                                                  std::int64_t, std::int64_t);
template void batch_norm2d_backward_eval<float>(const float*, const float*, const float*, const float*,
                                                const float*, float*, float*, float*, std::int64_t, std::int64_t,
                                                std::int64_t, ops::BatchNormParams);
template void batch_norm2d_backward_eval<double>(const double*, const double*, const double*, const double*,
                                                 const double*, double*, double*, double*, std::int64_t,
                                                 std::int64_t, std::int64_t, ops::BatchNormParams);

}  // namespace minidl::cpu
