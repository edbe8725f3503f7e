// Uses the installed minidl: a tensor, an op, and the device report.
#include <cstdio>

#include <minidl/core/tensor.h>
#include <minidl/kernels/ops.h>

int main() {
  using namespace minidl;
  Tensor input = Tensor::from_vector<float>({1, 4}, {-1.0f, 2.0f, -3.0f, 4.0f});
  Tensor output = Tensor::empty(input.shape());
  ops::relu_forward(input, output);
  std::vector<float> values = output.to_vector<float>();
  bool ok = values == std::vector<float>{0.0f, 2.0f, 0.0f, 4.0f};
  std::printf("consumer: relu %s; CUDA: %s\n", ok ? "ok" : "WRONG",
              cuda_is_available() ? "available" : cuda_unavailable_reason().c_str());
  return ok ? 0 : 1;
}
