// Registering the naive convolution: the solution of exercise 5, part 2
// (docs/exercises/5-naive-conv2d/README.md). The registry calls an implementation with
// the op's validated tensors (ops::Conv2dForwardArgs); the adapters pass their data
// pointers on, on minidl's stream, as kernels/cuda/registrations.cpp does.
#include "minidl/kernels/cuda/conv2d.h"
#include "minidl/kernels/registry.h"
#include "naive_conv2d.h"

namespace minidl::exercises {

namespace {

float* data_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

void forward(const ops::Conv2dForwardArgs& a) {
  cuda::naive_conv2d_forward(a.input.data<float>(), a.weight.data<float>(), data_or_null(a.bias),
                             a.output.data<float>(), a.shape, minidl::cuda::current_stream());
}

// The backward is not the exercise: the library's tiled kernels.
void backward(const ops::Conv2dBackwardArgs& a) {
  minidl::cuda::conv2d_backward(a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(),
                                data_or_null(a.grad_input), a.grad_weight.data<float>(), data_or_null(a.grad_bias),
                                a.shape, minidl::cuda::current_stream());
}

}  // namespace

// doc:naive-conv2d-registration
void register_naive_conv2d() {
  ops::registries().conv2d.add({"naive", DeviceType::CUDA, {DType::f32}, ops::kInt32Size, false,
                                "direct loops, a thread per output, no shared memory (docs/exercises/5-naive-conv2d)"},
                               {forward, backward});
}

}  // namespace minidl::exercises
