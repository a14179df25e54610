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
/// (tgp adds eps = 1e-8 to q_b, which gives the same 0; `denominator_eps` reproduces tgp on
/// every graph). Empty graphs count as l_b = 0 in the mean.
/// The same holds for q_b + eps below `numeric<Scalar>::tiny()` (1e-31 in float): l_b is
/// invariant under A -> cA, so its gradient in A grows like 1/q_b and would overflow past that
/// point. Above it, backward forms t_b / q_b and g / q_b before multiplying (never q_b^2, which
/// underflows in float for q_b < 1e-19 while q_b is not 0).
/// Analytic values: -1 for a one-hot S aligned with connected components and for uniform S.
///
/// Cost: O(E K + N K) both ways: one gather pass over the edges forward (A S), one scatter
/// backward, and one dot pass over the edges only when dA is asked for. Cache: t_b, q_b, d,
/// A S. Thread-safe (const).
template <typename Scalar_>
class MinCutLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    detail::NormalizedCut<Scalar> cut;  ///< t_b, q_b, d_i, A S
  };

  /// `denominator_eps`: added to q_b (0: PyG; tgp adds 1e-8, `tgp_constants::eps`).
  explicit MinCutLoss(Scalar weight = Scalar(1), Scalar denominator_eps = Scalar(0))
      : m_weight(weight), m_eps(denominator_eps) {
    GNNPOOL_CHECK(std::isfinite(denominator_eps) && denominator_eps >= Scalar(0), invalid_argument,
                  "MinCutLoss: the denominator eps must be finite and >= 0, got ", denominator_eps);
  }
  std::string_view name() const { return "mincut_loss"; }
  Scalar weight() const { return m_weight; }

  /// `adjacency_product`: A S of this batch and selection when the caller has it (the connect of
  /// the same `Pool`); otherwise the loss forms it.
  Scalar forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache,
                 const Matrix<Scalar>* adjacency_product = nullptr) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "MinCutLoss");
    cache.cut.forward(in.adj, sel, m_eps, adjacency_product);
    return detail::graph_mean(cache.cut.value);
  }

  /// Adds dloss * dL/dA (stored entries) into din.adj and dloss * dL/dS into dsel. `deferred`
  /// (N x K): the rows to scatter through A^T are added there and the caller scatters them (`Pool`).
  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar dloss,
                BatchGrad<Scalar>& din, Matrix<Scalar>& dsel, Matrix<Scalar>* deferred = nullptr) const {
    const Index nb = detail::num_graphs(sel);
    const Vector<Scalar> w = Vector<Scalar>::Constant(nb, dloss / static_cast<Scalar>(nb));
    cache.cut.backward(in.adj, sel, w, m_eps, dsel, din.adj_needed ? &din.adj : nullptr, deferred);
  }

 private:
  Scalar m_weight;
  Scalar m_eps;
};

}  // namespace gnnpool

#endif
