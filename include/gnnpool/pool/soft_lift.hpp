#ifndef GNNPOOL_POOL_SOFT_LIFT_HPP
#define GNNPOOL_POOL_SOFT_LIFT_HPP

/// \file
/// `SoftLift`: unpooling through a soft assignment, X ~ S X' per graph.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/soft_kernels.hpp>

#include <string_view>

namespace gnnpool {

/// Lift of a soft selection (the LIFT step of the SRC form for MinCut, DiffPool and DMoN): every
/// input node gets the S-weighted mix of its graph's supernode features.
///
/// Forward:  X_b = S_b X'_b   (graph b: S_b n_b x K, X'_b = rows b K .. (b+1) K of X').
/// Backward: dX'_b = S_b^T dX_b (assigned),  dS_b += dX_b X'_b^T (added).
///
/// Satisfies `LiftPolicy` (pool/concepts.hpp); the backward reads X' because dS depends on it.
/// Shapes: X' (B K) x F, X N x F. No cache. Cost O(N K F) both ways. Thread-safe (const).
template <typename Scalar_>
class SoftLift {
 public:
  using Scalar = Scalar_;

  std::string_view name() const { return "SoftLift"; }

  void forward(const SoftSelection<Scalar>& sel, const ConstMatrixRef<Scalar>& x_pooled, Matrix<Scalar>& x_out) const {
    check(sel, x_pooled, "SoftLift");
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    x_out.resize(sel.s.rows(), x_pooled.cols());
    for (Index b = 0; b < nb; ++b)
      detail::graph_rows(x_out, sel.offsets, b).noalias() =
          detail::graph_rows(sel.s, sel.offsets, b) * x_pooled.middleRows(b * k, k);
  }

  /// ASSIGNS dx_pooled ((B K) x F) and ADDS dL/dS into dsel (N x K).
  void backward(const SoftSelection<Scalar>& sel, const ConstMatrixRef<Scalar>& x_pooled, const ConstMatrixRef<Scalar>& dx_out,
                Matrix<Scalar>& dx_pooled, Matrix<Scalar>& dsel) const {
    check(sel, x_pooled, "SoftLift backward");
    GNNPOOL_CHECK(dx_out.rows() == sel.s.rows() && dx_out.cols() == x_pooled.cols(), shape_error,
                  "SoftLift backward: dX is ", detail::shape(dx_out.rows(), dx_out.cols()), ", expected ",
                  detail::shape(sel.s.rows(), x_pooled.cols()));
    GNNPOOL_CHECK(dsel.rows() == sel.s.rows() && dsel.cols() == sel.s.cols(), shape_error,
                  "SoftLift backward: dS is ", detail::shape(dsel.rows(), dsel.cols()), " but S is ",
                  detail::shape(sel.s.rows(), sel.s.cols()));
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    dx_pooled.resize(x_pooled.rows(), x_pooled.cols());
    for (Index b = 0; b < nb; ++b) {
      const auto dxb = detail::graph_rows(dx_out, sel.offsets, b);
      dx_pooled.middleRows(b * k, k).noalias() = detail::graph_rows(sel.s, sel.offsets, b).transpose() * dxb;
      detail::graph_rows(dsel, sel.offsets, b).noalias() += dxb * x_pooled.middleRows(b * k, k).transpose();
    }
  }

 private:
  static void check(const SoftSelection<Scalar>& sel, const ConstMatrixRef<Scalar>& x_pooled, const char* layer) {
    GNNPOOL_CHECK(sel.offsets.size() >= 2 && sel.offsets.front() == 0 && sel.offsets.back() == sel.s.rows(),
                  invalid_argument, layer, ": the selection's offsets do not cover its ", sel.s.rows(), " rows");
    GNNPOOL_CHECK(x_pooled.rows() == sel.num_supernodes(), shape_error, layer, ": the pooled x has ",
                  x_pooled.rows(), " rows but the selection has ", sel.num_supernodes(), " supernodes (",
                  detail::num_graphs(sel), " graphs x K = ", sel.s.cols(), ")");
  }
};

}  // namespace gnnpool

#endif
