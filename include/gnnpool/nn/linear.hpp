#ifndef GNNPOOL_NN_LINEAR_HPP
#define GNNPOOL_NN_LINEAR_HPP

/// \file
/// `Linear`: y = x W^T + b, PyTorch's `torch.nn.Linear`.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/detail/column_sums.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace gnnpool {

/// Affine map applied row by row (a `FeatureLayer`, core/concepts.hpp).
///
/// Forward:  Y = X W^T + 1 b^T.       X: N x in,  W: out x in ("weight"),  b: out ("bias").
/// Backward: dX = dY W,  dW = dY^T X,  db = 1^T dY.
/// Parameters: `<prefix>.weight` [out, in], `<prefix>.bias` [1, out] (if `bias`), both
/// initialised like PyTorch (U(-1/sqrt(in), 1/sqrt(in))).
/// Cache: none (backward takes X again). Cost: O(N * in * out) both ways; without dx, the
/// O(N in out) product dY W is skipped.
template <typename Scalar_>
class Linear {
 public:
  using Scalar = Scalar_;
  struct Cache {};

  Linear(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features,
         Index out_features, bool bias = true)
      : m_name(layer_label(prefix, "Linear")), m_in(in_features), m_out(out_features) {
    GNNPOOL_CHECK(in_features >= 1 && out_features >= 1, invalid_argument, "Linear '", prefix,
                  "': in_features and out_features must be >= 1, got ", in_features, " and ",
                  out_features);
    m_weight = params.add(join_name(prefix, "weight"), out_features, in_features,
                          Init::torch_linear, in_features);
    if (bias) m_bias = params.add(join_name(prefix, "bias"), 1, out_features, Init::torch_linear, in_features);
  }

  /// "prefix (Linear)": names the layer in messages.
  std::string_view name() const { return m_name; }
  Index in_features() const { return m_in; }
  Index out_features() const { return m_out; }
  bool has_bias() const { return m_bias >= 0; }
  /// Slots of the weight and the bias (-1 without bias) in the ParameterSet, for layers that
  /// fuse a Linear into a larger expression (GraphConv's root term).
  Index weight_slot() const { return m_weight; }
  Index bias_slot() const { return m_bias; }
  /// Appends the slots this layer registered (what its backward assigns).
  void parameter_slots(std::vector<Index>& out) const {
    out.push_back(m_weight);
    if (has_bias()) out.push_back(m_bias);
  }

  void forward(const ParameterSet<Scalar>& params, const ConstMatrixRef<Scalar>& x, Matrix<Scalar>& y,
               Cache& /*cache*/) const {
    GNNPOOL_CHECK(x.cols() == m_in, shape_error, m_name, ": x is ", detail::shape(x.rows(), x.cols()),
                  " but the layer expects ", m_in, " input features");
    y.resize(x.rows(), m_out);
    detail::affine_rows(x, params[m_weight].transpose(), has_bias() ? params[m_bias].data() : nullptr, y);
  }

  /// Assigns *dx (N x in) when dx is not null, and this layer's slots of dparams.
  void backward(const ParameterSet<Scalar>& params, const ConstMatrixRef<Scalar>& x, const Cache& /*cache*/,
                const ConstMatrixRef<Scalar>& dy, Matrix<Scalar>* dx, ParameterSet<Scalar>& dparams) const {
    GNNPOOL_CHECK(dy.rows() == x.rows() && dy.cols() == m_out, shape_error, m_name, ": dy is ",
                  detail::shape(dy.rows(), dy.cols()), ", expected ", detail::shape(x.rows(), m_out));
    if (dx) detail::assign_product(*dx, dy, params[m_weight]);
    detail::assign_product_transpose(dparams[m_weight], dy, x);
    if (has_bias()) dparams[m_bias] = detail::column_sums(dy);
  }

 private:
  std::string m_name;
  Index m_in, m_out;
  Index m_weight = -1, m_bias = -1;
};

}  // namespace gnnpool

#endif
