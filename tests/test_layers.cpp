// Specification of the layer graph: modules, Sequential, the study's networks.
#include <tuple>

#include "minidl/kernels/ops.h"
#include "minidl/layers/activation.h"
#include "minidl/layers/batch_norm2d.h"
#include "minidl/layers/conv2d.h"
#include "minidl/layers/cross_entropy_loss.h"
#include "minidl/layers/linear.h"
#include "minidl/layers/networks.h"
#include "gradcheck.h"
#include "test_support.h"

using namespace minidl;
using namespace minidl::nn;
using testing::random_tensor;
using testing::require_close;

namespace {

std::vector<std::string> keys_of(const std::map<std::string, Tensor>& state) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : state) keys.push_back(key);
  return keys;
}

}  // namespace

TEST_CASE("the study network has PyTorch's parameter count and state_dict names") {
  Generator generator(1);
  auto plain = make_study_net(false, generator);
  REQUIRE(plain->parameter_count() == 52874);
  REQUIRE(keys_of(plain->state_dict()) ==
          std::vector<std::string>{"conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "conv3.bias",
                                   "conv3.weight", "fc1.bias", "fc1.weight", "out.bias", "out.weight"});

  auto with_bn = make_study_net(true, generator);
  REQUIRE(with_bn->parameter_count() == 53066);
  auto state = with_bn->state_dict();
  REQUIRE(state.size() == 10 + 3 * 5);
  REQUIRE(state.at("bn2.running_var").shape() == Shape{32});
  REQUIRE(state.at("bn3.num_batches_tracked").dtype() == DType::i64);
  REQUIRE(state.at("bn3.num_batches_tracked").dim() == 0);
}

TEST_CASE("the study network prints like PyTorch with a parameter table") {
  Generator generator(1);
  auto net = make_study_net(true, generator);
  std::string summary = net->summary();
  REQUIRE_THAT(summary, Catch::Matchers::StartsWith(
                            "Sequential(\n"
                            "  (conv1): Conv2d(3, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
                            "  (bn1): BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
                            "  (relu1): ReLU()\n"
                            "  (pool1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"));
  REQUIRE_THAT(summary, Catch::Matchers::Contains("  (flatten): Flatten(start_dim=1, end_dim=-1)\n"
                                                  "  (fc1): Linear(in_features=512, out_features=64, bias=True)\n"));
  REQUIRE_THAT(summary, Catch::Matchers::Contains("conv2         9,248"));
  REQUIRE_THAT(summary, Catch::Matchers::EndsWith("total        53,066"));
}

TEST_CASE("default initialisation is uniform within one over the square root of fan_in") {
  Generator generator(3);
  Conv2d conv({32, 32, 3, 1, 1}, generator);
  double bound = 1.0 / std::sqrt(32.0 * 9.0);
  double largest = 0.0;
  for (float w : conv.weight.value.to_vector<float>()) largest = std::max(largest, std::abs(static_cast<double>(w)));
  REQUIRE(largest <= bound);
  REQUIRE(largest > 0.99 * bound);  // 9,216 draws come close to the bound
  BatchNorm2d bn(4);
  REQUIRE(bn.weight.value.to_vector<float>() == std::vector<float>(4, 1.0f));
  REQUIRE(bn.running_var.value.to_vector<float>() == std::vector<float>(4, 1.0f));
  REQUIRE(bn.running_mean.value.to_vector<float>() == std::vector<float>(4, 0.0f));
}

TEST_CASE("a Sequential forward and backward equal the ops called by hand") {
  Generator generator(11);
  Sequential net;
  auto conv = std::make_shared<Conv2d>(Conv2dOptions{2, 3, 3, 1, 1}, generator);
  auto linear = std::make_shared<Linear>(3 * 2 * 2, 4, generator);
  net.add("conv", conv).add("relu", std::make_shared<ReLU>()).add("pool", std::make_shared<MaxPool2d>(2));
  net.add("flatten", std::make_shared<Flatten>()).add("fc", linear);

  Tensor x = random_tensor({2, 2, 4, 4}, generator, DType::f32);
  Tensor y = net.forward(x).clone();
  Tensor grad_y = random_tensor(y.shape(), generator, DType::f32);
  Tensor grad_x = net.backward(grad_y).clone();

  // The same computation op by op.
  Tensor c = Tensor::empty({2, 3, 4, 4}), r = Tensor::empty({2, 3, 4, 4});
  Tensor p = Tensor::empty({2, 3, 2, 2}), idx = Tensor::empty({2, 3, 2, 2}, DType::i32);
  Tensor out = Tensor::empty({2, 4});
  ops::conv2d_forward(x, conv->weight.value, conv->bias.value, c, {1, 1});
  ops::relu_forward(c, r);
  ops::max_pool2d_forward(r, p, idx, {2, 2});
  ops::linear_forward(p.reshape({2, 12}), linear->weight.value, linear->bias.value, out);
  require_close(y, out, 0, 0, "forward");

  Tensor grad_p = Tensor::empty({2, 12}), grad_w = Tensor::zeros({4, 12}), grad_b = Tensor::zeros({4});
  Tensor grad_r = Tensor::empty(r.shape()), grad_c = Tensor::empty(c.shape()), expected = Tensor::empty(x.shape());
  Tensor grad_cw = Tensor::zeros(conv->weight.value.shape()), grad_cb = Tensor::zeros({3});
  ops::linear_backward(grad_y, p.reshape({2, 12}), linear->weight.value, grad_p, grad_w, grad_b);
  ops::max_pool2d_backward(grad_p.reshape(p.shape()), idx, grad_r, {2, 2});
  ops::relu_backward(grad_r, r, grad_c);
  ops::conv2d_backward(grad_c, x, conv->weight.value, expected, grad_cw, grad_cb, {1, 1});
  require_close(grad_x, expected, 0, 0, "grad input");
  require_close(linear->weight.grad, grad_w, 0, 0, "fc grad weight");
  require_close(conv->weight.grad, grad_cw, 0, 0, "conv grad weight");
  require_close(conv->bias.grad, grad_cb, 0, 0, "conv grad bias");
}

TEST_CASE("a Conv2d without input_grad computes the same parameter gradients and no input gradient") {
  auto gradients = [](bool input_grad) {
    Generator generator(12);
    Conv2d conv(Conv2dOptions{.in_channels = 3, .out_channels = 4, .kernel_size = 3, .padding = 1,
                              .input_grad = input_grad},
                generator);
    Tensor x = random_tensor({2, 3, 5, 5}, generator, DType::f32);
    Tensor y = conv.forward(x);
    Tensor grad_x = conv.backward(random_tensor(y.shape(), generator, DType::f32));
    return std::tuple{grad_x, conv.weight.grad.clone(), conv.bias.grad.clone()};
  };
  auto [grad_x, grad_weight, grad_bias] = gradients(true);
  auto [no_grad_x, no_input_grad_weight, no_input_grad_bias] = gradients(false);
  REQUIRE(grad_x.shape() == Shape{2, 3, 5, 5});
  REQUIRE_FALSE(no_grad_x.defined());
  require_close(no_input_grad_weight, grad_weight, 0, 0, "grad weight");
  require_close(no_input_grad_bias, grad_bias, 0, 0, "grad bias");
}

TEST_CASE("zero_grad clears the gradients that backward accumulates") {
  Generator generator(5);
  auto net = make_study_net(false, generator);
  Tensor x = random_tensor({2, 3, 32, 32}, generator, DType::f32);
  Tensor y = net->forward(x);
  net->backward(Tensor::full(y.shape(), 1.0));
  Tensor first = net->child("fc1").parameters()[0]->grad.clone();
  net->forward(x);
  net->backward(Tensor::full(y.shape(), 1.0));
  Tensor twice = first.clone();
  for (std::int64_t i = 0; i < twice.numel(); ++i) twice.data<float>()[i] *= 2.0f;
  require_close(net->child("fc1").parameters()[0]->grad, twice, 1e-6, 1e-7, "accumulated grad");
  net->zero_grad();
  for (Parameter* parameter : net->parameters())
    for (float g : parameter->grad.to_vector<float>()) REQUIRE(g == 0.0f);
}

TEST_CASE("the network accepts any batch size including a last partial batch") {
  Generator generator(2);
  auto net = make_study_net(true, generator);
  for (int batch : {10, 3, 10, 1}) {
    if (batch == 1) net->eval();  // batch norm needs more than one value per channel to train
    Tensor y = net->forward(random_tensor({batch, 3, 32, 32}, generator, DType::f32));
    REQUIRE(y.shape() == Shape{batch, 10});
    REQUIRE_FALSE(net->backward(Tensor::full(y.shape(), 0.1)).defined());  // no gradient for the images
  }
}

TEST_CASE("batch norm in training mode updates its running statistics also without gradients") {
  Generator generator(4);
  BatchNorm2d bn(3);
  Tensor x = random_tensor({4, 3, 2, 2}, generator, DType::f32, 0.0, 2.0);
  {
    NoGradGuard no_grad;
    bn.forward(x);
  }
  REQUIRE(bn.num_batches_tracked.value.item<std::int64_t>() == 1);
  for (float mean : bn.running_mean.value.to_vector<float>()) REQUIRE(mean == Approx(0.1).margin(0.05));
  REQUIRE_THROWS_MINIDL(bn.backward(Tensor::zeros(x.shape())), "call forward (outside a NoGradGuard) first");

  Tensor before = bn.running_mean.value.clone();
  bn.eval();
  bn.forward(x);
  require_close(bn.running_mean.value, before, 0, 0, "running mean in eval mode");
  REQUIRE(bn.num_batches_tracked.value.item<std::int64_t>() == 1);
}

TEST_CASE("train and eval reach every child of a Sequential") {
  Generator generator(1);
  auto net = make_study_net(true, generator);
  net->eval();
  REQUIRE_FALSE(net->child("bn2").is_training());
  net->train();
  REQUIRE(net->child("bn2").is_training());
}

TEST_CASE("under NoGradGuard a forward keeps nothing for backward") {
  Generator generator(1);
  auto net = make_study_net(false, generator);
  Tensor x = random_tensor({2, 3, 32, 32}, generator, DType::f32);
  {
    NoGradGuard no_grad;
    REQUIRE_FALSE(grad_enabled());
    net->forward(x);
  }
  REQUIRE(grad_enabled());
  REQUIRE_THROWS_MINIDL(net->backward(Tensor::zeros({2, 10})), "call forward (outside a NoGradGuard) first");
}

TEST_CASE("load_state_dict copies values and refuses a bad state without changing anything") {
  Generator generator(1);
  auto source = make_study_net(true, generator);
  auto target = make_study_net(true, generator);
  auto state = source->state_dict();

  auto missing = state;
  missing.erase("bn1.running_mean");
  REQUIRE_THROWS_MINIDL(target->load_state_dict(missing), "missing key \"bn1.running_mean\"");
  auto unexpected = state;
  unexpected["conv4.weight"] = Tensor::zeros({1});
  REQUIRE_THROWS_MINIDL(target->load_state_dict(unexpected), "unexpected key \"conv4.weight\"");
  auto wrong_shape = state;
  wrong_shape["fc1.weight"] = Tensor::zeros({64, 500});
  REQUIRE_THROWS_MINIDL(target->load_state_dict(wrong_shape), "\"fc1.weight\" must have shape (64, 512), got (64, 500)");
  auto wrong_dtype = state;
  wrong_dtype["out.bias"] = Tensor::zeros({10}, DType::f64);
  REQUIRE_THROWS_MINIDL(target->load_state_dict(wrong_dtype), "\"out.bias\" must have dtype f32, got f64");
  REQUIRE(target->state_dict().at("conv1.weight").to_vector<float>() !=
          source->state_dict().at("conv1.weight").to_vector<float>());

  target->load_state_dict(unexpected, /*strict=*/false);
  for (const auto& [key, value] : target->state_dict()) require_close(value, state.at(key), 0, 0, key);
}

TEST_CASE("Sequential refuses duplicate and dotted child names") {
  Sequential net;
  net.add("relu", std::make_shared<ReLU>());
  REQUIRE_THROWS_MINIDL(net.add("relu", std::make_shared<ReLU>()), "a child named \"relu\" already exists");
  REQUIRE_THROWS_MINIDL(net.add("a.b", std::make_shared<ReLU>()), "got \"a.b\"");
  REQUIRE_THROWS_MINIDL(net.child("conv"), "no child named \"conv\"");
}

TEST_CASE("cross entropy loss returns the loss and hands out its gradient") {
  Tensor logits = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 0, 0, 0});
  Tensor labels = Tensor::from_vector<std::int32_t>({2}, {2, 1});
  CrossEntropyLoss criterion;
  double expected = 0.5 * ((std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0) + std::log(3.0));
  REQUIRE(criterion.forward(logits, labels).item<float>() == Approx(expected).epsilon(1e-6));
  REQUIRE(criterion.num_correct().item<std::int32_t>() == 1);
  REQUIRE(criterion.backward().shape() == Shape{2, 3});
  {
    NoGradGuard no_grad;
    criterion.forward(logits, labels);
  }
  REQUIRE_THROWS_MINIDL(criterion.backward(), "call forward (outside a NoGradGuard) first");
}
