#ifndef GNNPOOL_REDUCE_SOFT_HPP
#define GNNPOOL_REDUCE_SOFT_HPP

/// \file
/// `SoftReduce`: X' = act(S^T X) per graph, the reduce step of MinCut, DiffPool and DMoN.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/column_sums.hpp>
#include <gnnpool/detail/soft_kernels.hpp>
#include <gnnpool/nn/activation.hpp>

#include <cmath>

namespace gnnpool {

/// Options of `SoftReduce`.
struct SoftReduceOptions {
  /// Applied to the pooled features: identity (MinCut, DiffPool, Spektral's DMoN) or selu
  /// (PyG's DMoNPooling and the original DMoN code).
  Activation activation = Activation::identity;
  /// Divide cluster k's features by its size c_k = sum_i S_ik (the original DMoN code's
  /// `(S / cluster_sizes)^T X`, a soft mean). Off: the soft sum S^T X (PyG, Spektral, tgp).
  bool cluster_mean = false;
};

/// Pooled features, graph by graph: for graph b with assignment S_b (n_b x K) and features
/// X_b (n_b x F),
///
///   M_b = S_b^T X_b,   Z_b = M_b / c_b (cluster_mean; c_bk = sum_i S_ik) or M_b,   X'_b = f(Z_b).
///
/// Backward (G = dL/dX'_b):  dZ = G ⊙ f'(Z);  dM_k = dZ_k / c_k;  dc_k = -<dZ_k, Z_k> / c_k;
///   dS_b += X_b dM^T + 1 dc^T (cluster_mean);  dX_b += S_b dM.   (dM = dZ without cluster_mean.)
/// A cluster of size c_k = 0 (only possible in an empty graph) pools to 0 with zero gradient.
/// A cluster a saturated softmax leaves almost empty (c_k ~ 1e-38 in float, ~1e-308 in double,
/// late in training) has dL/dS of order |X| / c_k, which overflows: the size is therefore
/// clamped from below at numeric<Scalar>::tiny() (1e-31 in float, 1e-292 in double),
/// Z_k = M_k / max(c_k, tiny). Below it the cluster's features go smoothly to 0 (M_k <= c_k
/// max|X|) and dL/dS stays below |dZ| |X| / tiny; above it nothing changes.
///
/// Output: x_out is (B K) x F, graph b's supernodes are rows b K .. (b+1) K; an empty graph
/// gives K zero rows (f(0) = 0 for every activation gnnpool offers except sigmoid: sigmoid(0)).
/// Cache: Z and f(Z) (only with an activation other than identity), c (only with cluster_mean).
/// Cost: O(N K F) both ways (one small GEMM per graph). Thread-safe (const).
template <typename Scalar_>
class SoftReduce {
 public:
  using Scalar = Scalar_;
  struct Cache {
    Matrix<Scalar> z;             ///< pre-activation pooled features (empty for identity)
    Matrix<Scalar> y;             ///< f(Z), what activation_backward reads (empty for identity)
    Vector<Scalar> cluster_size;  ///< c, B K entries (empty without cluster_mean)
    mutable Matrix<Scalar> dz;    ///< backward workspace (dL/dZ), reused between calls
  };

  explicit SoftReduce(SoftReduceOptions options = {}) : m_options(options) {}
  const SoftReduceOptions& options() const { return m_options; }

  void forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Matrix<Scalar>& x_out, Cache& cache) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "SoftReduce");
    GNNPOOL_CHECK(in.x.rows() == in.num_nodes(), shape_error, "SoftReduce: x has ", in.x.rows(),
                  " rows but the batch has ", in.num_nodes(), " nodes");
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    const bool act = m_options.activation != Activation::identity;
    Matrix<Scalar>& z = act ? cache.z : x_out;
    z.resize(nb * k, in.x.cols());
    detail::parallel_graphs(sel.offsets, [&](Index b_lo, Index b_hi) {
      for (Index b = b_lo; b < b_hi; ++b)
        detail::product_transpose_rows(detail::graph_rows(sel.s, sel.offsets, b), detail::graph_rows(in.x, in.offsets, b),
                                       z.middleRows(b * k, k));
    });
    if (m_options.cluster_mean) {
      cache.cluster_size.resize(nb * k);
      for (Index b = 0; b < nb; ++b)
        cache.cluster_size.segment(b * k, k) = detail::column_sums(detail::graph_rows(sel.s, sel.offsets, b)).transpose();
      for (Index r = 0; r < nb * k; ++r) z.row(r) *= inverse_size(cache.cluster_size[r]);
    } else {
      cache.cluster_size.resize(0);
    }
    if (act) {
      activation_forward<Scalar>(m_options.activation, z, x_out);
      cache.y = x_out;  // backward needs f(Z); a copy is cheaper than evaluating f again
    } else {
      cache.z.resize(0, 0);
      cache.y.resize(0, 0);
    }
  }

  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache,
                const ConstMatrixRef<Scalar>& dx_out, BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) const {
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    GNNPOOL_CHECK(dx_out.rows() == nb * k && dx_out.cols() == in.x.cols(), shape_error,
                  "SoftReduce backward: dX' is ", detail::shape(dx_out.rows(), dx_out.cols()), ", expected ",
                  detail::shape(nb * k, in.x.cols()));
    const bool act = m_options.activation != Activation::identity;
    if (act) activation_backward<Scalar>(m_options.activation, cache.z, cache.y, dx_out, cache.dz);
    const ConstMatrixRef<Scalar> dz = act ? ConstMatrixRef<Scalar>(cache.dz) : dx_out;
    if (m_options.cluster_mean) {
      // z = M / c, so dM = dZ / c and dc = -<dZ, Z> / c = -<dZ, M> / c^2.
      const Matrix<Scalar> z_pooled = pooled_pre_activation(in, sel, cache);
      Matrix<Scalar> dmean(nb * k, in.x.cols());
      Vector<Scalar> dc(nb * k);
      for (Index r = 0; r < nb * k; ++r) {
        const Scalar inv = inverse_size(cache.cluster_size[r]);
        dmean.row(r) = dz.row(r) * inv;
        // A clamped size is a constant: no gradient through it.
        dc[r] = clamped(cache.cluster_size[r]) ? Scalar(0) : -dz.row(r).dot(z_pooled.row(r)) * inv;
      }
      accumulate(in, sel, dmean, din, dsel);
      for (Index b = 0; b < nb; ++b)
        detail::graph_rows(dsel, sel.offsets, b).rowwise() += dc.segment(b * k, k).transpose();
    } else {
      accumulate(in, sel, dz, din, dsel);
    }
  }

 private:
  /// 1 / max(c, tiny) for a cluster size c (see the class comment); 0 for c = 0 (an empty
  /// graph, whose M is 0 anyway).
  static Scalar inverse_size(Scalar c) {
    if (c == Scalar(0)) return Scalar(0);
    return Scalar(1) / (clamped(c) ? std::copysign(numeric<Scalar>::tiny(), c) : c);
  }
  static bool clamped(Scalar c) { return c != Scalar(0) && std::abs(c) < numeric<Scalar>::tiny(); }

  /// Z (after the cluster mean, before the activation): cached when there is an activation,
  /// recomputed otherwise (identity + cluster_mean keeps no copy of X').
  Matrix<Scalar> pooled_pre_activation(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel,
                                       const Cache& cache) const {
    if (m_options.activation != Activation::identity) return cache.z;
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    Matrix<Scalar> z(nb * k, in.x.cols());
    detail::parallel_graphs(sel.offsets, [&](Index b_lo, Index b_hi) {
      for (Index b = b_lo; b < b_hi; ++b)
        detail::product_transpose_rows(detail::graph_rows(sel.s, sel.offsets, b), detail::graph_rows(in.x, in.offsets, b),
                                       z.middleRows(b * k, k));
    });
    for (Index r = 0; r < nb * k; ++r) z.row(r) *= inverse_size(cache.cluster_size[r]);
    return z;
  }

  /// dS_b += X_b dM_b^T and dX_b += S_b dM_b for every graph.
  static void accumulate(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Matrix<Scalar>& dm,
                         BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) {
    const Index k = sel.s.cols();
    detail::parallel_graphs(sel.offsets, [&](Index b_lo, Index b_hi) {
      for (Index b = b_lo; b < b_hi; ++b) {
        const auto dmb = dm.middleRows(b * k, k);
        detail::product_rows(detail::graph_rows(in.x, in.offsets, b), dmb.transpose(), detail::graph_rows(dsel, sel.offsets, b),
                             true);
        detail::product_rows(detail::graph_rows(sel.s, sel.offsets, b), dmb, detail::graph_rows(din.x, in.offsets, b), true);
      }
    });
  }

  SoftReduceOptions m_options;
};

}  // namespace gnnpool

#endif
