#ifndef GNNPOOL_POOL_EIGEN_POOL_HPP
#define GNNPOOL_POOL_EIGEN_POOL_HPP

/// \file
/// `EigenPool` (Ma et al., "Graph convolutional networks with EigenPooling", KDD 2019; tgp's
/// `EigenPooling`) as an SRC composition, and its lift `EigenLift`.

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/eigen.hpp>
#include <gnnpool/select/eigen.hpp>

#include <string_view>

namespace gnnpool {

/// Settings of EigenPool. Defaults reproduce tgp's `EigenPooling(k)` (num_modes = 5) on sparse
/// input, with gnnpool's deterministic spectral clustering in place of scikit-learn's.
struct EigenPoolOptions {
  EigenSelectOptions select{};
  /// tgp's DenseConnect on sparse (unbatched) input: zero diagonal, then the degrees of its
  /// A[source, target] rows, which are the columns of gnnpool's adj(target, source).
  SoftConnectNormalization normalization = SoftConnectNormalization::clamped_column_degree;
};

/// EigenPool:
///
///   Omega, theta = EigenSelect(A)   (hard clusters; per cluster the eigenvectors of its
///                                    normalised Laplacian, M modes, sign-fixed)
///   X' = [theta_m^T X]_m            (EigenReduce: (B K) x (M F))
///   A' = C^-1/2 (Omega^T A Omega - diag) C^-1/2   (SoftConnect on the one-hot Omega,
///                                    clamped_column_degree; removing the diagonal removes exactly
///                                    the intra-cluster edges, tgp's A_ext)
///
/// Non-trainable, no loss; the selection is a constant (no gradient through the clustering or
/// the eigenvectors, as in tgp): dL/dX comes from the reduce, dL/dA from the connect (on the
/// inter-cluster entries). Unpool with `EigenLift`. Cost: the selection (O(n_b^3) per graph:
/// dense spectral clustering and per-cluster eigendecompositions) plus O(N K M F + E K + N K^2).
template <typename Scalar_>
class EigenPool : public Pool<EigenSelect<Scalar_>, EigenReduce<Scalar_>, SoftConnect<Scalar_>> {
 public:
  using Scalar = Scalar_;
  using Base = Pool<EigenSelect<Scalar>, EigenReduce<Scalar>, SoftConnect<Scalar>>;

  /// No parameters are registered (the constructor is uniform with the other poolers).
  EigenPool(ParameterSet<Scalar>& /*params*/, std::string_view prefix, Index in_channels, const EigenPoolOptions& options)
      : Base(layer_label(prefix, "EigenPool"), EigenSelect<Scalar>(options.select), EigenReduce<Scalar>(),
             SoftConnect<Scalar>(options.normalization)) {
    this->expect_features(in_channels);
  }
};

/// EigenPool's lift (tgp's `EigenPoolLift`): X[v] = sum_{c, m} theta[v, m K + c] X'[b K + c, m F ..
/// (m+1) F], i.e. X_b = sum_m theta_b[:, m K .. (m+1) K] X'_b[:, m F .. (m+1) F].
/// Backward: dX'_b[:, m F ..] = theta_b[:, m K ..]^T dX_b (assigned); theta is a constant (dsel
/// untouched). Shapes: X' (B K) x (M F), X N x F. Cost O(N K M F). Thread-safe (const).
template <typename Scalar_>
class EigenLift {
 public:
  using Scalar = Scalar_;

  std::string_view name() const { return "EigenLift"; }

  void forward(const EigenSelection<Scalar>& sel, const ConstMatrixRef<Scalar>& x_pooled, Matrix<Scalar>& x_out) const {
    const Index nb = detail::num_graphs(sel), k = sel.s.cols(), modes = sel.modes;
    check(sel, x_pooled);
    const Index f = x_pooled.cols() / modes;
    x_out.setZero(sel.s.rows(), f);
    for (Index b = 0; b < nb; ++b) {
      if (sel.offsets[static_cast<std::size_t>(b) + 1] == sel.offsets[static_cast<std::size_t>(b)]) continue;  // empty graph
      auto xb = detail::graph_rows(x_out, sel.offsets, b);
      const auto tb = detail::graph_rows(sel.theta, sel.offsets, b);
      for (Index m = 0; m < modes; ++m) xb.noalias() += tb.middleCols(m * k, k) * x_pooled.block(b * k, m * f, k, f);
    }
  }

  void backward(const EigenSelection<Scalar>& sel, const ConstMatrixRef<Scalar>& x_pooled, const ConstMatrixRef<Scalar>& dx_out,
                Matrix<Scalar>& dx_pooled, Matrix<Scalar>& /*dsel*/) const {
    const Index nb = detail::num_graphs(sel), k = sel.s.cols(), modes = sel.modes;
    check(sel, x_pooled);
    const Index f = x_pooled.cols() / modes;
    GNNPOOL_CHECK(dx_out.rows() == sel.s.rows() && dx_out.cols() == f, shape_error, "EigenLift backward: dX is ",
                  detail::shape(dx_out.rows(), dx_out.cols()), ", expected ", detail::shape(sel.s.rows(), f));
    dx_pooled.setZero(x_pooled.rows(), x_pooled.cols());
    for (Index b = 0; b < nb; ++b) {
      // An empty graph's supernodes get no gradient; skipping it also keeps column blocks of a
      // selection without rows (null data) from being taken.
      if (sel.offsets[static_cast<std::size_t>(b) + 1] == sel.offsets[static_cast<std::size_t>(b)]) continue;
      const auto dxb = detail::graph_rows(dx_out, sel.offsets, b);
      const auto tb = detail::graph_rows(sel.theta, sel.offsets, b);
      for (Index m = 0; m < modes; ++m)
        dx_pooled.block(b * k, m * f, k, f).noalias() = tb.middleCols(m * k, k).transpose() * dxb;
    }
  }

 private:
  static void check(const EigenSelection<Scalar>& sel, const ConstMatrixRef<Scalar>& x_pooled) {
    GNNPOOL_CHECK(x_pooled.rows() == sel.num_supernodes() && sel.modes >= 1 && x_pooled.cols() % sel.modes == 0,
                  shape_error, "EigenLift: the pooled x is ", detail::shape(x_pooled.rows(), x_pooled.cols()),
                  " but the selection has ", sel.num_supernodes(), " supernodes and ", sel.modes, " modes");
  }
};

}  // namespace gnnpool

#endif
