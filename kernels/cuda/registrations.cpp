// The CUDA implementations (minidl's kernels and cuBLAS), one registration line each, in
// order of preference per op (kernels/registry.h), and the adapters that call each one's
// device-pointer functions with the validated tensors of a call, on minidl's stream.
// Every CUDA implementation serves f32.
#include <algorithm>
#include <memory>
#include <vector>

#include "minidl/core/cuda_api.h"
#include "minidl/kernels/cuda/batch_norm2d.h"
#include "minidl/kernels/cuda/batch_norm2d_split.h"
#include "minidl/kernels/cuda/conv2d.h"
#include "minidl/kernels/cuda/conv2d_blocked.h"
#include "minidl/kernels/cuda/cross_entropy.h"
#include "minidl/kernels/cuda/cublas_ops.h"
#include "minidl/kernels/cuda/divergence_check.h"
#include "minidl/kernels/cuda/gather_normalize.h"
#include "minidl/kernels/cuda/linear.h"
#include "minidl/kernels/cuda/linear_blocked.h"
#include "minidl/kernels/cuda/max_pool2d.h"
#include "minidl/kernels/cuda/relu.h"
#include "minidl/kernels/cuda/sgd.h"
#include "minidl/kernels/cuda/step_metrics.h"
#include "minidl/kernels/registry.h"

namespace minidl::ops {

namespace {

// The data of an optional f32 tensor: nullptr when it is undefined.
float* data_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

cudaStream_t stream() { return cuda::current_stream(); }

namespace call {

// ---- conv2d and linear: minidl's kernels and cuBLAS take the same arguments -------------

template <auto forward>
void conv2d_forward(const Conv2dForwardArgs& a) {
  forward(a.input.data<float>(), a.weight.data<float>(), data_or_null(a.bias), a.output.data<float>(), a.shape,
          stream());
}

template <auto backward>
void conv2d_backward(const Conv2dBackwardArgs& a) {
  backward(a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(), data_or_null(a.grad_input),
           a.grad_weight.data<float>(), data_or_null(a.grad_bias), a.shape, stream());
}

template <auto forward>
void linear_forward(const LinearForwardArgs& a) {
  forward(a.input.data<float>(), a.weight.data<float>(), data_or_null(a.bias), a.output.data<float>(), a.shape.batch,
          a.shape.in_features, a.shape.out_features, stream());
}

template <auto backward>
void linear_backward(const LinearBackwardArgs& a) {
  backward(a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(), data_or_null(a.grad_input),
           a.grad_weight.data<float>(), data_or_null(a.grad_bias), a.shape.batch, a.shape.in_features,
           a.shape.out_features, stream());
}

// ---- the `blocked` rung of conv2d and linear: scratch and index tables in the workspace ------

// At least count floats of the call site's scratch memory on the GPU (nullptr for none).
float* scratch(Workspace& workspace, std::int64_t count) {
  return static_cast<float*>(workspace.memory(static_cast<std::size_t>(count) * sizeof(float), Device::cuda()));
}

// A blocked convolution's index tables (kernels/cuda/conv2d_blocked.h) for its geometry,
// built on the host and copied to the GPU at the call site's first call with it.
struct Conv2dTables {
  cpu::Conv2dShape geometry;
  Tensor tables;  // i32, on the GPU
};

bool same_geometry(const cpu::Conv2dShape& a, const cpu::Conv2dShape& b) {
  return a.in_channels == b.in_channels && a.height == b.height && a.width == b.width &&
         a.out_channels == b.out_channels && a.kernel_height == b.kernel_height && a.kernel_width == b.kernel_width &&
         a.stride == b.stride && a.padding == b.padding;
}

const std::int32_t* conv2d_tables(Workspace& workspace, const cpu::Conv2dShape& shape) {
  Conv2dTables& state = workspace.state<Conv2dTables>();
  if (!state.tables.defined() || !same_geometry(state.geometry, shape)) {
    std::vector<std::int32_t> tables = cuda::conv2d_blocked_tables(shape);
    state.tables = Tensor::from_vector<std::int32_t>({static_cast<std::int64_t>(tables.size())}, tables, Device::cuda());
    state.geometry = shape;
  }
  return state.tables.data<std::int32_t>();
}

void conv2d_forward_blocked(const Conv2dForwardArgs& a) {
  cuda::conv2d_blocked_forward(a.input.data<float>(), a.weight.data<float>(), data_or_null(a.bias),
                               a.output.data<float>(), a.shape, a.activation, conv2d_tables(a.workspace, a.shape),
                               scratch(a.workspace, cuda::conv2d_blocked_forward_scratch(a.shape)), stream());
}

void conv2d_backward_blocked(const Conv2dBackwardArgs& a) {
  const std::int32_t* tables = conv2d_tables(a.workspace, a.shape);
  float* partials = scratch(a.workspace, cuda::conv2d_blocked_backward_scratch(a.shape, a.grad_input.defined()));
  cuda::conv2d_blocked_backward(a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(),
                                data_or_null(a.grad_input), a.grad_weight.data<float>(), data_or_null(a.grad_bias),
                                a.shape, tables, partials, stream());
}

void linear_forward_blocked(const LinearForwardArgs& a) {
  const LinearShape& z = a.shape;
  cuda::linear_blocked_forward(a.input.data<float>(), a.weight.data<float>(), data_or_null(a.bias),
                               a.output.data<float>(), z.batch, z.in_features, z.out_features, a.activation,
                               scratch(a.workspace, cuda::linear_blocked_forward_scratch(z.batch, z.in_features,
                                                                                         z.out_features)),
                               stream());
}

void linear_backward_blocked(const LinearBackwardArgs& a) {
  const LinearShape& z = a.shape;
  float* partials = scratch(a.workspace, cuda::linear_blocked_backward_scratch(z.batch, z.in_features, z.out_features,
                                                                              a.grad_input.defined()));
  cuda::linear_blocked_backward(a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(),
                                data_or_null(a.grad_input), a.grad_weight.data<float>(), data_or_null(a.grad_bias),
                                z.batch, z.in_features, z.out_features, partials, stream());
}

// ---- max_pool2d, relu, batch_norm2d ---------------------------------------------------------

void max_pool2d_forward(const MaxPool2dForwardArgs& a) {
  cuda::max_pool2d_forward(a.input.data<float>(), a.output.data<float>(), a.indices.data<std::int32_t>(), a.shape,
                           stream());
}

void max_pool2d_backward_gather(const MaxPool2dBackwardArgs& a) {
  cuda::max_pool2d_backward_gather(a.grad_output.data<float>(), a.indices.data<std::int32_t>(), nullptr,
                                   a.grad_input.data<float>(), a.shape, stream());
}

void max_pool2d_backward_windows(const MaxPool2dBackwardArgs& a) {
  cuda::max_pool2d_backward_windows(a.grad_output.data<float>(), a.indices.data<std::int32_t>(),
                                    a.after_relu ? a.output.data<float>() : nullptr, a.grad_input.data<float>(),
                                    a.shape, stream());
}

void relu_forward(const ReluForwardArgs& a) {
  cuda::relu_forward(a.input.data<float>(), a.output.data<float>(), a.input.numel(), stream());
}

void relu_backward(const ReluBackwardArgs& a) {
  cuda::relu_backward(a.grad_output.data<float>(), a.output.data<float>(), a.grad_input.data<float>(),
                      a.grad_output.numel(), stream());
}

void batch_norm2d_forward_train(const BatchNorm2dTrainForwardArgs& a) {
  cuda::batch_norm2d_forward_train(a.input.data<float>(), a.weight.data<float>(), a.bias.data<float>(),
                                   a.running_mean.data<float>(), a.running_var.data<float>(), a.output.data<float>(),
                                   a.save_mean.data<float>(), a.save_invstd.data<float>(), a.shape.N, a.shape.C,
                                   a.shape.HW, static_cast<float>(a.params.eps),
                                   static_cast<float>(a.params.momentum), stream());
}

void batch_norm2d_forward_eval(const BatchNorm2dEvalForwardArgs& a) {
  cuda::batch_norm2d_forward_eval(a.input.data<float>(), a.weight.data<float>(), a.bias.data<float>(),
                                  a.running_mean.data<float>(), a.running_var.data<float>(), a.output.data<float>(),
                                  a.shape.N, a.shape.C, a.shape.HW, static_cast<float>(a.params.eps), stream());
}

void batch_norm2d_backward_train(const BatchNorm2dTrainBackwardArgs& a) {
  cuda::batch_norm2d_backward_train(a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(),
                                    a.save_mean.data<float>(), a.save_invstd.data<float>(), a.grad_input.data<float>(),
                                    a.grad_weight.data<float>(), a.grad_bias.data<float>(), a.shape.N, a.shape.C,
                                    a.shape.HW, stream());
}

void batch_norm2d_backward_eval(const BatchNorm2dEvalBackwardArgs& a) {
  cuda::batch_norm2d_backward_eval(a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(),
                                   a.running_mean.data<float>(), a.running_var.data<float>(),
                                   a.grad_input.data<float>(), a.grad_weight.data<float>(), a.grad_bias.data<float>(),
                                   a.shape.N, a.shape.C, a.shape.HW, static_cast<float>(a.params.eps), stream());
}

void batch_norm2d_forward_train_split(const BatchNorm2dTrainForwardArgs& a) {
  const BatchNorm2dShape& z = a.shape;
  cuda::batch_norm2d_split_forward_train(
      a.input.data<float>(), a.weight.data<float>(), a.bias.data<float>(), a.running_mean.data<float>(),
      a.running_var.data<float>(), a.output.data<float>(), a.save_mean.data<float>(), a.save_invstd.data<float>(), z.N,
      z.C, z.HW, static_cast<float>(a.params.eps), static_cast<float>(a.params.momentum), a.activation,
      scratch(a.workspace, cuda::batch_norm2d_split_scratch(z.N, z.C, z.HW)), stream());
}

void batch_norm2d_forward_eval_split(const BatchNorm2dEvalForwardArgs& a) {
  const BatchNorm2dShape& z = a.shape;
  cuda::batch_norm2d_split_forward_eval(a.input.data<float>(), a.weight.data<float>(), a.bias.data<float>(),
                                        a.running_mean.data<float>(), a.running_var.data<float>(),
                                        a.output.data<float>(), z.N, z.C, z.HW, static_cast<float>(a.params.eps),
                                        a.activation, stream());
}

void batch_norm2d_backward_train_split(const BatchNorm2dTrainBackwardArgs& a) {
  const BatchNorm2dShape& z = a.shape;
  cuda::batch_norm2d_split_backward_train(
      a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(), a.save_mean.data<float>(),
      a.save_invstd.data<float>(), a.grad_input.data<float>(), a.grad_weight.data<float>(), a.grad_bias.data<float>(),
      z.N, z.C, z.HW, scratch(a.workspace, cuda::batch_norm2d_split_scratch(z.N, z.C, z.HW)), stream());
}

// The evaluation backward has no workspace (a rare call): its scratch is the caching allocator's, for the call.
void batch_norm2d_backward_eval_split(const BatchNorm2dEvalBackwardArgs& a) {
  const BatchNorm2dShape& z = a.shape;
  Workspace call_scratch;
  cuda::batch_norm2d_split_backward_eval(
      a.grad_output.data<float>(), a.input.data<float>(), a.weight.data<float>(), a.running_mean.data<float>(),
      a.running_var.data<float>(), a.grad_input.data<float>(), a.grad_weight.data<float>(), a.grad_bias.data<float>(),
      z.N, z.C, z.HW, static_cast<float>(a.params.eps),
      scratch(call_scratch, cuda::batch_norm2d_split_scratch(z.N, z.C, z.HW)), stream());
}

// ---- cross_entropy, step_metrics, gather_normalize -------------------------------------------

void cross_entropy(const CrossEntropyArgs& a) {
  cuda::cross_entropy_forward_backward(a.logits.data<float>(), a.labels.data<std::int32_t>(), a.loss.data<float>(),
                                       data_or_null(a.grad_logits), a.num_correct.data<std::int32_t>(),
                                       a.logits.size(0), a.logits.size(1), stream());
}

void step_metrics(const StepMetricsArgs& a) {
  cuda::accumulate_step_metrics(a.loss.data<float>(), a.num_correct.data<std::int32_t>(), a.total_loss.data<double>(),
                                a.correct.data<std::int64_t>(), stream());
}

void gather_normalize(const GatherNormalizeArgs& a) {
  cuda::gather_normalize(a.images.data<std::uint8_t>(), a.indices.data<std::int64_t>(), a.indices.numel(),
                         static_cast<int>(a.images.size(1)), a.images.size(2) * a.images.size(3),
                         a.mean.data<float>(), a.stddev.data<float>(), a.output.data<float>(), stream());
}

// ---- sgd and divergence_check: tables of every tensor, kept in the call site's workspace ----

// A device table of records, built again when the records change (a tensor moved).
template <typename Record>
struct TableState {
  std::vector<Record> records;                         // what table holds, in host memory
  std::shared_ptr<cuda::DeviceTable<Record>> table;    // shared: a workspace's state is copyable
};

template <typename Record>
const cuda::DeviceTable<Record>& table_of(TableState<Record>& state, const std::vector<Record>& records) {
  if (state.table == nullptr || state.records != records) {
    state.table = std::make_shared<cuda::DeviceTable<Record>>(records);
    state.records = records;
  }
  return *state.table;
}

// What the SGD kernels read from device memory, kept in the call site's workspace: the
// table of the parameters, and the hyperparameters, copied there (queued, the host does
// not wait) when they differ from what was copied last.
struct SgdState {
  TableState<cuda::SgdTensor> parameters;
  cuda::SgdHyperparameters copied;
  Tensor hyperparameters;  // u8, on the GPU
};

const cuda::SgdHyperparameters* sgd_hyperparameters(const SgdArgs& a) {
  const cuda::SgdHyperparameters wanted{
      static_cast<float>(a.params.lr), static_cast<float>(a.params.momentum), static_cast<float>(a.params.dampening),
      static_cast<float>(a.params.weight_decay), a.params.nesterov};
  SgdState& state = a.workspace.state<SgdState>();
  if (!state.hyperparameters.defined() || !(state.copied == wanted)) {
    if (!state.hyperparameters.defined())
      state.hyperparameters = Tensor::empty({sizeof(cuda::SgdHyperparameters)}, DType::u8, Device::cuda());
    cuda::copy_host_to_device_queued(state.hyperparameters.raw_data(), &wanted, sizeof(wanted));
    state.copied = wanted;
  }
  return static_cast<const cuda::SgdHyperparameters*>(state.hyperparameters.raw_data());
}

void sgd_prepare(const SgdArgs& a) { sgd_hyperparameters(a); }

void sgd(const SgdArgs& a) {
  const bool uses_momentum = a.params.momentum != 0.0;
  std::vector<cuda::SgdTensor> records;
  for (const SgdParameterTensors& parameter : a.parameters)
    records.push_back({parameter.param->data<float>(), parameter.grad->data<float>(),
                       uses_momentum ? parameter.momentum_buffer->data<float>() : nullptr, parameter.param->numel()});
  const cuda::SgdHyperparameters* hyperparameters = sgd_hyperparameters(a);
  const std::int64_t* skip_update = a.skip_update.defined() ? a.skip_update.data<std::int64_t>() : nullptr;
  // One parameter travels in the launch's arguments; several in a table.
  if (records.size() == 1) {
    cuda::sgd_update(records[0], hyperparameters, a.first_step, skip_update, stream());
    return;
  }
  std::int64_t max_numel = 0;
  for (const cuda::SgdTensor& record : records) max_numel = std::max(max_numel, record.numel);
  cuda::sgd_update(table_of(a.workspace.state<SgdState>().parameters, records), max_numel, hyperparameters,
                   a.first_step, skip_update, stream());
}

void divergence_check(const DivergenceCheckArgs& a) {
  std::vector<cuda::FloatSpan> spans;
  std::int64_t values = 0;
  for (const Tensor* gradient : a.gradients) {
    spans.push_back({gradient->data<float>(), gradient->numel()});
    values += gradient->numel();
  }
  std::int64_t* state = a.state.data<std::int64_t>();
  auto& gradients = a.workspace.state<TableState<cuda::FloatSpan>>();
  cuda::divergence_check(a.loss.data<float>(), table_of(gradients, spans), values, a.skip_from_first_bad_step,
                         {state, state + 1, state + 2, a.skip_update.data<std::int64_t>()}, stream());
}

}  // namespace call

}  // namespace

void register_cuda_implementations(Registries& r) {
  const DeviceType on_cuda = DeviceType::CUDA;
  // Locals, not namespace-scope vectors: the registry may be first used during another
  // file's static initialization, before those would be constructed.
  const std::vector<DType> f32_only{DType::f32};
  r.conv2d.add({"blocked", on_cuda, f32_only, kInt32Size, true, "implicit GEMM, 4x4 outputs a thread, split depth, index tables (kernels/cuda/conv2d_blocked.h)"},
               {call::conv2d_forward_blocked, call::conv2d_backward_blocked});
  r.conv2d.add({"tiled", on_cuda, f32_only, kInt32Size, false, "implicit GEMM, 16x16 shared-memory tiles, a thread per output (kernels/cuda/conv2d.h)"},
               {call::conv2d_forward<cuda::conv2d_forward>, call::conv2d_backward<cuda::conv2d_backward>});
  r.conv2d.add({"cublas", on_cuda, f32_only, kInt32Size, false, "im2col + cuBLAS SGEMM, bias by a kernel (kernels/cuda/cublas_ops.h)"},
               {call::conv2d_forward<cublas::conv2d_forward>, call::conv2d_backward<cublas::conv2d_backward>});
  r.max_pool2d.add({"windows", on_cuda, f32_only, kInt32Size, true, "backward: a thread per window where windows tile the input (kernels/cuda/max_pool2d.h)"},
                   {call::max_pool2d_forward, call::max_pool2d_backward_windows});
  r.max_pool2d.add({"gather", on_cuda, f32_only, kInt32Size, false, "backward: a thread per input element gathers from its windows (kernels/cuda/max_pool2d.h)"},
                   {call::max_pool2d_forward, call::max_pool2d_backward_gather});
  r.relu.add({"kernels", on_cuda, f32_only, kAnySize, false, "a thread per element (kernels/cuda/relu.cu)"},
             {call::relu_forward, call::relu_backward});
  r.batch_norm2d.add({"split", on_cuda, f32_only, kInt32Size, true, "each channel split across blocks, chunk statistics combined in order (kernels/cuda/batch_norm2d_split.h)"},
                     {call::batch_norm2d_forward_train_split, call::batch_norm2d_forward_eval_split,
                      call::batch_norm2d_backward_train_split, call::batch_norm2d_backward_eval_split});
  r.batch_norm2d.add({"per_channel", on_cuda, f32_only, kInt32Size, false, "a block per channel (kernels/cuda/batch_norm2d.h)"},
                     {call::batch_norm2d_forward_train, call::batch_norm2d_forward_eval,
                      call::batch_norm2d_backward_train, call::batch_norm2d_backward_eval});
  r.linear.add({"blocked", on_cuda, f32_only, kInt32Size, true, "register-blocked GEMM, split depth, coalesced loads (kernels/cuda/linear_blocked.h)"},
               {call::linear_forward_blocked, call::linear_backward_blocked});
  r.linear.add({"tiled", on_cuda, f32_only, kInt32Size, false, "16x16 shared-memory tiled GEMM, a thread per output (kernels/cuda/linear.h)"},
               {call::linear_forward<cuda::linear_forward>, call::linear_backward<cuda::linear_backward>});
  r.linear.add({"cublas", on_cuda, f32_only, kInt32Size, false, "cuBLAS SGEMM, bias by a kernel (kernels/cuda/cublas_ops.h)"},
               {call::linear_forward<cublas::linear_forward>, call::linear_backward<cublas::linear_backward>});
  r.cross_entropy.add({"kernels", on_cuda, f32_only, kAnySize, false, "one block, a warp per row (kernels/cuda/cross_entropy.cu)"},
                      {call::cross_entropy});
  r.sgd.add({"kernels", on_cuda, f32_only, kAnySize, false, "every parameter in one launch (kernels/cuda/sgd.cu)"}, {call::sgd, call::sgd_prepare});
  r.step_metrics.add({"kernels", on_cuda, f32_only, kAnySize, false, "one thread adds two values (kernels/cuda/step_metrics.cu)"},
                     {call::step_metrics});
  r.divergence_check.add({"kernels", on_cuda, f32_only, kAnySize, false, "one block reads the loss and every gradient (kernels/cuda/divergence_check.cu)"},
                         {call::divergence_check});
  r.gather_normalize.add({"kernels", on_cuda, f32_only, kAnySize, false, "a thread per output element (kernels/cuda/gather_normalize.cu)"},
                         {call::gather_normalize});
}

}  // namespace minidl::ops
