#ifndef GNNPOOL_LOSS_LINK_HPP
#define GNNPOOL_LOSS_LINK_HPP

/// \file
/// `LinkLoss`: DiffPool's link-prediction loss ||A - S S^T||_F, evaluated without forming S S^T.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/soft_kernels.hpp>

#include <algorithm>
#include <cmath>
#include <string_view>

namespace gnnpool {

/// How `LinkLoss` combines and normalises the per-graph residuals E_b = ||A_b - S_b S_b^T||_F^2.
enum class LinkLossNormalization {
  /// sqrt(sum_b E_b) / (B Nmax^2): PyG's `dense_diff_pool(normalize=True)` (its default): one
  /// Frobenius norm over the padded [B, Nmax, Nmax] tensor divided by its numel. Nmax is the
  /// largest graph of the batch unless `LinkLossOptions::padded_size` says otherwise.
  pyg,
  /// sqrt(sum_b E_b): PyG's `normalize=False`, tgp's default.
  none,
  /// sqrt(sum_b E_b) / sum_b n_b^2: tgp's `normalize_loss=True`.
  total_pairs,
  /// (1/B) sum_b sqrt(E_b): one norm per graph, batch mean (Spektral / SRC).
  per_graph,
  /// (1/B) sum_b sqrt(E_b) / n_b^2: per graph and per pair (DGL's example).
  per_graph_pairs,
};

struct LinkLossOptions {
  LinkLossNormalization normalization = LinkLossNormalization::pyg;
  /// The padded size Nmax of `pyg`; 0 = the largest graph of the batch (PyG's to_dense_batch).
  Index padded_size = 0;
};

/// DiffPool's link-prediction loss (Ying et al. 2018; PyG's `link_loss`), from a sparse A in
/// O(E K + N K^2):
///
///   E_b = ||A_b - S_b S_b^T||_F^2 = ||A_b||_F^2 - 2 t_b + ||S_b^T S_b||_F^2,
///   t_b = <A_b, S_b S_b^T> = sum_{(i,j) stored} A_ij <S_i, S_j>,
///
/// then combined by `LinkLossNormalization`. The identity is exact, so no n_b x n_b matrix is
/// formed; rounding can make E_b slightly negative when A = S S^T, so it is clamped at 0.
///
/// Backward (gamma_b = dL/dE_b, e.g. w / (2 sqrt(E) B Nmax^2) for `pyg`):
///   dS_b += gamma_b (4 S_b (S_b^T S_b) - 2 (A + A^T) S_b),   dA_ij += gamma_b (2 A_ij - 2 <S_i, S_j>).
/// The norm is not differentiable at 0: there (A = S S^T exactly) the zero subgradient is used.
/// dL/dA is returned on the stored entries only; an absent pair (i, j) would get
/// -2 gamma_b <S_i, S_j> (store explicit zeros, e.g. with `from_dense_batch`, to get it).
/// Empty graphs contribute E_b = 0 (and 0 in the per-graph means).
///
/// Cost: O(E K + N K^2) both ways: one gather pass over the edges forward (A S), one scatter
/// backward, and one dot pass over the edges only when dA is asked for. Cache: E_b, S_b^T S_b,
/// A S. Thread-safe (const).
template <typename Scalar_>
class LinkLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    detail::QuadraticForm<Scalar> form;  ///< t_b, A S
    Vector<Scalar> residual;             ///< E_b
    Matrix<Scalar> gram;                 ///< S_b^T S_b stacked, (B K) x K
    Scalar value = 0;
  };

  explicit LinkLoss(Scalar weight = Scalar(1), LinkLossOptions options = {}) : m_weight(weight), m_options(options) {
    GNNPOOL_CHECK(options.padded_size >= 0, invalid_argument, "LinkLoss: padded_size must be >= 0, got ",
                  options.padded_size);
  }
  std::string_view name() const { return "link_loss"; }
  Scalar weight() const { return m_weight; }
  const LinkLossOptions& options() const { return m_options; }

  /// `adjacency_product`: A S of this batch and selection when the caller has it (the connect of
  /// the same `Pool`); otherwise the loss forms it.
  Scalar forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache,
                 const Matrix<Scalar>* adjacency_product = nullptr) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "LinkLoss");
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    cache.form.compute(in.adj, sel, /*degrees=*/false, adjacency_product);
    const Vector<Scalar>& t = cache.form.trace;
    detail::graph_gram(sel, cache.gram);
    cache.residual.resize(nb);
    const Scalar* val = in.adj.valuePtr();
    const StorageIndex* outer = in.adj.outerIndexPtr();
    for (Index b = 0; b < nb; ++b) {
      Scalar a2(0);
      for (StorageIndex p = outer[in.graph_begin(b)]; p < outer[in.graph_begin(b + 1)]; ++p) a2 += val[p] * val[p];
      cache.residual[b] = std::max(Scalar(0), a2 - Scalar(2) * t[b] + cache.gram.middleRows(b * k, k).squaredNorm());
    }
    Vector<Scalar> coef = combine_coefficients(sel);
    if (per_graph()) {
      Scalar sum(0);
      for (Index b = 0; b < nb; ++b) sum += coef[b] * std::sqrt(cache.residual[b]);
      cache.value = sum;
    } else {
      cache.value = coef[0] * std::sqrt(cache.residual.sum());
    }
    return cache.value;
  }

  /// `deferred` (N x K): the rows to scatter through A^T are added there and the caller scatters
  /// them (`Pool`).
  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar dloss,
                BatchGrad<Scalar>& din, Matrix<Scalar>& dsel, Matrix<Scalar>* deferred = nullptr) const {
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    const Vector<Scalar> coef = combine_coefficients(sel);
    Vector<Scalar> gamma = Vector<Scalar>::Zero(nb);  // dL/dE_b
    if (per_graph()) {
      for (Index b = 0; b < nb; ++b)
        if (cache.residual[b] > Scalar(0)) gamma[b] = dloss * coef[b] / (Scalar(2) * std::sqrt(cache.residual[b]));
    } else {
      const Scalar total = cache.residual.sum();
      if (total > Scalar(0)) gamma.setConstant(dloss * coef[0] / (Scalar(2) * std::sqrt(total)));
    }
    const Vector<Scalar> alpha = Scalar(-2) * gamma;
    detail::graph_quadratic_form_backward<Scalar>(in.adj, sel, cache.form, alpha, nullptr, dsel,
                                                  din.adj_needed ? &din.adj : nullptr, deferred);
    const Scalar* val = in.adj.valuePtr();
    const StorageIndex* outer = in.adj.outerIndexPtr();
    for (Index b = 0; b < nb; ++b) {
      if (gamma[b] == Scalar(0)) continue;
      if (din.adj_needed)
        for (StorageIndex p = outer[in.graph_begin(b)]; p < outer[in.graph_begin(b + 1)]; ++p)
          din.adj[p] += Scalar(2) * gamma[b] * val[p];
      detail::graph_rows(dsel, sel.offsets, b).noalias() +=
          (Scalar(4) * gamma[b]) * detail::graph_rows(sel.s, sel.offsets, b) * cache.gram.middleRows(b * k, k);
    }
  }

 private:
  bool per_graph() const {
    return m_options.normalization == LinkLossNormalization::per_graph ||
           m_options.normalization == LinkLossNormalization::per_graph_pairs;
  }

  /// Per-graph forms: L = sum_b coef_b sqrt(E_b). Batch forms: L = coef_0 sqrt(sum_b E_b).
  Vector<Scalar> combine_coefficients(const SoftSelection<Scalar>& sel) const {
    const Index nb = detail::num_graphs(sel);
    auto size = [&](Index b) {
      return static_cast<Scalar>(sel.offsets[static_cast<std::size_t>(b) + 1] - sel.offsets[static_cast<std::size_t>(b)]);
    };
    Vector<Scalar> c = Vector<Scalar>::Ones(nb);
    switch (m_options.normalization) {
      case LinkLossNormalization::pyg: {
        const Index largest = size_max(sel);
        const Index nmax = m_options.padded_size > 0 ? m_options.padded_size : largest;
        GNNPOOL_CHECK(nmax >= largest, invalid_argument, "LinkLoss: padded_size ", nmax,
                      " is smaller than the largest graph of the batch (", largest, " nodes)");
        const Scalar numel = static_cast<Scalar>(nb) * static_cast<Scalar>(nmax) * static_cast<Scalar>(nmax);
        c.setConstant(numel > Scalar(0) ? Scalar(1) / numel : Scalar(0));
        break;
      }
      case LinkLossNormalization::none: break;
      case LinkLossNormalization::total_pairs: {
        Scalar pairs(0);
        for (Index b = 0; b < nb; ++b) pairs += size(b) * size(b);
        c.setConstant(pairs > Scalar(0) ? Scalar(1) / pairs : Scalar(0));
        break;
      }
      case LinkLossNormalization::per_graph: c.setConstant(Scalar(1) / static_cast<Scalar>(nb)); break;
      case LinkLossNormalization::per_graph_pairs:
        for (Index b = 0; b < nb; ++b)
          c[b] = size(b) > Scalar(0) ? Scalar(1) / (static_cast<Scalar>(nb) * size(b) * size(b)) : Scalar(0);
        break;
    }
    return c;
  }

  static Index size_max(const SoftSelection<Scalar>& sel) {
    Index m = 0;
    for (std::size_t b = 0; b + 1 < sel.offsets.size(); ++b) m = std::max(m, sel.offsets[b + 1] - sel.offsets[b]);
    return m;
  }

  Scalar m_weight;
  LinkLossOptions m_options;
};

}  // namespace gnnpool

#endif
