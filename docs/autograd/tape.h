// A tape-based autograd over minidl's CPU ops, at the level of tensors: micrograd's idea
// (github.com/karpathy/micrograd) for tensors instead of scalars. docs/autograd.md explains it.
//
// Each op computes its output at once and records on the tape a closure that, given
// d loss / d output, adds d loss / d input to each input's grad (+=, so a tensor used
// twice gets the sum of both uses). backward(loss) runs the closures in the reverse order
// of recording: every consumer of a tensor was recorded after it, so a tensor's grad is
// complete before its own closure reads it. Host tensors, f32 or f64.
#pragma once

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "minidl/core/tensor.h"
#include "minidl/kernels/ops.h"

namespace tape {

using minidl::Shape;
using minidl::Tensor;
namespace ops = minidl::ops;

// A tensor of the graph: its value, and d loss / d value once backward reached it.
struct Variable {
  Tensor value;
  Tensor grad;  // undefined until the first gradient arrives
  bool requires_grad = false;
};
using Var = std::shared_ptr<Variable>;

// A parameter or an input: requires_grad asks backward for its gradient.
inline Var leaf(Tensor value, bool requires_grad) {
  return std::make_shared<Variable>(Variable{std::move(value), Tensor(), requires_grad});
}

// into += scale * from, elementwise, for f32 or f64 host tensors of one shape.
template <typename T>
void add_into_as(Tensor& into, const Tensor& from, T scale) {
  T* y = into.data<T>();
  const T* x = from.data<T>();
  for (std::int64_t i = 0; i < into.numel(); ++i) y[i] += scale * x[i];
}
inline void add_into(Tensor& into, const Tensor& from, double scale = 1.0) {
  if (into.dtype() == minidl::DType::f64) add_into_as<double>(into, from, scale);
  else add_into_as<float>(into, from, static_cast<float>(scale));
}

class Tape {
 public:
  // Tensors this tape allocated, outputs and gradients: a measure of its cost.
  std::int64_t allocations = 0;

  // doc:tape-op
  Var conv2d(const Var& x, const Var& w, const Var& b, ops::Conv2dParams params) {
    Tensor y = empty(ops::conv2d_output_shape(x->value.shape(), w->value.shape(), params), x);
    ops::conv2d_forward(x->value, w->value, b->value, y, params);
    return record(y, {x, w, b}, [=, this](const Tensor& g) {
      Tensor grad_x = x->requires_grad ? empty(x->value.shape(), x) : Tensor();
      ops::conv2d_backward(g, x->value, w->value, grad_x, grad_of(w), grad_of(b), params);
      if (grad_x.defined()) accumulate(x, grad_x, true);
    });
  }
  Var relu(const Var& x) {
    Tensor y = empty(x->value.shape(), x);
    ops::relu_forward(x->value, y);
    return record(y, {x}, [=, this](const Tensor& g) {
      Tensor grad_x = empty(x->value.shape(), x);
      ops::relu_backward(g, y, grad_x);
      accumulate(x, grad_x, true);
    });
  }
  Var max_pool2d(const Var& x, ops::MaxPool2dParams params) {
    const Shape shape = ops::max_pool2d_output_shape(x->value.shape(), params);
    Tensor y = empty(shape, x), indices = Tensor::empty(shape, minidl::DType::i32);
    ++allocations;
    ops::max_pool2d_forward(x->value, y, indices, params);
    return record(y, {x}, [=, this](const Tensor& g) {
      Tensor grad_x = empty(x->value.shape(), x);
      ops::max_pool2d_backward(g, indices, grad_x, params);
      accumulate(x, grad_x, true);
    });
  }
  // The forward is a view (nothing computed or allocated); the backward reshapes g, which is
  // not x's alone, so accumulate copies it into a new tensor when x has no grad yet.
  Var flatten(const Var& x) {
    return record(x->value.flatten(1), {x}, [=, this](const Tensor& g) { accumulate(x, g.reshape(x->value.shape()), false); });
  }
  Var linear(const Var& x, const Var& w, const Var& b) {
    Tensor y = empty({x->value.size(0), w->value.size(0)}, x);
    ops::linear_forward(x->value, w->value, b->value, y);
    return record(y, {x, w, b}, [=, this](const Tensor& g) {
      Tensor grad_x = x->requires_grad ? empty(x->value.shape(), x) : Tensor();
      ops::linear_backward(g, x->value, w->value, grad_x, grad_of(w), grad_of(b));
      if (grad_x.defined()) accumulate(x, grad_x, true);
    });
  }
  Var add(const Var& a, const Var& b) {  // a + b, one shape: the gradient goes to both
    Tensor y = a->value.clone();
    ++allocations;
    add_into(y, b->value);
    return record(y, {a, b}, [=, this](const Tensor& g) {
      accumulate(a, g, false);
      accumulate(b, g, false);
    });
  }
  // The mean softmax cross-entropy, shape (1); its gradient comes out of the same pass.
  Var cross_entropy(const Var& logits, const Tensor& labels) {
    Tensor loss = empty({1}, logits), grad_logits = empty(logits->value.shape(), logits);
    Tensor num_correct = Tensor::empty({1}, minidl::DType::i32);
    ++allocations;
    ops::cross_entropy_forward_backward(logits->value, labels, loss, grad_logits, num_correct);
    return record(loss, {logits}, [=, this](const Tensor& g) {
      Tensor grad = empty(logits->value.shape(), logits).zero_();
      add_into(grad, grad_logits, g.to(minidl::DType::f64).item<double>());
      accumulate(logits, grad, true);
    });
  }

  // d loss / d every Variable that requires it, loss a (1) tensor: seeds d loss / d loss = 1.
  // doc:tape-backward
  void backward(const Var& loss) {
    loss->grad = Tensor::full({1}, 1.0, loss->value.dtype());
    for (auto step = steps_.rbegin(); step != steps_.rend(); ++step)
      if (step->output->grad.defined()) step->backward(step->output->grad);
  }

 private:
  struct Step {
    Var output;
    std::function<void(const Tensor& grad_output)> backward;
  };
  std::vector<Step> steps_;

  // Records the op that made value from inputs; its output needs a gradient when one of them does.
  // doc:tape-record
  Var record(Tensor value, std::initializer_list<Var> inputs, std::function<void(const Tensor&)> backward) {
    bool requires_grad = false;
    for (const Var& input : inputs) requires_grad = requires_grad || input->requires_grad;
    Var output = leaf(std::move(value), requires_grad);
    if (requires_grad) steps_.push_back({output, std::move(backward)});
    return output;
  }
  Tensor empty(const Shape& shape, const Var& like) {
    ++allocations;
    return Tensor::empty(shape, like->value.dtype());
  }
  // A parameter's grad, which its op's backward accumulates into (zeros the first time).
  Tensor& grad_of(const Var& v) {
    if (v->requires_grad && !v->grad.defined()) v->grad = empty(v->value.shape(), v).zero_();
    return v->requires_grad ? v->grad : no_grad_;
  }
  // doc:tape-accumulate
  // v.grad += g: a tensor used by several ops gets the sum of their gradients. The first
  // g becomes v.grad when it is fresh (made by the closure for v alone), else a copy of it.
  void accumulate(const Var& v, const Tensor& g, bool fresh) {
    if (!v->requires_grad) return;
    if (v->grad.defined()) {
      add_into(v->grad, g);
    } else if (fresh) {
      v->grad = g;
    } else {
      v->grad = empty(g.shape(), v);
      v->grad.copy_from(g);
    }
  }
  Tensor no_grad_;
};

}  // namespace tape
