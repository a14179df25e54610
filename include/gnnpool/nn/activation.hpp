#ifndef GNNPOOL_NN_ACTIVATION_HPP
#define GNNPOOL_NN_ACTIVATION_HPP

/// \file
/// Element-wise activations (`Activation`) with their forward and backward passes.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/types.hpp>

#include <cmath>
#include <string_view>
#include <type_traits>

namespace gnnpool {

/// The element-wise nonlinearities of gnnpool's layers, with PyTorch's definitions.
///
/// | value    | f(x)                                        | f'(x), written with y = f(x)       |
/// |----------|---------------------------------------------|------------------------------------|
/// | identity | x                                           | 1                                  |
/// | relu     | max(x, 0)                                   | [x > 0] (0 at x = 0, as PyTorch)   |
/// | tanh     | tanh(x)                                     | 1 - y^2                            |
/// | sigmoid  | 1 / (1 + exp(-x))                           | y (1 - y)                          |
/// | selu     | s x (x > 0), s a (exp(x) - 1) (x <= 0)      | s (x > 0), y + s a (x <= 0)        |
///
/// SELU constants are PyTorch's: a = 1.6732632423543772848170429916717,
/// s = 1.0507009873554804934193349852946.
enum class Activation { identity, relu, tanh, sigmoid, selu };

/// Lower-case name of an activation ("relu"), for messages and docs.
inline std::string_view activation_name(Activation act) {
  switch (act) {
    case Activation::identity: return "identity";
    case Activation::relu: return "relu";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
    case Activation::selu: return "selu";
  }
  return "unknown";
}

namespace detail {

template <typename Scalar>
struct selu_constants {
  static constexpr Scalar alpha = Scalar(1.6732632423543772848170429916717L);
  static constexpr Scalar scale = Scalar(1.0507009873554804934193349852946L);
};

/// A dense row-major argument as one flat array when its rows are contiguous (stride = width),
/// which Eigen vectorises whatever the shape; a row-major N x 1 block with an outer stride is
/// otherwise evaluated one scalar at a time (a scalar tanh per node for the score heads).
template <typename Scalar>
bool is_flat(const ConstMatrixRef<Scalar>& m) {
  return m.rows() <= 1 || m.outerStride() == m.cols();
}
template <typename Scalar>
auto flat(const ConstMatrixRef<Scalar>& m) {
  return Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>(m.data(), m.size());
}
template <typename Scalar>
auto flat(Matrix<Scalar>& m) {
  return Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>(m.data(), m.size());
}

/// y = f(x) element-wise for array expressions x, y of one shape.
template <typename Scalar, typename X, typename Y>
void activation_apply(Activation act, const X& x, Y&& y) {
  switch (act) {
    case Activation::identity:
      y = x;
      return;
    case Activation::relu:
      y = x.max(Scalar(0));
      return;
    case Activation::tanh:
      y = x.tanh();
      return;
    case Activation::sigmoid:
      // 1 / (1 + exp(-x)) overflows to 1 / inf = 0 for very negative x, the correct limit.
      y = Scalar(1) / (Scalar(1) + (-x).exp());
      return;
    case Activation::selu: {
      constexpr Scalar a = selu_constants<Scalar>::alpha;
      constexpr Scalar s = selu_constants<Scalar>::scale;
      // s max(x, 0) + s a expm1(min(x, 0)): the same values as the two-branch definition (one
      // term is exactly 0 on each side), without a per-element branch, so Eigen vectorises it
      // where it has a packet expm1 (float; a scalar expm1 per element was 13 % of DMoN). expm1
      // keeps the relative accuracy of s a (exp(x) - 1) for x near 0. The max and min propagate
      // a NaN: Eigen 3.4's array max/min leave that unspecified, its functors take the mode.
      using Max = Eigen::internal::scalar_max_op<Scalar, Scalar, Eigen::PropagateNaN>;
      using Min = Eigen::internal::scalar_min_op<Scalar, Scalar, Eigen::PropagateNaN>;
      const auto zero = X::PlainObject::Zero(x.rows(), x.cols());
      y = s * x.binaryExpr(zero, Max()) + (s * a) * x.binaryExpr(zero, Min()).expm1();
      return;
    }
  }
  raise<invalid_argument>(concat("activation_forward: unknown Activation value ", static_cast<int>(act)));
}

/// din = dout ⊙ f'(in) element-wise for array expressions of one shape (f' from `in` or `out`).
template <typename Scalar, typename X, typename D>
void activation_derivative_apply(Activation act, const X& in, const X& out, const X& dout, D&& din) {
  switch (act) {
    case Activation::identity:
      din = dout;
      return;
    case Activation::relu:
      din = (in > Scalar(0)).select(dout, Scalar(0));
      return;
    case Activation::tanh:
      din = dout * (Scalar(1) - out.square());
      return;
    case Activation::sigmoid:
      din = dout * out * (Scalar(1) - out);
      return;
    case Activation::selu: {
      constexpr Scalar a = selu_constants<Scalar>::alpha;
      constexpr Scalar s = selu_constants<Scalar>::scale;
      din = (in > Scalar(0)).select(s * dout, dout * (out + s * a));
      return;
    }
  }
  raise<invalid_argument>(concat("activation_backward: unknown Activation value ", static_cast<int>(act)));
}

}  // namespace detail

/// out = f(in), element-wise (any shape). `out` is resized; it may be the matrix `in` views
/// (in-place activation). Cost O(size).
///
/// The input is a non-deduced parameter so that both `activation_forward<double>(act, x, y)`
/// and `activation_forward(act, x, y)` (Scalar taken from `out`) compile for any dense
/// row-major argument.
template <typename Scalar>
void activation_forward(Activation act, const std::type_identity_t<ConstMatrixRef<Scalar>>& in,
                        Matrix<Scalar>& out) {
  out.resize(in.rows(), in.cols());
  if (detail::is_flat<Scalar>(in))
    detail::activation_apply<Scalar>(act, detail::flat<Scalar>(in), detail::flat(out));
  else
    detail::activation_apply<Scalar>(act, in.array(), out.array());
}

/// din = dout ⊙ f'(in), element-wise. `in` is the forward input and `out` = f(in) its output;
/// each activation reads whichever gives f' more cheaply (relu and selu: `in`; tanh, sigmoid
/// and the negative branch of selu: `out`). `din` is assigned (resized). Cost O(size).
/// Throws `shape_error` when in, out and dout differ in shape.
template <typename Scalar>
void activation_backward(Activation act, const std::type_identity_t<ConstMatrixRef<Scalar>>& in,
                         const std::type_identity_t<ConstMatrixRef<Scalar>>& out,
                         const std::type_identity_t<ConstMatrixRef<Scalar>>& dout, Matrix<Scalar>& din) {
  GNNPOOL_CHECK(out.rows() == in.rows() && out.cols() == in.cols(), shape_error, "activation_backward (",
                activation_name(act), "): out is ", detail::shape(out.rows(), out.cols()), " but in is ",
                detail::shape(in.rows(), in.cols()));
  GNNPOOL_CHECK(dout.rows() == in.rows() && dout.cols() == in.cols(), shape_error, "activation_backward (",
                activation_name(act), "): dout is ", detail::shape(dout.rows(), dout.cols()),
                " but in is ", detail::shape(in.rows(), in.cols()));
  din.resize(in.rows(), in.cols());
  if (detail::is_flat<Scalar>(in) && detail::is_flat<Scalar>(out) && detail::is_flat<Scalar>(dout))
    detail::activation_derivative_apply<Scalar>(act, detail::flat<Scalar>(in), detail::flat<Scalar>(out),
                                                detail::flat<Scalar>(dout), detail::flat(din));
  else
    detail::activation_derivative_apply<Scalar>(act, in.array(), out.array(), dout.array(), din.array());
}

}  // namespace gnnpool

#endif
