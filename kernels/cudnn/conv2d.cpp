// conv2d with cuDNN's convolution API: a plan per shape (descriptors and the chosen
// algorithms), kept for the process, and the four cuDNN calls of conv2d.h.
#include "minidl/kernels/cudnn/conv2d.h"

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "minidl/core/cuda_runtime.h"
#include "minidl/core/error.h"
#include "minidl/kernels/cudnn/cudnn_support.h"
#include "minidl/kernels/implementation.h"

namespace minidl::cudnn {

namespace {

constexpr std::size_t kMaxWorkspaceBytes = std::size_t{256} << 20;
constexpr float kOne = 1.0f, kZero = 0.0f;

// An algorithm of one direction, the workspace it needs, and every usable algorithm's
// measured time (cudnnFind*; empty in deterministic mode, which does not measure).
struct Choice {
  int algorithm = 0;
  std::size_t workspace_bytes = 0;
  std::vector<std::pair<int, float>> times_ms;  // (algorithm, time), fastest first
};

// The first usable result of a cudnnFind* call (sorted by measured time) or of a
// cudnnGet*_v7 call (sorted by cuDNN's heuristic): CUDNN_FMA_MATH, as the descriptor
// asked (plain fp32 multiply-adds: no TF32, no tensor cores, as minidl's kernels), within
// the workspace limit, and in deterministic mode one that cuDNN marks CUDNN_DETERMINISTIC.
template <typename Perf>
Choice first_usable(const Perf* results, int count, const char* direction, bool deterministic) {
  Choice choice;
  bool found = false;
  for (int i = 0; i < count; ++i) {
    const Perf& result = results[i];
    const bool usable = result.status == CUDNN_STATUS_SUCCESS && result.mathType == CUDNN_FMA_MATH &&
                        result.memory <= kMaxWorkspaceBytes;
    if (!usable) continue;
    if (!deterministic) choice.times_ms.emplace_back(static_cast<int>(result.algo), result.time);
    if (!found && (!deterministic || result.determinism == CUDNN_DETERMINISTIC)) {
      choice.algorithm = static_cast<int>(result.algo);
      choice.workspace_bytes = result.memory;
      found = true;
    }
  }
  if (!found)
    fail("cudnn conv2d: cuDNN offers no FMA-math fp32 {}{} algorithm with at most {} MiB of workspace for this shape",
         deterministic ? "deterministic " : "", direction, kMaxWorkspaceBytes >> 20);
  return choice;
}

// Descriptors of one convolution shape, and the algorithms found for it so far.
struct Plan {
  explicit Plan(const cpu::Conv2dShape& s)
      : input(s.batch, s.in_channels, s.height, s.width),
        output(s.batch, s.out_channels, s.out_height, s.out_width),
        bias(1, s.out_channels, 1, 1) {
    check_cudnn(cudnnCreateFilterDescriptor(&weight), "cudnnCreateFilterDescriptor");
    check_cudnn(cudnnSetFilter4dDescriptor(weight, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, as_int(s.out_channels, "C_out"),
                                           as_int(s.in_channels, "C_in"), as_int(s.kernel_height, "KH"),
                                           as_int(s.kernel_width, "KW")),
                "cudnnSetFilter4dDescriptor");
    check_cudnn(cudnnCreateConvolutionDescriptor(&convolution), "cudnnCreateConvolutionDescriptor");
    int padding = as_int(s.padding, "padding"), stride = as_int(s.stride, "stride");
    check_cudnn(cudnnSetConvolution2dDescriptor(convolution, padding, padding, stride, stride, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                "cudnnSetConvolution2dDescriptor");
    check_cudnn(cudnnSetConvolutionMathType(convolution, CUDNN_FMA_MATH), "cudnnSetConvolutionMathType");
  }
  ~Plan() {
    cudnnDestroyConvolutionDescriptor(convolution);
    cudnnDestroyFilterDescriptor(weight);
  }
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  static void check_cudnn(cudnnStatus_t status, const char* call, SourceLocation where = SourceLocation::current()) {
    cuda::check_cudnn(status, call, where);
  }

  TensorDescriptor input, output, bias;
  cudnnFilterDescriptor_t weight = nullptr;
  cudnnConvolutionDescriptor_t convolution = nullptr;
  std::optional<Choice> forward, backward_data, backward_filter;
};

// A shape and the deterministic mode (ops::deterministic()) it is planned for.
using Key = std::array<std::int64_t, 10>;

Key key_of(const cpu::Conv2dShape& s, bool deterministic) {
  return {s.batch, s.in_channels, s.height, s.width, s.out_channels, s.kernel_height, s.kernel_width, s.stride,
          s.padding, deterministic};
}

std::mutex g_plans_mutex;
std::map<Key, std::unique_ptr<Plan>> g_plans;  // guarded by g_plans_mutex; plans are never removed

// The plan of a shape in the current deterministic mode, with the algorithms of the
// directions asked for found: measured by cudnnFind*, or in deterministic mode ranked
// by cudnnGet*_v7, whose heuristic gives the same ranking in every process.
enum class Direction { forward, backward_data, backward_filter };

const Plan& plan_for(const cpu::Conv2dShape& shape, cudnnHandle_t handle, Direction direction) {
  const bool deterministic = ops::deterministic();
  std::lock_guard lock(g_plans_mutex);
  std::unique_ptr<Plan>& slot = g_plans[key_of(shape, deterministic)];
  if (!slot) slot = std::make_unique<Plan>(shape);
  Plan& plan = *slot;
  int count = 0;
  if (direction == Direction::forward && !plan.forward) {
    std::array<cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT> results{};
    if (deterministic)
      Plan::check_cudnn(cudnnGetConvolutionForwardAlgorithm_v7(handle, plan.input.get(), plan.weight,
                                                               plan.convolution, plan.output.get(), results.size(),
                                                               &count, results.data()),
                        "cudnnGetConvolutionForwardAlgorithm_v7");
    else
      Plan::check_cudnn(cudnnFindConvolutionForwardAlgorithm(handle, plan.input.get(), plan.weight, plan.convolution,
                                                             plan.output.get(), results.size(), &count,
                                                             results.data()),
                        "cudnnFindConvolutionForwardAlgorithm");
    plan.forward = first_usable(results.data(), count, "forward", deterministic);
  }
  if (direction == Direction::backward_data && !plan.backward_data) {
    std::array<cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT> results{};
    if (deterministic)
      Plan::check_cudnn(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, plan.weight, plan.output.get(),
                                                                    plan.convolution, plan.input.get(),
                                                                    results.size(), &count, results.data()),
                        "cudnnGetConvolutionBackwardDataAlgorithm_v7");
    else
      Plan::check_cudnn(cudnnFindConvolutionBackwardDataAlgorithm(handle, plan.weight, plan.output.get(),
                                                                  plan.convolution, plan.input.get(), results.size(),
                                                                  &count, results.data()),
                        "cudnnFindConvolutionBackwardDataAlgorithm");
    plan.backward_data = first_usable(results.data(), count, "backward data", deterministic);
  }
  if (direction == Direction::backward_filter && !plan.backward_filter) {
    std::array<cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT> results{};
    if (deterministic)
      Plan::check_cudnn(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, plan.input.get(), plan.output.get(),
                                                                      plan.convolution, plan.weight, results.size(),
                                                                      &count, results.data()),
                        "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
    else
      Plan::check_cudnn(cudnnFindConvolutionBackwardFilterAlgorithm(handle, plan.input.get(), plan.output.get(),
                                                                    plan.convolution, plan.weight, results.size(),
                                                                    &count, results.data()),
                        "cudnnFindConvolutionBackwardFilterAlgorithm");
    plan.backward_filter = first_usable(results.data(), count, "backward filter", deterministic);
  }
  return plan;
}

// cudnnFind* may leave another math type on the descriptor than the one it was set to
// (cuDNN's documentation): every call sets FMA math again before it runs.
void use_fma_math(const Plan& plan) {
  Plan::check_cudnn(cudnnSetConvolutionMathType(plan.convolution, CUDNN_FMA_MATH), "cudnnSetConvolutionMathType");
}

// Workspace from the caching allocator, given back when it goes out of scope
// (after the call that uses it is queued: reuse is stream-ordered).
class Workspace {
 public:
  explicit Workspace(std::size_t bytes) : bytes_(bytes), data_(cuda::device_malloc(bytes)) {}
  ~Workspace() { cuda::device_free(data_, bytes_); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }

 private:
  std::size_t bytes_;
  void* data_;
};

const char* forward_name(int algorithm) {
  constexpr const char* kNames[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT",
                                    "FFT",           "FFT_TILING",            "WINOGRAD", "WINOGRAD_NONFUSED"};
  return algorithm >= 0 && algorithm < 8 ? kNames[algorithm] : "?";
}
const char* backward_data_name(int algorithm) {
  constexpr const char* kNames[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  return algorithm >= 0 && algorithm < 6 ? kNames[algorithm] : "?";
}
const char* backward_filter_name(int algorithm) {
  constexpr const char* kNames[] = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};
  return algorithm >= 0 && algorithm < 7 ? kNames[algorithm] : "?";
}

// The algorithms that compute the convolution as a matrix product (implicit or through
// im2col), as opposed to Winograd, FFT or direct: what the 1.25x target compares with
// when cuDNN's fastest is one of the others.
bool forward_is_gemm(int algorithm) {
  return algorithm == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM ||
         algorithm == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM || algorithm == CUDNN_CONVOLUTION_FWD_ALGO_GEMM;
}
bool backward_data_is_gemm(int algorithm) {
  return algorithm == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || algorithm == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
}
bool backward_filter_is_gemm(int algorithm) {
  return algorithm == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 || algorithm == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 ||
         algorithm == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
}

bool has_no_output(const cpu::Conv2dShape& shape) {
  return shape.batch == 0 || shape.out_channels == 0 || shape.out_height == 0 || shape.out_width == 0;
}

}  // namespace

void conv2d_forward(const float* input, const float* weight, const float* bias, float* output,
                    const cpu::Conv2dShape& shape, cudaStream_t stream) {
  if (has_no_output(shape)) return;
  cudnnHandle_t cudnn = handle(stream);
  const Plan& plan = plan_for(shape, cudnn, Direction::forward);
  use_fma_math(plan);
  Workspace workspace(plan.forward->workspace_bytes);
  Plan::check_cudnn(cudnnConvolutionForward(cudnn, &kOne, plan.input.get(), input, plan.weight, weight,
                                            plan.convolution,
                                            static_cast<cudnnConvolutionFwdAlgo_t>(plan.forward->algorithm),
                                            workspace.data(), workspace.bytes(), &kZero, plan.output.get(), output),
                    "cudnnConvolutionForward");
  if (bias != nullptr)
    Plan::check_cudnn(cudnnAddTensor(cudnn, &kOne, plan.bias.get(), bias, &kOne, plan.output.get(), output),
                      "cudnnAddTensor");
}

void conv2d_backward(const float* grad_output, const float* input, const float* weight, float* grad_input,
                     float* grad_weight, float* grad_bias, const cpu::Conv2dShape& shape, cudaStream_t stream) {
  if (has_no_output(shape)) {
    // No output element: grad_input is zero and the parameter gradients are unchanged.
    std::size_t bytes = sizeof(float) * shape.batch * shape.in_channels * shape.height * shape.width;
    if (grad_input != nullptr && bytes > 0)
      cuda::check_cuda(cudaMemsetAsync(grad_input, 0, bytes, stream), "cudaMemsetAsync");
    return;
  }
  cudnnHandle_t cudnn = handle(stream);
  if (grad_input != nullptr) {
    const Plan& plan = plan_for(shape, cudnn, Direction::backward_data);
    use_fma_math(plan);
    Workspace workspace(plan.backward_data->workspace_bytes);
    Plan::check_cudnn(
        cudnnConvolutionBackwardData(cudnn, &kOne, plan.weight, weight, plan.output.get(), grad_output,
                                     plan.convolution,
                                     static_cast<cudnnConvolutionBwdDataAlgo_t>(plan.backward_data->algorithm),
                                     workspace.data(), workspace.bytes(), &kZero, plan.input.get(), grad_input),
        "cudnnConvolutionBackwardData");
  }
  const Plan& plan = plan_for(shape, cudnn, Direction::backward_filter);
  use_fma_math(plan);
  Workspace workspace(plan.backward_filter->workspace_bytes);
  Plan::check_cudnn(
      cudnnConvolutionBackwardFilter(cudnn, &kOne, plan.input.get(), input, plan.output.get(), grad_output,
                                     plan.convolution,
                                     static_cast<cudnnConvolutionBwdFilterAlgo_t>(plan.backward_filter->algorithm),
                                     workspace.data(), workspace.bytes(), &kOne, plan.weight, grad_weight),
      "cudnnConvolutionBackwardFilter");
  if (grad_bias != nullptr)
    Plan::check_cudnn(cudnnConvolutionBackwardBias(cudnn, &kOne, plan.output.get(), grad_output, &kOne,
                                                   plan.bias.get(), grad_bias),
                      "cudnnConvolutionBackwardBias");
}

std::string conv2d_algorithms(const cpu::Conv2dShape& shape) {
  const Key key = key_of(shape, ops::deterministic());
  std::lock_guard lock(g_plans_mutex);
  auto found = g_plans.find(key);
  const Plan* plan = found == g_plans.end() ? nullptr : found->second.get();
  // "forward WINOGRAD (0.012 ms; best GEMM-based IMPLICIT_PRECOMP_GEMM 0.020 ms)"
  auto describe = [](const char* direction, const std::optional<Choice>& choice, const char* (*to_name)(int),
                     bool (*gemm_based)(int)) -> std::string {
    if (!choice) return fmt::format("{} not chosen yet", direction);
    std::string text = fmt::format("{} {}", direction, to_name(choice->algorithm));
    if (choice->times_ms.empty()) return text;
    text += fmt::format(" ({:.4f} ms", choice->times_ms.front().second);
    if (!gemm_based(choice->times_ms.front().first))
      for (const auto& [algorithm, ms] : choice->times_ms)
        if (gemm_based(algorithm)) {
          text += fmt::format("; best GEMM-based {} {:.4f} ms", to_name(algorithm), ms);
          break;
        }
    return text + ")";
  };
  if (plan == nullptr) return "forward not chosen yet, backward data not chosen yet, backward filter not chosen yet";
  return describe("forward", plan->forward, forward_name, forward_is_gemm) + ", " +
         describe("backward data", plan->backward_data, backward_data_name, backward_data_is_gemm) + ", " +
         describe("backward filter", plan->backward_filter, backward_filter_name, backward_filter_is_gemm);
}

FindTimes conv2d_find_times(const cpu::Conv2dShape& shape) {
  const Key key = key_of(shape, ops::deterministic());
  std::lock_guard lock(g_plans_mutex);
  auto found = g_plans.find(key);
  FindTimes times;
  if (found == g_plans.end()) return times;
  const Plan& plan = *found->second;
  auto add = [&](const std::optional<Choice>& choice, bool (*gemm_based)(int)) {
    if (!choice || choice->times_ms.empty()) return;
    times.fastest_ms += choice->times_ms.front().second;
    for (const auto& [algorithm, ms] : choice->times_ms)
      if (gemm_based(algorithm)) {
        times.gemm_based_ms += ms;
        return;
      }
  };
  add(plan.forward, forward_is_gemm);
  add(plan.backward_data, backward_data_is_gemm);
  add(plan.backward_filter, backward_filter_is_gemm);
  return times;
}

}  // namespace minidl::cudnn
