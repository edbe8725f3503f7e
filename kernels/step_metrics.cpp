#include "minidl/kernels/step_metrics.h"

#include "minidl/kernels/dispatch.h"
#if defined(MINIDL_WITH_CUDA)
#include "minidl/kernels/cuda/step_metrics.h"
#endif

namespace minidl::ops {

void accumulate_step_metrics(const Tensor& loss, const Tensor& num_correct, Tensor& total_loss, Tensor& correct) {
  const char* op = "accumulate_step_metrics";
  const Device device = loss.device();
  auto check_one_value = [&](const Tensor& tensor, DType dtype, const char* name) {
    check_device(tensor, device, op, name);
    check_dtype(tensor, dtype, op, name);
    if (tensor.numel() != 1) fail("{}: {} must have one element, got shape {}", op, name, tensor.shape().str());
  };
  check_one_value(loss, DType::f32, "loss");
  check_one_value(num_correct, DType::i32, "num_correct");
  check_one_value(total_loss, DType::f64, "total_loss");
  check_one_value(correct, DType::i64, "correct");
  if (device.is_cuda()) {
#if defined(MINIDL_WITH_CUDA)
    cuda::accumulate_step_metrics(loss.data<float>(), num_correct.data<std::int32_t>(), total_loss.data<double>(),
                                  correct.data<std::int64_t>());
    return;
#else
    no_cuda_implementation(op);
#endif
  }
  total_loss.data<double>()[0] += static_cast<double>(loss.data<float>()[0]);
  correct.data<std::int64_t>()[0] += num_correct.data<std::int32_t>()[0];
}

}  // namespace minidl::ops
