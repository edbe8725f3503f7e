#include "minidl/kernels/cpu/batch_norm2d_vectorized.h"

#include <cmath>

#include "minidl/core/parallel.h"

namespace minidl::cpu {

namespace {

// Partial sums per plane: eight floats, one AVX register or two SSE registers.
constexpr std::int64_t kLanes = 8;

// The plane of channel c in image n.
std::int64_t plane_offset(std::int64_t n, std::int64_t c, std::int64_t C, std::int64_t HW) { return (n * C + c) * HW; }

// sum term(i) over i < count, in float: lane l adds the terms i = l (mod kLanes) of the
// whole groups, the tail is added after, then the lanes in order. term is inlined, so
// a group's kLanes terms become vector instructions.
template <typename Term>
float lane_sum(std::int64_t count, Term term) {
  float lanes[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= count; i += kLanes)
    for (std::int64_t l = 0; l < kLanes; ++l) lanes[l] += term(i + l);
  float total = 0.0f;
  for (; i < count; ++i) total += term(i);
  for (float lane : lanes) total += lane;
  return total;
}

// sum x[i] over one plane.
float plane_sum(const float* x, std::int64_t count) {
  return lane_sum(count, [x](std::int64_t i) { return x[i]; });
}

// sum (x[i] - mean)^2 over one plane.
float plane_sum_sq_dev(const float* x, std::int64_t count, float mean) {
  return lane_sum(count, [x, mean](std::int64_t i) {
    const float dev = x[i] - mean;
    return dev * dev;
  });
}

// The backward's two sums over a channel: sum dy and sum dy * (x - mean).
struct GradSums {
  double dy = 0.0;
  double dy_centered = 0.0;
};

// Both sums over one plane in one pass (one read of dy and x), in lanes as lane_sum's.
void add_plane_grad_sums(const float* dy, const float* x, std::int64_t count, float mean, GradSums& sums) {
  float dy_lanes[kLanes] = {}, dy_centered_lanes[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= count; i += kLanes)
    for (std::int64_t l = 0; l < kLanes; ++l) {
      dy_lanes[l] += dy[i + l];
      dy_centered_lanes[l] += dy[i + l] * (x[i + l] - mean);
    }
  float dy_total = 0.0f, dy_centered_total = 0.0f;
  for (; i < count; ++i) {
    dy_total += dy[i];
    dy_centered_total += dy[i] * (x[i] - mean);
  }
  for (std::int64_t l = 0; l < kLanes; ++l) {
    dy_total += dy_lanes[l];
    dy_centered_total += dy_centered_lanes[l];
  }
  sums.dy += dy_total;
  sums.dy_centered += dy_centered_total;
}

GradSums channel_grad_sums(const float* grad_output, const float* input, std::int64_t N, std::int64_t C,
                           std::int64_t HW, std::int64_t c, float mean) {
  GradSums sums;
  for (std::int64_t n = 0; n < N; ++n) {
    const std::int64_t offset = plane_offset(n, c, C, HW);
    add_plane_grad_sums(grad_output + offset, input + offset, HW, mean, sums);
  }
  return sums;
}

// out = (x - mean) * scale + shift over channel c: the normalization and the affine
// map folded into one multiply-add per value.
void normalize_channel(const float* input, float* output, std::int64_t N, std::int64_t C, std::int64_t HW,
                       std::int64_t c, float mean, float scale, float shift) {
  for (std::int64_t n = 0; n < N; ++n) {
    const float* x = input + plane_offset(n, c, C, HW);
    float* y = output + plane_offset(n, c, C, HW);
    for (std::int64_t i = 0; i < HW; ++i) y[i] = (x[i] - mean) * scale + shift;
  }
}

}  // namespace

// Over the M = N*H*W values of channel c (kernels/cpu/batch_norm2d.cpp has the derivation):
//   mean = (1/M) sum x,  var = (1/M) sum (x - mean)^2,  invstd = 1 / sqrt(var + eps)
//   y    = (x - mean) * (invstd * weight[c]) + bias[c]
//   running statistics as in the reference, with the unbiased variance var * M / (M - 1).
void batch_norm2d_forward_train_vectorized(const float* input, const float* weight, const float* bias,
                                           float* running_mean, float* running_var, float* output, float* save_mean,
                                           float* save_invstd, std::int64_t N, std::int64_t C, std::int64_t HW,
                                           ops::BatchNormParams params) {
  const std::int64_t M = N * HW;
  parallel_for(C, N * HW, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t c = begin; c < end; ++c) {
      // doc:batch-norm-batch-statistics
      double sum = 0.0;
      for (std::int64_t n = 0; n < N; ++n) sum += plane_sum(input + plane_offset(n, c, C, HW), HW);
      const float mean = static_cast<float>(sum / M);
      double sum_sq_dev = 0.0;
      for (std::int64_t n = 0; n < N; ++n) sum_sq_dev += plane_sum_sq_dev(input + plane_offset(n, c, C, HW), HW, mean);
      const double var = sum_sq_dev / M;
      const double invstd = 1.0 / std::sqrt(var + params.eps);

      // doc:batch-norm-forward
      normalize_channel(input, output, N, C, HW, c, mean, static_cast<float>(invstd * weight[c]), bias[c]);

      // doc:batch-norm-running-stats
      const double unbiased_var = var * M / (M - 1);
      running_mean[c] = static_cast<float>((1.0 - params.momentum) * running_mean[c] + params.momentum * mean);
      running_var[c] = static_cast<float>((1.0 - params.momentum) * running_var[c] + params.momentum * unbiased_var);
      save_mean[c] = mean;
      save_invstd[c] = static_cast<float>(invstd);
    }
  });
}

//   y = (x - running_mean[c]) * (weight[c] / sqrt(running_var[c] + eps)) + bias[c]
void batch_norm2d_forward_eval_vectorized(const float* input, const float* weight, const float* bias,
                                          const float* running_mean, const float* running_var, float* output,
                                          std::int64_t N, std::int64_t C, std::int64_t HW,
                                          ops::BatchNormParams params) {
  parallel_for(C, N * HW, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t c = begin; c < end; ++c) {
      const double invstd = 1.0 / std::sqrt(running_var[c] + params.eps);
      // doc:batch-norm-eval-forward
      normalize_channel(input, output, N, C, HW, c, running_mean[c], static_cast<float>(invstd * weight[c]), bias[c]);
    }
  });
}

// With x_hat = (x - mean) * invstd, the reference's
//   grad_input = weight[c] * invstd / M * (M * dy - sum dy - x_hat * sum(dy * x_hat))
// is, per channel, one multiply-add of dy and (x - mean) per value:
//   grad_input = a * dy + b * (x - mean) + d,   a = weight[c] * invstd,
//   b = -a * invstd * sum(dy * x_hat) / M,      d = -a * sum(dy) / M
// where sum(dy * x_hat) = invstd * sum dy * (x - mean).
void batch_norm2d_backward_train_vectorized(const float* grad_output, const float* input, const float* weight,
                                            const float* save_mean, const float* save_invstd, float* grad_input,
                                            float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C,
                                            std::int64_t HW) {
  const std::int64_t M = N * HW;
  parallel_for(C, N * HW, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t c = begin; c < end; ++c) {
      const float mean = save_mean[c];
      const double invstd = save_invstd[c];
      const GradSums sums = channel_grad_sums(grad_output, input, N, C, HW, c, mean);
      const double sum_dy_xhat = invstd * sums.dy_centered;
      // doc:batch-norm-grad-params
      grad_bias[c] += static_cast<float>(sums.dy);
      grad_weight[c] += static_cast<float>(sum_dy_xhat);

      // doc:batch-norm-grad-input
      const double a_double = weight[c] * invstd;
      const float a = static_cast<float>(a_double);
      const float b = static_cast<float>(-a_double * invstd * sum_dy_xhat / M);
      const float d = static_cast<float>(-a_double * sums.dy / M);
      for (std::int64_t n = 0; n < N; ++n) {
        const std::int64_t offset = plane_offset(n, c, C, HW);
        const float* dy = grad_output + offset;
        const float* x = input + offset;
        float* dx = grad_input + offset;
        for (std::int64_t i = 0; i < HW; ++i) dx[i] = a * dy[i] + b * (x[i] - mean) + d;
      }
    }
  });
}

// The running statistics are constants here: grad_input = dy * weight[c] * invstd, and
// the parameter gradients are the training backward's.
void batch_norm2d_backward_eval_vectorized(const float* grad_output, const float* input, const float* weight,
                                           const float* running_mean, const float* running_var, float* grad_input,
                                           float* grad_weight, float* grad_bias, std::int64_t N, std::int64_t C,
                                           std::int64_t HW, ops::BatchNormParams params) {
  parallel_for(C, N * HW, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t c = begin; c < end; ++c) {
      const double invstd = 1.0 / std::sqrt(running_var[c] + params.eps);
      const GradSums sums = channel_grad_sums(grad_output, input, N, C, HW, c, running_mean[c]);
      grad_bias[c] += static_cast<float>(sums.dy);
      grad_weight[c] += static_cast<float>(invstd * sums.dy_centered);

      // doc:batch-norm-eval-grad-input
      const float a = static_cast<float>(weight[c] * invstd);
      for (std::int64_t n = 0; n < N; ++n) {
        const std::int64_t offset = plane_offset(n, c, C, HW);
        const float* dy = grad_output + offset;
        float* dx = grad_input + offset;
        for (std::int64_t i = 0; i < HW; ++i) dx[i] = a * dy[i];
      }
    }
  });
}

}  // namespace minidl::cpu
