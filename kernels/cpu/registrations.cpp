// The CPU's implementations, one registration line each, in order of preference per op
// (kernels/registry.h), and the adapters that call each one's plain-pointer functions
// with the validated tensors of a call. The reference serves f32 and f64; the fast
// paths serve f32.
#include <cmath>
#include <functional>

#include "minidl/core/parallel.h"
#include "minidl/kernels/cpu/batch_norm2d.h"
#include "minidl/kernels/cpu/batch_norm2d_vectorized.h"
#include "minidl/kernels/cpu/conv2d.h"
#include "minidl/kernels/cpu/conv2d_gemm.h"
#include "minidl/kernels/cpu/cross_entropy.h"
#include "minidl/kernels/cpu/linear.h"
#include "minidl/kernels/cpu/linear_gemm.h"
#include "minidl/kernels/cpu/max_pool2d.h"
#include "minidl/kernels/cpu/max_pool2d_vectorized.h"
#include "minidl/kernels/cpu/relu.h"
#include "minidl/kernels/cpu/sgd.h"
#include "minidl/kernels/dispatch.h"
#include "minidl/kernels/registry.h"

namespace minidl::ops {

namespace {

// The data of an optional tensor: nullptr when it is undefined.
template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// ---- conv2d ------------------------------------------------------------------------

void conv2d_forward_reference(const Conv2dForwardArgs& a) {
  visit_float_dtype(a.input.dtype(), [&]<typename T>(T) {
    cpu::conv2d_forward(a.input.data<T>(), a.weight.data<T>(), data_or_null<T>(a.bias), a.output.data<T>(), a.shape);
  });
}

void conv2d_backward_reference(const Conv2dBackwardArgs& a) {
  visit_float_dtype(a.input.dtype(), [&]<typename T>(T) {
    cpu::conv2d_backward(a.grad_output.data<T>(), a.input.data<T>(), a.weight.data<T>(), data_or_null<T>(a.grad_input),
                         a.grad_weight.data<T>(), data_or_null<T>(a.grad_bias), a.shape);
  });
}

void conv2d_forward_gemm(const Conv2dForwardArgs& a) {
  cpu::conv2d_forward_gemm(a.input.data<float>(), a.weight.data<float>(), data_or_null<float>(a.bias),
                           a.output.data<float>(), a.shape, a.activation);
}

void conv2d_backward_gemm(const Conv2dBackwardArgs& a) {
  cpu::conv2d_backward_gemm(a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(),
                            data_or_null<float>(a.grad_input), a.grad_weight.data<float>(),
                            data_or_null<float>(a.grad_bias), a.shape);
}

// ---- max_pool2d: ranges of images in parallel (images pool independently) --------------

// Calls body(images, in, out) on the CPU threads for ranges of images (on the calling
// thread alone for a small input): images is shape restricted to the range, in and out
// the offsets of its first image in the input and the output.
void for_image_ranges(const cpu::MaxPool2dShape& shape,
                      const std::function<void(const cpu::MaxPool2dShape&, std::int64_t, std::int64_t)>& body) {
  parallel_for(shape.batch, shape.channels * shape.height * shape.width, [&](std::int64_t first, std::int64_t last) {
    cpu::MaxPool2dShape images = shape;
    images.batch = last - first;
    body(images, first * shape.channels * shape.height * shape.width,
         first * shape.channels * shape.out_height * shape.out_width);
  });
}

void max_pool2d_forward_reference(const MaxPool2dForwardArgs& a) {
  visit_float_dtype(a.input.dtype(), [&]<typename T>(T) {
    for_image_ranges(a.shape, [&](const cpu::MaxPool2dShape& images, std::int64_t in, std::int64_t out) {
      cpu::max_pool2d_forward(a.input.data<T>() + in, a.output.data<T>() + out, a.indices.data<std::int32_t>() + out,
                              images);
    });
  });
}

void max_pool2d_forward_vectorized(const MaxPool2dForwardArgs& a) {
  for_image_ranges(a.shape, [&](const cpu::MaxPool2dShape& images, std::int64_t in, std::int64_t out) {
    cpu::max_pool2d_forward_vectorized(a.input.data<float>() + in, a.output.data<float>() + out,
                                       a.indices.data<std::int32_t>() + out, images);
  });
}

// The reference's backward serves both CPU implementations (each image's gradient stays in that image).
void max_pool2d_backward_reference(const MaxPool2dBackwardArgs& a) {
  visit_float_dtype(a.grad_output.dtype(), [&]<typename T>(T) {
    for_image_ranges(a.shape, [&](const cpu::MaxPool2dShape& images, std::int64_t in, std::int64_t out) {
      cpu::max_pool2d_backward(a.grad_output.data<T>() + out, a.indices.data<std::int32_t>() + out,
                               a.grad_input.data<T>() + in, images);
    });
  });
}

// ---- relu: the reference on ranges of elements in parallel ------------------------------

void relu_forward_reference(const ReluForwardArgs& a) {
  visit_float_dtype(a.input.dtype(), [&]<typename T>(T) {
    parallel_for(a.input.numel(), 1, [&](std::int64_t begin, std::int64_t end) {
      cpu::relu_forward(a.input.data<T>() + begin, a.output.data<T>() + begin, end - begin);
    });
  });
}

void relu_backward_reference(const ReluBackwardArgs& a) {
  visit_float_dtype(a.grad_output.dtype(), [&]<typename T>(T) {
    parallel_for(a.grad_output.numel(), 1, [&](std::int64_t begin, std::int64_t end) {
      cpu::relu_backward(a.grad_output.data<T>() + begin, a.output.data<T>() + begin, a.grad_input.data<T>() + begin,
                         end - begin);
    });
  });
}

// ---- batch_norm2d -------------------------------------------------------------------------

void batch_norm2d_forward_train_reference(const BatchNorm2dTrainForwardArgs& a) {
  visit_float_dtype(a.input.dtype(), [&]<typename T>(T) {
    cpu::batch_norm2d_forward_train(a.input.data<T>(), a.weight.data<T>(), a.bias.data<T>(), a.running_mean.data<T>(),
                                    a.running_var.data<T>(), a.output.data<T>(), a.save_mean.data<T>(),
                                    a.save_invstd.data<T>(), a.shape.N, a.shape.C, a.shape.HW, a.params);
  });
}

void batch_norm2d_forward_eval_reference(const BatchNorm2dEvalForwardArgs& a) {
  visit_float_dtype(a.input.dtype(), [&]<typename T>(T) {
    cpu::batch_norm2d_forward_eval(a.input.data<T>(), a.weight.data<T>(), a.bias.data<T>(), a.running_mean.data<T>(),
                                   a.running_var.data<T>(), a.output.data<T>(), a.shape.N, a.shape.C, a.shape.HW,
                                   a.params);
  });
}

void batch_norm2d_backward_train_reference(const BatchNorm2dTrainBackwardArgs& a) {
  visit_float_dtype(a.input.dtype(), [&]<typename T>(T) {
    cpu::batch_norm2d_backward_train(a.grad_output.data<T>(), a.input.data<T>(), a.weight.data<T>(),
                                     a.save_mean.data<T>(), a.save_invstd.data<T>(), a.grad_input.data<T>(),
                                     a.grad_weight.data<T>(), a.grad_bias.data<T>(), a.shape.N, a.shape.C, a.shape.HW);
  });
}

void batch_norm2d_backward_eval_reference(const BatchNorm2dEvalBackwardArgs& a) {
  visit_float_dtype(a.input.dtype(), [&]<typename T>(T) {
    cpu::batch_norm2d_backward_eval(a.grad_output.data<T>(), a.input.data<T>(), a.weight.data<T>(),
                                    a.running_mean.data<T>(), a.running_var.data<T>(), a.grad_input.data<T>(),
                                    a.grad_weight.data<T>(), a.grad_bias.data<T>(), a.shape.N, a.shape.C, a.shape.HW,
                                    a.params);
  });
}

void batch_norm2d_forward_train_vectorized(const BatchNorm2dTrainForwardArgs& a) {
  cpu::batch_norm2d_forward_train_vectorized(a.input.data<float>(), a.weight.data<float>(), a.bias.data<float>(),
                                             a.running_mean.data<float>(), a.running_var.data<float>(),
                                             a.output.data<float>(), a.save_mean.data<float>(),
                                             a.save_invstd.data<float>(), a.shape.N, a.shape.C, a.shape.HW, a.params);
}

void batch_norm2d_forward_eval_vectorized(const BatchNorm2dEvalForwardArgs& a) {
  cpu::batch_norm2d_forward_eval_vectorized(a.input.data<float>(), a.weight.data<float>(), a.bias.data<float>(),
                                            a.running_mean.data<float>(), a.running_var.data<float>(),
                                            a.output.data<float>(), a.shape.N, a.shape.C, a.shape.HW, a.params);
}

void batch_norm2d_backward_train_vectorized(const BatchNorm2dTrainBackwardArgs& a) {
  cpu::batch_norm2d_backward_train_vectorized(a.grad_output.data<float>(), a.input.data<float>(),
                                              a.weight.data<float>(), a.save_mean.data<float>(),
                                              a.save_invstd.data<float>(), a.grad_input.data<float>(),
                                              a.grad_weight.data<float>(), a.grad_bias.data<float>(), a.shape.N,
                                              a.shape.C, a.shape.HW);
}

void batch_norm2d_backward_eval_vectorized(const BatchNorm2dEvalBackwardArgs& a) {
  cpu::batch_norm2d_backward_eval_vectorized(a.grad_output.data<float>(), a.input.data<float>(),
                                             a.weight.data<float>(), a.running_mean.data<float>(),
                                             a.running_var.data<float>(), a.grad_input.data<float>(),
                                             a.grad_weight.data<float>(), a.grad_bias.data<float>(), a.shape.N,
                                             a.shape.C, a.shape.HW, a.params);
}

// ---- linear ----------------------------------------------------------------------------

void linear_forward_reference(const LinearForwardArgs& a) {
  visit_float_dtype(a.input.dtype(), [&]<typename T>(T) {
    cpu::linear_forward(a.input.data<T>(), a.weight.data<T>(), data_or_null<T>(a.bias), a.output.data<T>(),
                        a.shape.batch, a.shape.in_features, a.shape.out_features);
  });
}

void linear_backward_reference(const LinearBackwardArgs& a) {
  visit_float_dtype(a.input.dtype(), [&]<typename T>(T) {
    cpu::linear_backward(a.grad_output.data<T>(), a.input.data<T>(), a.weight.data<T>(), data_or_null<T>(a.grad_input),
                         a.grad_weight.data<T>(), data_or_null<T>(a.grad_bias), a.shape.batch, a.shape.in_features,
                         a.shape.out_features);
  });
}

void linear_forward_gemm(const LinearForwardArgs& a) {
  cpu::linear_forward_gemm(a.input.data<float>(), a.weight.data<float>(), data_or_null<float>(a.bias),
                           a.output.data<float>(), a.shape.batch, a.shape.in_features, a.shape.out_features);
}

void linear_backward_gemm(const LinearBackwardArgs& a) {
  cpu::linear_backward_gemm(a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(),
                            data_or_null<float>(a.grad_input), a.grad_weight.data<float>(),
                            data_or_null<float>(a.grad_bias), a.shape.batch, a.shape.in_features,
                            a.shape.out_features);
}

// ---- cross_entropy --------------------------------------------------------------------

void cross_entropy_reference(const CrossEntropyArgs& a) {
  const std::int64_t N = a.logits.size(0), K = a.logits.size(1);
  // Labels index the logits, so they are checked before the reference reads with them.
  const std::int32_t* labels = a.labels.data<std::int32_t>();
  for (std::int64_t n = 0; n < N; ++n)
    if (labels[n] < 0 || labels[n] >= K)
      fail("cross_entropy: labels[{}] is {}, expected a class in [0, {})", n, labels[n], K);
  visit_float_dtype(a.logits.dtype(), [&]<typename T>(T) {
    cpu::cross_entropy_forward_backward(a.logits.data<T>(), labels, a.loss.data<T>(), data_or_null<T>(a.grad_logits),
                                        a.num_correct.data<std::int32_t>(), N, K);
  });
}

// ---- sgd --------------------------------------------------------------------------------

void sgd_prepare_nothing(const SgdArgs&) {}  // the update reads its arguments on the host

void sgd_reference(const SgdArgs& a) {
  const bool uses_momentum = a.params.momentum != 0.0;
  if (a.skip_update.defined() && a.skip_update.data<std::int64_t>()[0] != 0) {
    if (a.first_step && uses_momentum)
      for (const SgdParameterTensors& parameter : a.parameters) parameter.momentum_buffer->zero_();
    return;
  }
  for (const SgdParameterTensors& parameter : a.parameters) {
    visit_float_dtype(parameter.param->dtype(), [&]<typename T>(T) {
      cpu::sgd_update(parameter.param->data<T>(), parameter.grad->data<T>(),
                      uses_momentum ? parameter.momentum_buffer->data<T>() : nullptr, parameter.param->numel(),
                      a.params, a.first_step);
    });
  }
}

// ---- step_metrics, divergence_check, gather_normalize ----------------------------------

void step_metrics_reference(const StepMetricsArgs& a) {
  a.total_loss.data<double>()[0] += static_cast<double>(a.loss.data<float>()[0]);
  a.correct.data<std::int64_t>()[0] += a.num_correct.data<std::int32_t>()[0];
}

// The kernel's rule (kernels/divergence_check.h), on the host.
void divergence_check_reference(const DivergenceCheckArgs& a) {
  auto any_not_finite = [](const Tensor& tensor) {
    bool found = false;
    visit_float_dtype(tensor.dtype(), [&]<typename T>(T) {
      const T* values = tensor.data<T>();
      for (std::int64_t i = 0; i < tensor.numel() && !found; ++i) found = !std::isfinite(values[i]);
    });
    return found;
  };
  bool bad = any_not_finite(a.loss);
  for (const Tensor* gradient : a.gradients)
    if (!bad) bad = any_not_finite(*gradient);
  std::int64_t* state = a.state.data<std::int64_t>();  // first bad step, bad steps, step
  if (bad) {
    state[1] += 1;
    if (state[0] == -1) state[0] = state[2];
  }
  state[2] += 1;
  a.skip_update.data<std::int64_t>()[0] = a.skip_from_first_bad_step ? state[0] != -1 : bad;
}

void gather_normalize_reference(const GatherNormalizeArgs& a) {
  const std::int64_t N = a.images.size(0), C = a.images.size(1), pixels = a.images.size(2) * a.images.size(3);
  const std::int64_t* indices = a.indices.data<std::int64_t>();
  const std::uint8_t* images = a.images.data<std::uint8_t>();
  const float* mean = a.mean.data<float>();
  const float* stddev = a.stddev.data<float>();
  float* output = a.output.data<float>();
  for (std::int64_t b = 0; b < a.indices.numel(); ++b) {
    if (indices[b] < 0 || indices[b] >= N) fail("gather_normalize: indices[{}] is {}, outside [0, {})", b, indices[b], N);
    const std::uint8_t* image = images + indices[b] * C * pixels;
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t p = 0; p < pixels; ++p)
        // the formula of data/transforms.h's normalize_image, per indexed image
        output[(b * C + c) * pixels + p] = (static_cast<float>(image[c * pixels + p]) / 255.0f - mean[c]) / stddev[c];
  }
}

}  // namespace

void register_cpu_implementations(Registries& r) {
  const DeviceType on_cpu = DeviceType::CPU;
  // Locals, not namespace-scope vectors: the registry may be first used during another
  // file's static initialization, before those would be constructed.
  const std::vector<DType> f32_only{DType::f32};
  const std::vector<DType> f32_or_f64{DType::f32, DType::f64};
  r.conv2d.add({"gemm", on_cpu, f32_only, kAnySize, true, "im2col + cache-blocked AVX2 GEMM on all threads, bias and ReLU in its epilogue (kernels/cpu/conv2d_gemm.h)"},
               {conv2d_forward_gemm, conv2d_backward_gemm});
  r.conv2d.add({"reference", on_cpu, f32_or_f64, kAnySize, false, "direct convolution in plain loops (kernels/cpu/conv2d.h)"},
               {conv2d_forward_reference, conv2d_backward_reference});
  r.max_pool2d.add({"vectorized", on_cpu, f32_only, kAnySize, false, "forward: 2x2 windows by vector compare and select; backward: the reference's (kernels/cpu/max_pool2d_vectorized.h)"},
                   {max_pool2d_forward_vectorized, max_pool2d_backward_reference});
  r.max_pool2d.add({"reference", on_cpu, f32_or_f64, kAnySize, false, "plain loops over the windows (kernels/cpu/max_pool2d.h)"},
                   {max_pool2d_forward_reference, max_pool2d_backward_reference});
  r.relu.add({"reference", on_cpu, f32_or_f64, kAnySize, false, "one loop, ranges on all threads (kernels/cpu/relu.h)"},
             {relu_forward_reference, relu_backward_reference});
  r.batch_norm2d.add({"vectorized", on_cpu, f32_only, kAnySize, false, "planes summed in eight float lanes, channels on all threads (kernels/cpu/batch_norm2d_vectorized.h)"},
                     {batch_norm2d_forward_train_vectorized, batch_norm2d_forward_eval_vectorized,
                      batch_norm2d_backward_train_vectorized, batch_norm2d_backward_eval_vectorized});
  r.batch_norm2d.add({"reference", on_cpu, f32_or_f64, kAnySize, false, "plain loops, sums in double (kernels/cpu/batch_norm2d.h)"},
                     {batch_norm2d_forward_train_reference, batch_norm2d_forward_eval_reference,
                      batch_norm2d_backward_train_reference, batch_norm2d_backward_eval_reference});
  r.linear.add({"gemm", on_cpu, f32_only, kAnySize, false, "cache-blocked AVX2 GEMM on all threads (kernels/cpu/linear_gemm.h)"},
               {linear_forward_gemm, linear_backward_gemm});
  r.linear.add({"reference", on_cpu, f32_or_f64, kAnySize, false, "plain loops (kernels/cpu/linear.h)"},
               {linear_forward_reference, linear_backward_reference});
  r.cross_entropy.add({"reference", on_cpu, f32_or_f64, kAnySize, false, "one row at a time, max-subtracted logsumexp (kernels/cpu/cross_entropy.h)"},
                      {cross_entropy_reference});
  r.sgd.add({"reference", on_cpu, f32_or_f64, kAnySize, false, "one loop per parameter (kernels/cpu/sgd.h)"}, {sgd_reference, sgd_prepare_nothing});
  r.step_metrics.add({"reference", on_cpu, f32_only, kAnySize, false, "two additions on the host"}, {step_metrics_reference});
  r.divergence_check.add({"reference", on_cpu, f32_or_f64, kAnySize, false, "a loop over the loss and every gradient"},
                         {divergence_check_reference});
  r.gather_normalize.add({"reference", on_cpu, f32_only, kAnySize, false, "a loop per image, indices checked"},
                         {gather_normalize_reference});
}

}  // namespace minidl::ops
