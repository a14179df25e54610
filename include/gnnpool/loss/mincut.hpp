#ifndef GNNPOOL_LOSS_MINCUT_HPP
#define GNNPOOL_LOSS_MINCUT_HPP

/// \file
/// `MinCutLoss`: MinCutPool's relaxed normalised-cut loss -tr(S^T A S) / tr(S^T D S).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/soft_kernels.hpp>

#include <cmath>
#include <string_view>

namespace gnnpool {

/// Cut loss of MinCutPool (Bianchi et al. 2020; PyG's `mincut_loss`), mean over graphs:
///
///   L = (1/B) sum_b l_b,   l_b = -t_b / q_b,   t_b = tr(S_b^T A_b S_b) = sum_{(i,j) stored} A_ij <S_i, S_j>,
///   q_b = tr(S_b^T D_b S_b) = sum_i d_i |S_i|^2,   d_i = sum_j A_ij (row sums: PyG's D).
///
/// It uses the input A and the raw S^T A S, before any post-processing of the pooled adjacency.
/// Backward (g = dL/dl_b = w / B, w the upstream weight):
///   dS_i += g (-(A + A^T) S / q_b + 2 t_b d_i S_i / q_b^2)_i,
///   dA_ij += g (-<S_i, S_j> / q_b + t_b |S_i|^2 / q_b^2)   (the second term: d_i moves with A_ij).
///
/// Edgeless graphs (q_b = 0), deliberately unlike PyG (0/0 = NaN): l_b = 0 with zero gradient
/// (tgp adds 1e-8 to q_b, which gives the same 0). Empty graphs count as l_b = 0 in the mean.
/// The same holds for q_b below `numeric<Scalar>::tiny()` (1e-31 in float): l_b is invariant
/// under A -> cA, so its gradient in A grows like 1/q_b and would overflow past that point.
/// Above it, backward forms t_b / q_b and g / q_b before multiplying (never q_b^2, which
/// underflows in float for q_b < 1e-19 while q_b is not 0).
/// Analytic values: -1 for a one-hot S aligned with connected components and for uniform S.
///
/// Cost: O(E K + N K) both ways: one gather pass over the edges forward (dot products and
/// A S), one scatter backward. Cache: t_b, q_b, d, <S_i, S_j> per edge (E entries). Thread-safe (const).
template <typename Scalar_>
class MinCutLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    detail::QuadraticForm<Scalar> form;  ///< t_b, d_i, <S_i, S_j> per edge, A S
    Vector<Scalar> volume;               ///< q_b
  };

  explicit MinCutLoss(Scalar weight = Scalar(1)) : m_weight(weight) {}
  std::string_view name() const { return "mincut_loss"; }
  Scalar weight() const { return m_weight; }

  Scalar forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "MinCutLoss");
    const Index nb = detail::num_graphs(sel);
    cache.form.compute(in.adj, sel, /*degrees=*/true);
    cache.volume.setZero(nb);
    for (Index b = 0; b < nb; ++b)
      for (Index i = sel.offsets[static_cast<std::size_t>(b)]; i < sel.offsets[static_cast<std::size_t>(b) + 1]; ++i)
        cache.volume[b] += cache.form.degree[i] * sel.s.row(i).squaredNorm();
    Vector<Scalar> per_graph(nb);
    for (Index b = 0; b < nb; ++b)
      per_graph[b] = counts(cache.volume[b]) ? -cache.form.trace[b] / cache.volume[b] : Scalar(0);
    return detail::graph_mean(per_graph);
  }

  /// Adds dloss * dL/dA (stored entries) into din.adj and dloss * dL/dS into dsel.
  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar dloss,
                BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) const {
    const Index nb = detail::num_graphs(sel);
    const Scalar g = dloss / static_cast<Scalar>(nb);
    Vector<Scalar> alpha(nb), beta(nb);  // dl_b/dt_b and dl_b/dq_b, times g
    for (Index b = 0; b < nb; ++b) {
      const Scalar q = cache.volume[b];
      alpha[b] = counts(q) ? -g / q : Scalar(0);
      beta[b] = counts(q) ? (g / q) * (cache.form.trace[b] / q) : Scalar(0);  // g t / q^2, q^2 never formed
    }
    // q_b = sum_i d_i |S_i|^2: dS_i += 2 beta d_i S_i, and dd_i = beta |S_i|^2 for each entry of row i.
    Vector<Scalar> row_term(in.num_nodes());
    for (Index b = 0; b < nb; ++b)
      for (Index i = sel.offsets[static_cast<std::size_t>(b)]; i < sel.offsets[static_cast<std::size_t>(b) + 1]; ++i) {
        row_term[i] = beta[b] * sel.s.row(i).squaredNorm();
        dsel.row(i) += (Scalar(2) * beta[b] * cache.form.degree[i]) * sel.s.row(i);
      }
    detail::graph_quadratic_form_backward(in.adj, sel, cache.form, alpha, &row_term, dsel, din.adj);
  }

 private:
  /// Whether graph b's volume q_b is large enough to count (see the class comment).
  static bool counts(Scalar q) { return std::abs(q) >= numeric<Scalar>::tiny(); }

  Scalar m_weight;
};

}  // namespace gnnpool

#endif
