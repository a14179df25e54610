#ifndef GNNPOOL_LOSS_ORTHOGONALITY_HPP
#define GNNPOOL_LOSS_ORTHOGONALITY_HPP

/// \file
/// `OrthogonalityLoss`: || S^T S / ||S^T S||_F - I / sqrt(K) ||_F, MinCut's and DMoN's `ortho_loss`.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/soft_kernels.hpp>

#include <cmath>
#include <string_view>

namespace gnnpool {

/// Orthogonality regulariser of MinCutPool (also returned by PyG's DMoNPooling), mean over graphs:
///
///   P_b = S_b^T S_b (K x K),  n_b = ||P_b||_F,  Q_b = P_b / n_b - I / sqrt(K),  l_b = ||Q_b||_F.
///
/// Backward (g = w / B): G = Q / l_b;  dP = g (G - <G, P> P / n^2) / n;  dS_b += 2 S_b dP (P and
/// dP are symmetric). Needs no adjacency: din is left untouched.
///
/// l_b is in [0, sqrt(2 - 2/sqrt(K))]: 0 for a balanced one-hot S, the maximum for a uniform S.
/// Degenerate graphs, deliberately unlike PyG (NaN): an empty graph (P = 0) counts as l_b = 0,
/// and l_b = 0 exactly (where ||.||_F is not differentiable) gets the zero subgradient.
///
/// Cost: O(N K^2) both ways. Cache: P_b, n_b, l_b. Thread-safe (const).
template <typename Scalar_>
class OrthogonalityLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    Matrix<Scalar> gram;      ///< P_b stacked, (B K) x K
    Vector<Scalar> norm;      ///< n_b
    Vector<Scalar> value;     ///< l_b
  };

  explicit OrthogonalityLoss(Scalar weight = Scalar(1)) : m_weight(weight) {}
  std::string_view name() const { return "ortho_loss"; }
  Scalar weight() const { return m_weight; }

  Scalar forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "OrthogonalityLoss");
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    const Scalar inv_sqrt_k = Scalar(1) / std::sqrt(static_cast<Scalar>(k));
    detail::graph_gram(sel, cache.gram);
    cache.norm.resize(nb);
    cache.value.resize(nb);
    for (Index b = 0; b < nb; ++b) {
      const auto p = cache.gram.middleRows(b * k, k);
      cache.norm[b] = p.norm();
      if (cache.norm[b] == Scalar(0)) {
        cache.value[b] = Scalar(0);
        continue;
      }
      Matrix<Scalar> q = p / cache.norm[b];
      q.diagonal().array() -= inv_sqrt_k;
      cache.value[b] = q.norm();
    }
    return detail::graph_mean(cache.value);
  }

  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar dloss,
                BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) const {
    (void)in, (void)din;
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    const Scalar g = dloss / static_cast<Scalar>(nb);
    const Scalar inv_sqrt_k = Scalar(1) / std::sqrt(static_cast<Scalar>(k));
    for (Index b = 0; b < nb; ++b) {
      const Scalar n = cache.norm[b], l = cache.value[b];
      if (n == Scalar(0) || l == Scalar(0)) continue;
      const auto p = cache.gram.middleRows(b * k, k);
      Matrix<Scalar> gq = p / n;
      gq.diagonal().array() -= inv_sqrt_k;
      gq /= l;  // dl/dQ
      const Matrix<Scalar> dp = (g / n) * (gq - (gq.cwiseProduct(p).sum() / (n * n)) * p);
      detail::graph_rows(dsel, sel.offsets, b).noalias() += Scalar(2) * detail::graph_rows(sel.s, sel.offsets, b) * dp;
    }
  }

 private:
  Scalar m_weight;
};

}  // namespace gnnpool

#endif
