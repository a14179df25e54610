#ifndef GNNPOOL_POOL_WEIGHTED_LIFT_HPP
#define GNNPOOL_POOL_WEIGHTED_LIFT_HPP

/// \file
/// `WeightedHardLift`: tgp's lift of a hard selection, X = S X' with S(i, a_i) = w_i, so that the
/// selection weights (scores, edge scores) are part of the unpooling and receive its gradient.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/core/types.hpp>

#include <string_view>

namespace gnnpool {

/// How `WeightedHardLift` applies the selection weight.
enum class LiftWeighting {
  multiply,  ///< x_i = w_i x'_{a_i}: tgp's lift (x = S x')
  divide,    ///< x_i = x'_{a_i} / w_i: PyG `EdgePooling.unpool` (undoes the score of the reduce)
};

/// Unpooling through the weighted assignment matrix of a hard selection.
///
/// Forward:  x_i = w_i x'_{a_i} (a_i = sel.assignment[i], w = sel.weight); 0 for a dropped node;
///           with `LiftWeighting::divide`, x_i = x'_{a_i} / w_i.
///           This is tgp's `lift` with `s_inv_op = "transpose"` (x = S x'): for EdgeContraction
///           w_i is the edge score of i's matched edge, for MaxCut the node score, for ASAP / PAN
///           (through their hard part) the kept node's score. `HardLift` is the same with w = 1.
/// Backward: dx'_s = sum_{a_i = s} w_i dx_i (assigned);  dw_i += <dx_i, x'_{a_i}> (added into
///           dsel, so the gradient reaches the scorer through the pooler's backward); divide:
///           dx'_s = sum_{a_i = s} dx_i / w_i,  dw_i += -<dx_i, x'_{a_i}> / w_i^2.
/// Shapes: x_pooled M x F (M = sel.num_supernodes()), x_out N x F (N = sel.num_nodes()), dsel N.
/// Cache: none. Cost O(N F) both ways. Errors: `shape_error` for x_pooled / dx_out / dsel of the
/// wrong size, `invalid_argument` for an assignment out of range or (divide) a zero weight.
template <typename Scalar_>
class WeightedHardLift {
 public:
  using Scalar = Scalar_;

  explicit WeightedHardLift(LiftWeighting weighting = LiftWeighting::multiply) : m_weighting(weighting) {}

  std::string_view name() const { return "WeightedHardLift"; }
  LiftWeighting weighting() const { return m_weighting; }

  void forward(const HardSelection<Scalar>& sel, const ConstMatrixRef<Scalar>& x_pooled, Matrix<Scalar>& x_out) const {
    check(sel, x_pooled.rows());
    const Index n = sel.num_nodes();
    x_out.resize(n, x_pooled.cols());
    for (Index i = 0; i < n; ++i) {
      const Index a = sel.assignment[static_cast<std::size_t>(i)];
      if (a == HardSelection<Scalar>::dropped) x_out.row(i).setZero();
      else x_out.row(i) = factor(sel, i) * x_pooled.row(a);
    }
  }

  /// Assigns dx_pooled (M x F) and adds dL/dw into dsel (N).
  void backward(const HardSelection<Scalar>& sel, const Matrix<Scalar>& x_pooled, const Matrix<Scalar>& dx_out,
                Matrix<Scalar>& dx_pooled, Vector<Scalar>& dsel) const {
    check(sel, x_pooled.rows());
    const Index n = sel.num_nodes();
    GNNPOOL_CHECK(dx_out.rows() == n && dx_out.cols() == x_pooled.cols(), shape_error, "WeightedHardLift: dx_out is ",
                  detail::shape(dx_out.rows(), dx_out.cols()), ", expected ", detail::shape(n, x_pooled.cols()));
    GNNPOOL_CHECK(dsel.size() == n, shape_error, "WeightedHardLift: dsel has ", dsel.size(), " entries for ", n,
                  " nodes");
    dx_pooled.setZero(x_pooled.rows(), x_pooled.cols());
    for (Index i = 0; i < n; ++i) {
      const Index a = sel.assignment[static_cast<std::size_t>(i)];
      if (a == HardSelection<Scalar>::dropped) continue;
      const Scalar c = factor(sel, i);
      dx_pooled.row(a).noalias() += c * dx_out.row(i);
      const Scalar g = dx_out.row(i).dot(x_pooled.row(a));
      dsel[i] += m_weighting == LiftWeighting::multiply ? g : -g * c * c;
    }
  }

 private:
  /// w_i, or 1 / w_i when dividing.
  Scalar factor(const HardSelection<Scalar>& sel, Index i) const {
    return m_weighting == LiftWeighting::multiply ? sel.weight[i] : Scalar(1) / sel.weight[i];
  }

  void check(const HardSelection<Scalar>& sel, Index pooled_rows) const {
    const Index n = sel.num_nodes(), m = sel.num_supernodes();
    GNNPOOL_CHECK(pooled_rows == m, shape_error, "WeightedHardLift: x_pooled has ", pooled_rows,
                  " rows but the selection has ", m, " supernodes");
    GNNPOOL_CHECK(sel.weight.size() == n, shape_error, "WeightedHardLift: the selection has ", sel.weight.size(),
                  " weights for ", n, " nodes");
    for (Index i = 0; i < n; ++i) {
      const Index a = sel.assignment[static_cast<std::size_t>(i)];
      GNNPOOL_CHECK(a == HardSelection<Scalar>::dropped || (a >= 0 && a < m), invalid_argument,
                    "WeightedHardLift: node ", i, " is assigned to supernode ", a, " but there are ", m,
                    " supernodes");
      GNNPOOL_CHECK(m_weighting == LiftWeighting::multiply || a == HardSelection<Scalar>::dropped ||
                        sel.weight[i] != Scalar(0),
                    invalid_argument, "WeightedHardLift: node ", i, " has weight 0, which the divide mode cannot undo");
    }
  }

  LiftWeighting m_weighting;
};

}  // namespace gnnpool

#endif
