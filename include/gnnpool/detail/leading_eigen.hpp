#ifndef GNNPOOL_DETAIL_LEADING_EIGEN_HPP
#define GNNPOOL_DETAIL_LEADING_EIGEN_HPP

/// \file
/// The k largest eigenpairs of a large sparse symmetric matrix whose spectrum lies in
/// [lower, upper], by Chebyshev-filtered subspace iteration (Zhou & Saad, "A Chebyshev-Davidson
/// algorithm for large symmetric eigenproblems", 2007; the filter of their CheFSI): no random
/// start and no external eigensolver, so the same matrix gives the same vectors everywhere.
///
/// Each iteration applies the degree-d Chebyshev polynomial of M mapped onto [lower, cut] to a
/// block of p = k + extra orthonormal vectors (|T_d| <= 1 on the unwanted interval, growing fast
/// above it, so the wanted directions are amplified), orthonormalises the block and takes the
/// Rayleigh-Ritz pairs; `cut` is the block's smallest Ritz value. It stops when the k wanted
/// residuals |M v - theta v| are at most `tolerance` or after `max_iterations`. Cost per
/// iteration: (d + 1) sparse products with p columns, O((d + 1) nnz p + n p^2).

#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/types.hpp>
#include <gnnpool/detail/propagate.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <Eigen/SparseCore>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>

namespace gnnpool {

/// Settings of the Chebyshev-filtered subspace iteration (`detail::leading_eigenpairs`).
struct SubspaceEigenOptions {
  Index extra = 8;            ///< block vectors beyond the k wanted (>= 0)
  Index degree = 8;           ///< Chebyshev filter degree per iteration (>= 1)
  Index max_iterations = 20;  ///< filter iterations at most (>= 0)
  double tolerance = 1e-8;    ///< residual |M v - theta v| of every wanted pair (unit v)
};

}  // namespace gnnpool

namespace gnnpool::detail {

/// A block of vectors, row-major: a sparse row times the block is one contiguous axpy per entry.
using EigenBlock = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct LeadingEigenResult {
  Eigen::MatrixXd vectors;  ///< n x k, orthonormal, eigenvalues descending
  Eigen::VectorXd values;   ///< k, descending
  Index iterations = 0;
  double residual = 0;      ///< the largest wanted residual at the end
  bool converged = false;
};

/// y = M x: the A X gather of the graph layers (rows in parallel, each written once).
inline void sparse_times_block(const Eigen::SparseMatrix<double, Eigen::RowMajor>& m, const EigenBlock& x, EigenBlock& y) {
  propagate<double>(m, m.valuePtr(), nullptr, x, y);
}

/// Orthonormalises the columns of x (n x p, n >= p): Cholesky QR twice (two GEMMs and a
/// triangular solve each), Householder QR when the Gram matrix is not numerically definite.
inline void orthonormalize_columns(EigenBlock& x) {
  for (int pass = 0; pass < 2; ++pass) {
    const Eigen::MatrixXd gram = x.transpose() * x;
    const Eigen::LLT<Eigen::MatrixXd> llt(gram);
    // The diagonal of the Cholesky factor bounds the block's condition: far below 1e6, one more
    // pass restores orthogonality to rounding; beyond it, Householder.
    const Eigen::VectorXd ld = llt.matrixLLT().diagonal();
    if (llt.info() != Eigen::Success || !(ld.minCoeff() > 1e-6 * ld.maxCoeff())) {
      const Eigen::HouseholderQR<Eigen::MatrixXd> qr{Eigen::MatrixXd(x)};
      x = qr.householderQ() * Eigen::MatrixXd::Identity(x.rows(), x.cols());
      return;
    }
    llt.matrixU().solveInPlace<Eigen::OnTheRight>(x);
  }
}

/// The k largest eigenpairs of the symmetric matrix m (n x n, 1 <= k <= n) whose eigenvalues lie
/// in [lower, upper]. Starts from the fixed cosine block cos(pi r (i + 1/2) / n), r = 0 .. p - 1.
inline LeadingEigenResult leading_eigenpairs(const Eigen::SparseMatrix<double, Eigen::RowMajor>& m, Index k, double lower,
                                             double upper, const SubspaceEigenOptions& options = {}) {
  const Index n = m.rows(), p = std::min(n, k + std::max<Index>(options.extra, 0));
  EigenBlock x(n, p), w, y0, y1, y2;
  for (Index r = 0; r < p; ++r)
    for (Index i = 0; i < n; ++i)
      x(i, r) = std::cos(std::numbers::pi * static_cast<double>(r) * (static_cast<double>(i) + 0.5) / static_cast<double>(n));
  orthonormalize_columns(x);
  LeadingEigenResult out;
  Eigen::VectorXd theta;
  // Rayleigh-Ritz on the block x: x, w = M x and theta become the Ritz pairs, descending.
  auto rayleigh_ritz = [&] {
    sparse_times_block(m, x, w);
    Eigen::MatrixXd h = x.transpose() * w;
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(Eigen::MatrixXd((h + h.transpose()) / 2));
    const Eigen::MatrixXd v = eig.eigenvectors().rowwise().reverse();
    theta = eig.eigenvalues().reverse();
    x = x * v;
    w = w * v;
    out.residual = 0;
    for (Index r = 0; r < k; ++r) out.residual = std::max(out.residual, (w.col(r) - theta[r] * x.col(r)).norm());
  };
  rayleigh_ritz();
  const double span = std::max(upper - lower, 1e-300);
  while (out.residual > options.tolerance && out.iterations < options.max_iterations && p < n) {
    ++out.iterations;
    // The unwanted interval [lower, cut]: below the block's smallest Ritz value, kept off lower.
    const double cut = std::clamp(theta[p - 1], lower + 1e-3 * span, upper);
    const double e = (cut - lower) / 2, c = (cut + lower) / 2;
    y0 = x;
    sparse_times_block(m, x, y1);
    y1 = (y1 - c * x) / e;
    for (Index d = 2; d <= options.degree; ++d) {
      sparse_times_block(m, y1, y2);
      y2 = (2 / e) * (y2 - c * y1) - y0;
      // Keep the magnitudes in range (a common scale does not change the spanned space).
      const double big = y2.cwiseAbs().maxCoeff();
      if (big > 1e100) y2 /= big, y1 /= big;
      std::swap(y0, y1);
      std::swap(y1, y2);
    }
    x = options.degree >= 1 ? y1 : x;
    orthonormalize_columns(x);
    rayleigh_ritz();
  }
  out.converged = out.residual <= options.tolerance || p == n;
  out.vectors = x.leftCols(k);
  out.values = theta.head(k);
  return out;
}

}  // namespace gnnpool::detail

#endif
