#ifndef GNNPOOL_POOL_EXPRESSIVE_HPP
#define GNNPOOL_POOL_EXPRESSIVE_HPP

/// \file
/// `is_expressive`: the selection condition of Bianchi & Lachi ("The expressive power of pooling
/// in graph neural networks", NeurIPS 2023; tgp's `SelectOutput.is_expressive`): every row of S
/// sums to the same non-zero constant.

#include <gnnpool/core/selection.hpp>
#include <gnnpool/core/sparse_selection.hpp>
#include <gnnpool/core/types.hpp>

#include <cmath>

namespace gnnpool {

/// Tolerances of the comparison: torch.allclose's defaults (tgp's check).
struct ExpressivenessOptions {
  double rtol = 1e-5;
  double atol = 1e-8;
};

/// Row sums of S, one per input node: w_i (0 for a dropped node) for a `HardSelection`, the
/// row of s for a `SoftSelection`, sum over the supernodes c containing i of C_ic scale_c for a
/// `SparseSelection`. O(N K) for a soft selection, O(N + nnz) otherwise.
template <typename Scalar>
Vector<Scalar> selection_row_sums(const HardSelection<Scalar>& sel) {
  Vector<Scalar> r = Vector<Scalar>::Zero(sel.num_nodes());
  for (Index i = 0; i < sel.num_nodes(); ++i)
    if (sel.assignment[static_cast<std::size_t>(i)] != HardSelection<Scalar>::dropped) r[i] = sel.weight[i];
  return r;
}
template <typename Scalar>
Vector<Scalar> selection_row_sums(const SoftSelection<Scalar>& sel) {
  Vector<Scalar> r(sel.s.rows());
  for (Index i = 0; i < sel.s.rows(); ++i) r[i] = sel.s.row(i).sum();
  return r;
}
template <typename Scalar>
Vector<Scalar> selection_row_sums(const SparseSelection<Scalar>& sel) {
  Vector<Scalar> r = Vector<Scalar>::Zero(sel.num_nodes());
  for (Index c = 0; c < sel.num_supernodes(); ++c)
    for (StorageIndex e = sel.start[static_cast<std::size_t>(c)]; e < sel.start[static_cast<std::size_t>(c) + 1]; ++e)
      r[sel.node[static_cast<std::size_t>(e)]] += sel.weight[e] * sel.scale(c);
  return r;
}

/// Whether the rows of S all sum to one non-zero constant lambda (condition 2 of Bianchi &
/// Lachi: with expressive message passing before it and a reduce S^T X, such a pooler keeps two
/// 1-WL-distinguishable graphs distinguishable). As tgp: lambda is the first row's sum, every
/// row r must satisfy |r - lambda| <= atol + rtol |lambda|, and |lambda| > atol (torch.allclose
/// against 0 fails). An empty selection is not expressive.
///
/// It is a property of one selection, so of one pooler's output on one batch: a pooler that
/// drops nodes (TopK, SAG, PAN, ASAP, NDP) gives zero rows; one that weights its assignment by a
/// varying score (EdgeContraction, MaxCut, k-MIS with its score) gives unequal rows; a partition
/// with unit weights (Graclus, SEP, NoPool) or a row-stochastic S (MinCut, DiffPool, DMoN)
/// passes. docs/sparse-pooling.md lists every pooler.
template <typename Selection>
bool is_expressive(const Selection& sel, const ExpressivenessOptions& options = {}) {
  const auto r = selection_row_sums(sel);
  if (r.size() == 0) return false;
  const double lambda = static_cast<double>(r[0]);
  if (!(std::abs(lambda) > options.atol)) return false;
  for (Index i = 0; i < r.size(); ++i)
    if (!(std::abs(static_cast<double>(r[i]) - lambda) <= options.atol + options.rtol * std::abs(lambda))) return false;
  return true;
}

}  // namespace gnnpool

#endif
