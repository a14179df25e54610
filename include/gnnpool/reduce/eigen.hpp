#ifndef GNNPOOL_REDUCE_EIGEN_HPP
#define GNNPOOL_REDUCE_EIGEN_HPP

/// \file
/// `EigenReduce`: EigenPool's graph Fourier pooling of the features, X'_c = [theta_m,c^T X]_m.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/detail/soft_kernels.hpp>
#include <gnnpool/select/eigen.hpp>

namespace gnnpool {

/// Pooled features of EigenPool, graph by graph (tgp's `EigenPoolReduce`): supernode c of graph
/// b gets the coefficients of its M graph Fourier modes, concatenated mode by mode:
///
///   X'[b K + c, m F + f] = sum_{v in b} theta[v, m K + c] X[v, f]      (K M x F per graph, reshaped)
///
/// Backward: dX_b += sum_m theta_b[:, m K .. (m+1) K] dX'_b[:, m F .. (m+1) F]; theta is a
/// constant (no gradient into the selection). An empty graph pools to K zero rows. Shapes: X
/// N x F, X' (B K) x (M F).
/// Cost: O(N K M F) both ways (one GEMM per graph and mode; the graphs in parallel). No cache.
/// Thread-safe (const).
template <typename Scalar_>
class EigenReduce {
 public:
  using Scalar = Scalar_;
  struct Cache {};

  void forward(const BatchRef<Scalar>& in, const EigenSelection<Scalar>& sel, Matrix<Scalar>& x_out, Cache& /*cache*/) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "EigenReduce");
    const Index nb = detail::num_graphs(sel), k = sel.s.cols(), f = in.x.cols(), modes = sel.modes;
    GNNPOOL_CHECK(sel.theta.rows() == in.num_nodes() && sel.theta.cols() == k * modes, shape_error,
                  "EigenReduce: theta is ", detail::shape(sel.theta.rows(), sel.theta.cols()), ", expected ",
                  detail::shape(in.num_nodes(), k * modes));
    x_out.setZero(nb * k, modes * f);
    // The graphs in parallel: each writes its own K rows of X'.
    detail::parallel_for(nb, [&](Index b) {
      // An empty graph pools to K zero rows; skipping it also keeps column blocks of a batch
      // without rows (null data) from being taken.
      if (in.graph_size(b) == 0) return;
      const auto xb = detail::graph_rows(in.x, in.offsets, b);
      const auto tb = detail::graph_rows(sel.theta, sel.offsets, b);
      for (Index m = 0; m < modes; ++m)
        x_out.block(b * k, m * f, k, f).noalias() = tb.middleCols(m * k, k).transpose() * xb;
    });
  }

  void backward(const BatchRef<Scalar>& in, const EigenSelection<Scalar>& sel, const Cache& /*cache*/,
                const ConstMatrixRef<Scalar>& dx_out, BatchGrad<Scalar>& din, Matrix<Scalar>& /*dsel*/) const {
    const Index nb = detail::num_graphs(sel), k = sel.s.cols(), f = in.x.cols(), modes = sel.modes;
    GNNPOOL_CHECK(dx_out.rows() == nb * k && dx_out.cols() == modes * f, shape_error, "EigenReduce backward: dX' is ",
                  detail::shape(dx_out.rows(), dx_out.cols()), ", expected ", detail::shape(nb * k, modes * f));
    // The graphs in parallel: each adds into its own rows of dX.
    detail::parallel_for(nb, [&](Index b) {
      if (in.graph_size(b) == 0) return;  // no node, no gradient
      auto dxb = detail::graph_rows(din.x, in.offsets, b);
      const auto tb = detail::graph_rows(sel.theta, sel.offsets, b);
      for (Index m = 0; m < modes; ++m) dxb.noalias() += tb.middleCols(m * k, k) * dx_out.block(b * k, m * f, k, f);
    });
  }
};

}  // namespace gnnpool

#endif
