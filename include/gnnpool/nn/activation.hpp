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
  switch (act) {
    case Activation::identity:
      out = in;
      return;
    case Activation::relu:
      out = in.cwiseMax(Scalar(0));
      return;
    case Activation::tanh:
      out = in.array().tanh().matrix();
      return;
    case Activation::sigmoid:
      // 1 / (1 + exp(-x)) overflows to 1 / inf = 0 for very negative x, the correct limit.
      out = (Scalar(1) / (Scalar(1) + (-in.array()).exp())).matrix();
      return;
    case Activation::selu: {
      constexpr Scalar a = detail::selu_constants<Scalar>::alpha;
      constexpr Scalar s = detail::selu_constants<Scalar>::scale;
      // expm1 keeps the relative accuracy of s a (exp(x) - 1) for x near 0.
      out = in.unaryExpr([](Scalar v) { return v > Scalar(0) ? s * v : s * a * std::expm1(v); });
      return;
    }
  }
  detail::raise<invalid_argument>(
      detail::concat("activation_forward: unknown Activation value ", static_cast<int>(act)));
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
  switch (act) {
    case Activation::identity:
      din = dout;
      return;
    case Activation::relu:
      din = (in.array() > Scalar(0)).select(dout.array(), Scalar(0)).matrix();
      return;
    case Activation::tanh:
      din = (dout.array() * (Scalar(1) - out.array().square())).matrix();
      return;
    case Activation::sigmoid:
      din = (dout.array() * out.array() * (Scalar(1) - out.array())).matrix();
      return;
    case Activation::selu: {
      constexpr Scalar a = detail::selu_constants<Scalar>::alpha;
      constexpr Scalar s = detail::selu_constants<Scalar>::scale;
      din = (in.array() > Scalar(0)).select(s * dout.array(), dout.array() * (out.array() + s * a)).matrix();
      return;
    }
  }
  detail::raise<invalid_argument>(
      detail::concat("activation_backward: unknown Activation value ", static_cast<int>(act)));
}

}  // namespace gnnpool

#endif
