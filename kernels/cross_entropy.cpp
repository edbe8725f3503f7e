// cross_entropy at the Tensor level: validation, then the CPU reference or CUDA.
#include "minidl/kernels/cross_entropy.h"

#include "minidl/kernels/cpu/cross_entropy.h"
#include "minidl/kernels/dispatch.h"
#if defined(MINIDL_WITH_CUDA)
#include "minidl/kernels/cuda/cross_entropy.h"
#endif

namespace minidl::ops {

void cross_entropy_forward_backward(const Tensor& logits, const Tensor& labels, Tensor& loss,
                                    Tensor& grad_logits, Tensor& num_correct) {
  const char* op = "cross_entropy";
  Device device = common_float_device(op, {{"logits", &logits}, {"loss", &loss}, {"grad_logits", &grad_logits}});
  check_rank(logits, 2, op, "logits");
  const std::int64_t N = logits.size(0), K = logits.size(1);
  if (N == 0) fail("{}: the batch is empty, logits have shape {}", op, logits.shape().str());
  check_shape(labels, Shape{N}, op, "labels");
  check_dtype(labels, DType::i32, op, "labels");
  check_device(labels, device, op, "labels");
  check_shape(loss, Shape{1}, op, "loss");
  if (grad_logits.defined()) check_shape(grad_logits, logits.shape(), op, "grad_logits");
  check_shape(num_correct, Shape{1}, op, "num_correct");
  check_dtype(num_correct, DType::i32, op, "num_correct");
  check_device(num_correct, device, op, "num_correct");

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    // Loss and count stay in device memory; the labels are not checked here, which
    // would need a host synchronisation (a label outside [0, K) makes the loss NaN).
    check_dtype(logits, DType::f32, "cross_entropy on cuda", "logits");
    cuda::cross_entropy_forward_backward(logits.data<float>(), labels.data<std::int32_t>(), loss.data<float>(),
                                         grad_logits.defined() ? grad_logits.data<float>() : nullptr,
                                         num_correct.data<std::int32_t>(), N, K);
    return;
#else
    no_cuda_implementation(op);
#endif
  }
  // Labels index the logits, so they are checked before the reference reads with them.
  const std::int32_t* label_data = labels.data<std::int32_t>();
  for (std::int64_t n = 0; n < N; ++n)
    if (label_data[n] < 0 || label_data[n] >= K)
      fail("{}: labels[{}] is {}, expected a class in [0, {})", op, n, label_data[n], K);
  // The CPU reference, run in the tensors' dtype T.
  auto run_cpu = [&]<typename T>(T) {
    cpu::cross_entropy_forward_backward(logits.data<T>(), label_data, loss.data<T>(),
                                        grad_logits.defined() ? grad_logits.data<T>() : nullptr,
                                        num_correct.data<std::int32_t>(), N, K);
  };
  visit_float_dtype(logits.dtype(), run_cpu);
}

}  // namespace minidl::ops
