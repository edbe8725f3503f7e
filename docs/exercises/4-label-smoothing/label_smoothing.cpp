// The label-smoothing cross-entropy op: validation and dispatch, as
// kernels/cross_entropy.cpp. Given: exercise 4 is label_smoothing_reference.cpp and
// label_smoothing_kernels.cu.
#include "label_smoothing.h"

#include "minidl/kernels/dispatch.h"
#if defined(MINIDL_WITH_CUDA)
#include "label_smoothing_cuda.h"
#endif

namespace minidl::exercises {

void cross_entropy_label_smoothing(const Tensor& logits, const Tensor& labels, double label_smoothing, Tensor& loss,
                                   Tensor& grad_logits) {
  Device device = ops::common_float_device(
      "cross_entropy", {{"logits", &logits}, {"loss", &loss}, {"grad_logits", &grad_logits}});
  check_rank(logits, 2, "cross_entropy", "logits");
  const std::int64_t N = logits.size(0), K = logits.size(1);
  check_dtype(labels, DType::i32, "cross_entropy", "labels");
  check_shape(labels, Shape{N}, "cross_entropy", "labels");
  check_device(labels, device, "cross_entropy", "labels");
  check_shape(loss, Shape{1}, "cross_entropy", "loss");
  check_shape(grad_logits, logits.shape(), "cross_entropy", "grad_logits");
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    fail("cross_entropy: label_smoothing must be in [0, 1], got {}", label_smoothing);

  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    check_dtype(logits, DType::f32, "cross_entropy on cuda", "logits");
    cuda::cross_entropy_label_smoothing(logits.data<float>(), labels.data<std::int32_t>(), loss.data<float>(),
                                        grad_logits.data<float>(), static_cast<int>(N), static_cast<int>(K),
                                        static_cast<float>(label_smoothing));
    return;
#else
    ops::no_cuda_implementation("cross_entropy");
#endif
  }
  ops::visit_float_dtype(logits.dtype(), [&]<typename T>(T) {
    cpu::cross_entropy_label_smoothing(logits.data<T>(), labels.data<std::int32_t>(), loss.data<T>(),
                                       grad_logits.data<T>(), N, K, static_cast<T>(label_smoothing));
  });
}

}  // namespace minidl::exercises
