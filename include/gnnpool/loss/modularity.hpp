#ifndef GNNPOOL_LOSS_MODULARITY_HPP
#define GNNPOOL_LOSS_MODULARITY_HPP

/// \file
/// `ModularityLoss`: DMoN's spectral loss, minus the soft modularity of S.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/soft_kernels.hpp>

#include <cmath>
#include <string_view>

namespace gnnpool {

/// Spectral (modularity) loss of DMoN (Tsitsulin et al. 2023) in PyG's / tgp's convention,
/// mean over graphs:
///
///   d_i = sum_j A_ij,  c_b = 2 m_b = sum_{i in b} d_i,  u_b = S_b^T d_b (K),  t_b = tr(S_b^T A_b S_b),
///   l_b = -(t_b - |u_b|^2 / c_b) / c_b = -Q_b   (Q: the modularity of the soft partition).
///
/// Backward (g = w / B):
///   dS_i += g (-(A + A^T) S / c_b + 2 d_i u_b / c_b^2)_i,
///   dA_ij += g (-<S_i, S_j> / c_b + 2 <S_i, u_b> / c_b^2 + t_b / c_b^2 - 2 |u_b|^2 / c_b^3)
///   (the last three terms: A_ij moves d_i, hence u_b and c_b).
///
/// Other conventions: the original DMoN code and Spektral use the edge count 2 E_2 = 2 c_b
/// (or nnz(A)) in place of 2m, which scales the null model by 1/2; their values are not
/// comparable with this one. A graph without edges (c_b = 0) gives l_b = 0 with zero gradient
/// (tgp's choice; PyG divides by 0), and so does c_b below `numeric<Scalar>::tiny()` (1e-31 in
/// float), where the gradient, of order 1/c_b (l_b is invariant under A -> cA), would overflow.
/// Every term is computed from u_b / c_b and t_b / c_b, which stay in [0, 1] for A >= 0, so
/// nothing forms c_b^2 or c_b^3 (they underflow in float for tiny positive weights). Values: 0 for a uniform S; -(1 - sum_c (vol_c / vol)^2) for
/// a one-hot S aligned with the connected components.
///
/// Cost: O(E K + N K) both ways: one gather pass over the edges forward (A S), one scatter
/// backward, and one dot pass over the edges only when dA is asked for. Cache: d, c_b, t_b, u_b,
/// A S. Thread-safe (const).
template <typename Scalar_>
class ModularityLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    detail::QuadraticForm<Scalar> form;  ///< t_b, d_i, A S
    Vector<Scalar> volume;               ///< c_b = 2 m_b
    Matrix<Scalar> pooled_degree;        ///< u_b as B x K
  };

  explicit ModularityLoss(Scalar weight = Scalar(1)) : m_weight(weight) {}
  std::string_view name() const { return "spectral_loss"; }
  Scalar weight() const { return m_weight; }

  /// `adjacency_product`: A S of this batch and selection when the caller has it (the connect of
  /// the same `Pool`); otherwise the loss forms it.
  Scalar forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache,
                 const Matrix<Scalar>* adjacency_product = nullptr) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "ModularityLoss");
    const Index nb = detail::num_graphs(sel);
    cache.form.compute(in.adj, sel, /*degrees=*/true, adjacency_product);
    cache.pooled_degree = detail::graph_weighted_column_sums(sel, &cache.form.degree);
    cache.volume.resize(nb);
    Vector<Scalar> per_graph(nb);
    for (Index b = 0; b < nb; ++b) {
      const Scalar c = detail::graph_rows(cache.form.degree, sel.offsets, b).sum();
      cache.volume[b] = c;
      per_graph[b] = counts(c) ? -cache.form.trace[b] / c + (cache.pooled_degree.row(b) / c).squaredNorm() : Scalar(0);
    }
    return detail::graph_mean(per_graph);
  }

  /// `deferred` (N x K): the rows to scatter through A^T are added there and the caller scatters
  /// them (`Pool`).
  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar dloss,
                BatchGrad<Scalar>& din, Matrix<Scalar>& dsel, Matrix<Scalar>* deferred = nullptr) const {
    const Index nb = detail::num_graphs(sel);
    const Scalar g = dloss / static_cast<Scalar>(nb);
    Vector<Scalar> alpha = Vector<Scalar>::Zero(nb);
    Vector<Scalar> row_term = Vector<Scalar>::Zero(in.num_nodes());
    for (Index b = 0; b < nb; ++b) {
      const Scalar c = cache.volume[b];
      if (!counts(c)) continue;
      // With u^ = u / c and t^ = t / c (both O(1)) and h = g / c:
      //   dS_i += -h (A + A^T) S + 2 h d_i u^,   dA_ij += h (-<S_i, S_j> + 2 <S_i, u^> + t^ - 2 |u^|^2).
      const Vector<Scalar> uh = cache.pooled_degree.row(b).transpose() / c;
      const Scalar h = g / c, th = cache.form.trace[b] / c;
      alpha[b] = -h;
      const Scalar dc = h * (th - Scalar(2) * uh.squaredNorm());  // through c_b
      for (Index i = sel.offsets[static_cast<std::size_t>(b)]; i < sel.offsets[static_cast<std::size_t>(b) + 1]; ++i) {
        row_term[i] = h * Scalar(2) * sel.s.row(i).dot(uh.transpose()) + dc;
        dsel.row(i) += (Scalar(2) * h * cache.form.degree[i]) * uh.transpose();
      }
    }
    detail::graph_quadratic_form_backward(in.adj, sel, cache.form, alpha, &row_term, dsel,
                                          din.adj_needed ? &din.adj : nullptr, deferred);
  }

 private:
  /// Whether graph b's volume c_b is large enough to count (see the class comment).
  static bool counts(Scalar c) { return std::abs(c) >= numeric<Scalar>::tiny(); }

  Scalar m_weight;
};

}  // namespace gnnpool

#endif
