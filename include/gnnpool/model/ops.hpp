#ifndef GNNPOOL_MODEL_OPS_HPP
#define GNNPOOL_MODEL_OPS_HPP

/// \file
/// The small operations a model needs between layers, recorded on the tape of their operands:
/// activations, sums of features (skip connections), row selection, the cross-entropy, the mean
/// squared error, sums and
/// multiples of losses, and an L2 penalty on parameters. Each is a node with its own backward,
/// like the layers (model/tape.hpp).

#include <gnnpool/model/tape.hpp>
#include <gnnpool/nn/activation.hpp>
#include <gnnpool/nn/cross_entropy.hpp>

#include <algorithm>
#include <span>
#include <utility>
#include <vector>

namespace gnnpool {

namespace detail {

template <typename Scalar>
struct ActivationNode final : TapeNode<Scalar> {
  Activation act = Activation::identity;
  Index x = -1, y = -1;
  Matrix<Scalar> out, dx;

  void backward(Tape<Scalar>& t) override {
    auto& ys = t.dense(y);
    if (!ys.has_grad || !t.dense(x).requires_grad) return;
    activation_backward<Scalar>(act, *t.dense(x).value, out, ys.grad, dx);
    t.deliver(x, dx);
  }
  /// ReLU and SELU have a kink at 0: the sign pattern of the input is a decision.
  void discrete(std::vector<Index>& decisions) const override {
    if (act != Activation::relu && act != Activation::selu) return;
    for (Index i = 0; i < out.size(); ++i) decisions.push_back(out.data()[i] > Scalar(0));
  }
};

template <typename Scalar>
struct AddNode final : TapeNode<Scalar> {
  Index a = -1, b = -1, y = -1;
  Matrix<Scalar> out, da, db;

  void backward(Tape<Scalar>& t) override {
    auto& ys = t.dense(y);
    if (!ys.has_grad) return;
    if (t.dense(a).requires_grad) {
      da = ys.grad;
      t.deliver(a, da);
    }
    if (t.dense(b).requires_grad) {
      db = ys.grad;
      t.deliver(b, db);
    }
  }
};

template <typename Scalar>
struct RowsNode final : TapeNode<Scalar> {
  Index x = -1, y = -1;
  IndexVector ids;
  Matrix<Scalar> out, dx;

  void backward(Tape<Scalar>& t) override {
    auto& ys = t.dense(y);
    const auto& xs = t.dense(x);
    if (!ys.has_grad || !xs.requires_grad) return;
    dx.setZero(xs.value->rows(), xs.value->cols());
    for (std::size_t i = 0; i < ids.size(); ++i) dx.row(ids[i]) += ys.grad.row(static_cast<Index>(i));
    t.deliver(x, dx);
  }
};

template <typename Scalar>
struct CrossEntropyNode final : TapeNode<Scalar> {
  Index logits = -1, loss = -1;
  IndexVector labels;
  Matrix<Scalar> dlogits;  ///< d(loss)/d(logits), computed by forward

  void backward(Tape<Scalar>& t) override {
    const auto& ls = t.scalar(loss);
    if (!ls.has_grad || !t.dense(logits).requires_grad) return;
    if (ls.grad != Scalar(1)) dlogits *= ls.grad;
    t.deliver(logits, dlogits);
  }
};

template <typename Scalar>
struct SquaredErrorNode final : TapeNode<Scalar> {
  Index prediction = -1, loss = -1;
  Matrix<Scalar> dprediction;  ///< d(loss)/d(prediction), computed by forward

  void backward(Tape<Scalar>& t) override {
    const auto& ls = t.scalar(loss);
    if (!ls.has_grad || !t.dense(prediction).requires_grad) return;
    if (ls.grad != Scalar(1)) dprediction *= ls.grad;
    t.deliver(prediction, dprediction);
  }
};

template <typename Scalar>
struct PenaltyNode final : TapeNode<Scalar> {
  Scalar coefficient = 0;
  Index loss = -1;

  void backward(Tape<Scalar>& t) override {
    const auto& ls = t.scalar(loss);
    if (!ls.has_grad) return;
    const Scalar g = ls.grad;
    t.with_parameter_gradients(this->slots, [&](ParameterSet<Scalar>& grads) {
      for (const Index s : this->slots) {
        grads[s] = Scalar(2) * coefficient * t.parameters()[s];
        if (g != Scalar(1)) grads[s] *= g;
      }
    });
  }
};

template <typename Scalar>
Tape<Scalar>& same_tape(const Tensor<Scalar>& a, const Tensor<Scalar>& b, const char* op) {
  GNNPOOL_CHECK(&a.tape() == &b.tape(), invalid_argument, op, ": the operands are recorded on different tapes");
  return a.tape();
}

}  // namespace detail

/// y = f(x) element-wise (nn/activation.hpp lists the functions and their derivatives).
template <typename Scalar>
Tensor<Scalar> activation(Tensor<Scalar> x, Activation act) {
  Tape<Scalar>& t = x.tape();
  const auto& xs = t.dense(x.id());
  auto& node = t.template next_node<detail::ActivationNode<Scalar>>();
  node.slots.clear();
  node.act = act;
  node.x = x.id();
  activation_forward<Scalar>(act, *xs.value, node.out);
  node.y = t.add_dense(&node.out, xs.requires_grad);
  return Tensor<Scalar>(&t, node.y);
}
template <typename Scalar>
Tensor<Scalar> relu(Tensor<Scalar> x) { return activation(x, Activation::relu); }
template <typename Scalar>
Tensor<Scalar> tanh(Tensor<Scalar> x) { return activation(x, Activation::tanh); }
template <typename Scalar>
Tensor<Scalar> sigmoid(Tensor<Scalar> x) { return activation(x, Activation::sigmoid); }
template <typename Scalar>
Tensor<Scalar> selu(Tensor<Scalar> x) { return activation(x, Activation::selu); }

/// a + b (same shape): skip connections, U-Net sums.
template <typename Scalar>
Tensor<Scalar> operator+(Tensor<Scalar> a, Tensor<Scalar> b) {
  Tape<Scalar>& t = detail::same_tape(a, b, "Tensor +");
  const auto& as = t.dense(a.id());
  const auto& bs = t.dense(b.id());
  GNNPOOL_CHECK(as.value->rows() == bs.value->rows() && as.value->cols() == bs.value->cols(), shape_error,
                "Tensor +: the operands are ", detail::shape(as.value->rows(), as.value->cols()), " and ",
                detail::shape(bs.value->rows(), bs.value->cols()));
  auto& node = t.template next_node<detail::AddNode<Scalar>>();
  node.slots.clear();
  node.a = a.id();
  node.b = b.id();
  node.out = *as.value + *bs.value;
  node.y = t.add_dense(&node.out, as.requires_grad || bs.requires_grad);
  return Tensor<Scalar>(&t, node.y);
}

/// The rows `ids` of x, in that order (the labelled nodes of a node-classification task).
template <typename Scalar>
Tensor<Scalar> rows(Tensor<Scalar> x, std::span<const Index> ids) {
  Tape<Scalar>& t = x.tape();
  const auto& xs = t.dense(x.id());
  auto& node = t.template next_node<detail::RowsNode<Scalar>>();
  node.slots.clear();
  node.x = x.id();
  node.ids.assign(ids.begin(), ids.end());
  node.out.resize(static_cast<Index>(ids.size()), xs.value->cols());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    check_node_index(ids[i], xs.value->rows(), "rows", "row index");
    node.out.row(static_cast<Index>(i)) = xs.value->row(ids[i]);
  }
  node.y = t.add_dense(&node.out, xs.requires_grad);
  return Tensor<Scalar>(&t, node.y);
}

/// Mean softmax cross-entropy of the rows of `logits` against `labels` (PyTorch's
/// `F.cross_entropy`; nn/cross_entropy.hpp): a Loss.
template <typename Scalar>
Loss<Scalar> cross_entropy(Tensor<Scalar> logits, std::span<const Index> labels) {
  Tape<Scalar>& t = logits.tape();
  const auto& ls = t.dense(logits.id());
  auto& node = t.template next_node<detail::CrossEntropyNode<Scalar>>();
  node.slots.clear();
  node.logits = logits.id();
  node.labels.assign(labels.begin(), labels.end());
  const Scalar value = softmax_cross_entropy<Scalar>(*ls.value, node.labels, &node.dlogits);
  node.loss = t.add_scalar(value, ls.requires_grad);
  return Loss<Scalar>(&t, node.loss);
}

/// Mean squared error mean((prediction - target)^2) over every entry (Keras'
/// `mean_squared_error` averaged, PyTorch's `F.mse_loss`): a Loss. `target` is a constant (it
/// must have the prediction's shape; it is read at the call, not kept).
/// Backward: d/dprediction = 2 (prediction - target) / (rows cols).
template <typename Scalar>
Loss<Scalar> mean_squared_error(Tensor<Scalar> prediction, const Matrix<Scalar>& target) {
  Tape<Scalar>& t = prediction.tape();
  const auto& ps = t.dense(prediction.id());
  GNNPOOL_CHECK(ps.value->rows() == target.rows() && ps.value->cols() == target.cols(), shape_error,
                "mean_squared_error: the prediction is ", detail::shape(ps.value->rows(), ps.value->cols()),
                " but the target is ", detail::shape(target.rows(), target.cols()));
  auto& node = t.template next_node<detail::SquaredErrorNode<Scalar>>();
  node.slots.clear();
  node.prediction = prediction.id();
  node.dprediction = *ps.value - target;
  const Scalar count = static_cast<Scalar>(std::max<Index>(target.size(), 1));
  const Scalar value = node.dprediction.squaredNorm() / count;
  node.dprediction *= Scalar(2) / count;
  node.loss = t.add_scalar(value, ps.requires_grad);
  return Loss<Scalar>(&t, node.loss);
}

/// coefficient * sum_s ||P_s||^2 over the parameter tensors `slots` (the Keras / Spektral
/// kernel_regularizer; Adam's `weight_decay` is the other way to regularise). Its gradient
/// 2 coefficient P_s adds to what the layers give those tensors.
template <typename Scalar>
Loss<Scalar> l2_penalty(Tape<Scalar>& t, Scalar coefficient, std::span<const Index> slots) {
  auto& node = t.template next_node<detail::PenaltyNode<Scalar>>();
  node.slots.assign(slots.begin(), slots.end());
  node.coefficient = coefficient;
  Scalar value(0);
  for (const Index s : slots) {
    GNNPOOL_CHECK(s >= 0 && s < t.parameters().size(), invalid_argument, "l2_penalty: slot ", s,
                  " is not in the tape's ParameterSet (", t.parameters().size(), " tensors)");
    value += coefficient * t.parameters()[s].squaredNorm();
  }
  node.loss = t.add_scalar(value, !slots.empty());
  return Loss<Scalar>(&t, node.loss);
}

/// Sums and multiples of losses: `ce + 0.5 * p.loss("ent_loss")`.
template <typename Scalar>
Loss<Scalar> operator+(Loss<Scalar> a, Loss<Scalar> b) {
  GNNPOOL_CHECK(&a.tape() == &b.tape(), invalid_argument, "Loss +: the operands are recorded on different tapes");
  return a.tape().combine({{a.id(), Scalar(1)}, {b.id(), Scalar(1)}});
}
template <typename Scalar>
Loss<Scalar> operator-(Loss<Scalar> a, Loss<Scalar> b) {
  GNNPOOL_CHECK(&a.tape() == &b.tape(), invalid_argument, "Loss -: the operands are recorded on different tapes");
  return a.tape().combine({{a.id(), Scalar(1)}, {b.id(), Scalar(-1)}});
}
template <typename Scalar>
Loss<Scalar> operator*(std::type_identity_t<Scalar> c, Loss<Scalar> a) {
  return a.tape().combine({{a.id(), c}});
}
template <typename Scalar>
Loss<Scalar> operator*(Loss<Scalar> a, std::type_identity_t<Scalar> c) {
  return a.tape().combine({{a.id(), c}});
}

}  // namespace gnnpool

#endif
