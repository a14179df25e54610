#ifndef GNNPOOL_POOL_PINV_LIFT_HPP
#define GNNPOOL_POOL_PINV_LIFT_HPP

/// \file
/// `PseudoInverseLift`: unpooling through the Moore-Penrose pseudo-inverse of a soft assignment,
/// X ≈ (S^+)^T X' per graph (tgp's lift with `s_inv_op="inverse"`).

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/soft_kernels.hpp>

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <string_view>

namespace gnnpool {

/// Lift of a soft selection through S^+ instead of S^T: for graph b, with G = S_b^T S_b (K x K)
/// and its pseudo-inverse G^+ (S_b^+ = G^+ S_b^T),
///
/// Forward:  X_b = (S_b^+)^T X'_b = S_b G^+ X'_b. Where S_b has full column rank the sum reduce
///           undoes it: S_b^T X_b = G G^+ X'_b = X'_b (SoftLift's S X' does not).
/// Backward (Y = G^+ X'_b, Gbar = (S_b^T dX_b) X'_b^T, the gradient of G^+):
///           dX'_b = G^+ S_b^T dX_b (assigned);
///           dG = -G^+ Gbar G^+ + (I - G G^+) Gbar^T G^+ G^+ + G^+ G^+ Gbar^T (I - G^+ G)
///           (the derivative of the pseudo-inverse at constant rank; the last two terms vanish
///           for full rank);  dS_b += dX_b Y^T + S_b (dG + dG^T) (added).
/// G^+ comes from the eigendecomposition of G, eigenvalues below K eps lambda_max read as 0
/// (numpy's / torch's rule for the singular values of S_b, squared). tgp computes S^+ in float32
/// whatever the input dtype; gnnpool in the selection's Scalar.
/// Shapes: X' (B K) x F, X N x F. No cache (G^+ is recomputed in backward). Cost O(N K (K + F) +
/// B K^3) both ways. Thread-safe (const).
template <typename Scalar_>
class PseudoInverseLift {
 public:
  using Scalar = Scalar_;

  std::string_view name() const { return "PseudoInverseLift"; }

  void forward(const SoftSelection<Scalar>& sel, const ConstMatrixRef<Scalar>& x_pooled, Matrix<Scalar>& x_out) const {
    check(sel, x_pooled);
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    x_out.resize(sel.s.rows(), x_pooled.cols());
    for (Index b = 0; b < nb; ++b) {
      const auto sb = detail::graph_rows(sel.s, sel.offsets, b);
      const Matrix<Scalar> gp = pseudo_inverse(Matrix<Scalar>(sb.transpose() * sb));
      detail::graph_rows(x_out, sel.offsets, b).noalias() = sb * (gp * x_pooled.middleRows(b * k, k));
    }
  }

  /// ASSIGNS dx_pooled and ADDS dL/dS into dsel.
  void backward(const SoftSelection<Scalar>& sel, const ConstMatrixRef<Scalar>& x_pooled, const ConstMatrixRef<Scalar>& dx_out,
                Matrix<Scalar>& dx_pooled, Matrix<Scalar>& dsel) const {
    check(sel, x_pooled);
    GNNPOOL_CHECK(dx_out.rows() == sel.s.rows() && dx_out.cols() == x_pooled.cols(), shape_error,
                  "PseudoInverseLift backward: dX is ", detail::shape(dx_out.rows(), dx_out.cols()), ", expected ",
                  detail::shape(sel.s.rows(), x_pooled.cols()));
    GNNPOOL_CHECK(dsel.rows() == sel.s.rows() && dsel.cols() == sel.s.cols(), shape_error,
                  "PseudoInverseLift backward: dS is ", detail::shape(dsel.rows(), dsel.cols()), " but S is ",
                  detail::shape(sel.s.rows(), sel.s.cols()));
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    dx_pooled.resize(x_pooled.rows(), x_pooled.cols());
    const Matrix<Scalar> id = Matrix<Scalar>::Identity(k, k);
    for (Index b = 0; b < nb; ++b) {
      const auto sb = detail::graph_rows(sel.s, sel.offsets, b);
      const auto dxb = detail::graph_rows(dx_out, sel.offsets, b);
      const auto xp = x_pooled.middleRows(b * k, k);
      const Matrix<Scalar> g = sb.transpose() * sb;
      const Matrix<Scalar> gp = pseudo_inverse(g);
      const Matrix<Scalar> dy = sb.transpose() * dxb;  // K x F
      dx_pooled.middleRows(b * k, k).noalias() = gp * dy;
      const Matrix<Scalar> gbar = dy * xp.transpose();  // dL/dG^+
      const Matrix<Scalar> gpgp = gp * gp;
      const Matrix<Scalar> dg = -gp * gbar * gp + (id - g * gp) * gbar.transpose() * gpgp +
                                gpgp * gbar.transpose() * (id - gp * g);
      auto dsb = detail::graph_rows(dsel, sel.offsets, b);
      dsb.noalias() += dxb * (gp * xp).transpose();
      dsb.noalias() += sb * (dg + dg.transpose());
    }
  }

 private:
  static Matrix<Scalar> pseudo_inverse(const Matrix<Scalar>& g) {
    const Index k = g.rows();
    using Dense = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    const Eigen::SelfAdjointEigenSolver<Dense> eig(Dense((g + g.transpose()) / Scalar(2)));
    const Scalar top = eig.eigenvalues().cwiseAbs().maxCoeff();
    const Scalar cutoff = static_cast<Scalar>(k) * numeric<Scalar>::epsilon() * top;
    Eigen::Matrix<Scalar, Eigen::Dynamic, 1> inv(k);
    for (Index q = 0; q < k; ++q) inv[q] = eig.eigenvalues()[q] > cutoff ? Scalar(1) / eig.eigenvalues()[q] : Scalar(0);
    return eig.eigenvectors() * inv.asDiagonal() * eig.eigenvectors().transpose();
  }

  static void check(const SoftSelection<Scalar>& sel, const ConstMatrixRef<Scalar>& x_pooled) {
    GNNPOOL_CHECK(sel.offsets.size() >= 2 && sel.offsets.front() == 0 && sel.offsets.back() == sel.s.rows(),
                  invalid_argument, "PseudoInverseLift: the selection's offsets do not cover its ", sel.s.rows(), " rows");
    GNNPOOL_CHECK(x_pooled.rows() == sel.num_supernodes(), shape_error, "PseudoInverseLift: the pooled x has ",
                  x_pooled.rows(), " rows but the selection has ", sel.num_supernodes(), " supernodes");
  }
};

}  // namespace gnnpool

#endif
