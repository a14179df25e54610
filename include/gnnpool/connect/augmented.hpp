#ifndef GNNPOOL_CONNECT_AUGMENTED_HPP
#define GNNPOOL_CONNECT_AUGMENTED_HPP

/// \file
/// `AugmentedConnect`: Graph U-Net's augmented connectivity, (A + I)^2 without its diagonal,
/// restricted to the kept nodes of a hard selection, computed sparsely.

#include <gnnpool/connect/induced.hpp>
#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/selection.hpp>

#include <algorithm>
#include <vector>

namespace gnnpool {

/// A' = [(B B)(p, p)] with the diagonal removed, B = A with its diagonal replaced by 1
/// (Gao & Ji's graph power; PyG `GraphUNet.augment_adj` followed by the induced subgraph).
///
/// Forward:  A'(a, b) = sum_k B(p_a, k) B(k, p_b) for a != b, over the paths of length <= 2
///           from p_b to p_a (p = sel.representative); B(i, i) = 1 and B(i, k) = A(i, k) for
///           k != i, so stored self loops of A are replaced by weight 1 as PyG's
///           remove_self_loops + add_self_loops does. An output entry is stored whenever such a
///           path exists (its value may be an exact zero with signed weights).
/// Backward: for every path i = p_a <- k <- j = p_b of A' and g = dL/dA'(a, b):
///           dA(i, k) += g B(k, j) and dA(k, j) += g B(i, k) on the off-diagonal stored entries;
///           stored diagonal entries of A get 0 (they are replaced by 1). Nothing flows to the
///           selection.
/// Shapes: in.adj N x N CSR, adj_out M x M CSR (sorted columns, no diagonal).
/// Cache: the output pattern (M + 1 + E' indices).
/// Cost: O(sum over kept i of sum_{k in N(i)} deg(k)) time both ways (Gustavson's row-by-row
///       product, computed only for kept rows and kept columns) plus O(E' log) to sort each
///       output row; memory O(N + E'). No N x N matrix is formed, and B^2 is never formed for
///       the dropped rows.
template <typename Scalar_>
class AugmentedConnect {
 public:
  using Scalar = Scalar_;
  /// The pooled values depend on A and on which nodes are kept, never on the selection's
  /// values: nothing flows to dL/dS (the model layer relies on it).
  static constexpr bool reads_selection_values = false;
  struct Cache {
    std::vector<StorageIndex> outer, inner;
  };

  void forward(const BatchRef<Scalar>& in, const HardSelection<Scalar>& sel, SparseMatrix<Scalar>& adj_out,
               Cache& cache) const {
    const Index n = in.adj.rows();
    GNNPOOL_CHECK(in.adj.isCompressed(), invalid_argument,
                  "AugmentedConnect: the adjacency must be compressed (call makeCompressed())");
    detail::check_node_selection(sel, n, "AugmentedConnect");
    const Index m = sel.num_supernodes();
    std::vector<Scalar> acc(static_cast<std::size_t>(m), Scalar(0));
    std::vector<Index> mark(static_cast<std::size_t>(m), -1);
    std::vector<StorageIndex> touched;
    std::vector<Scalar> values;
    cache.outer.assign(1, 0);
    cache.outer.reserve(static_cast<std::size_t>(m) + 1);
    cache.inner.clear();
    for (Index a = 0; a < m; ++a) {
      touched.clear();
      const auto add = [&](Index i, Index j, Scalar w) {
        if (j == i) return;
        const Index b = sel.assignment[static_cast<std::size_t>(j)];
        if (b < 0) return;
        const auto slot = static_cast<std::size_t>(b);
        if (mark[slot] != a) {
          mark[slot] = a;
          acc[slot] = w;
          touched.push_back(static_cast<StorageIndex>(b));
        } else {
          acc[slot] += w;
        }
      };
      traverse(in.adj, sel.representative[static_cast<std::size_t>(a)],
               [&](Index i, Index j, Scalar w, StorageIndex, StorageIndex) { add(i, j, w); });
      std::sort(touched.begin(), touched.end());
      for (StorageIndex b : touched) {
        cache.inner.push_back(b);
        values.push_back(acc[static_cast<std::size_t>(b)]);
      }
      cache.outer.push_back(static_cast<StorageIndex>(cache.inner.size()));
    }
    adj_out.resize(m, m);
    adj_out.resizeNonZeros(static_cast<Index>(cache.inner.size()));
    std::copy(cache.outer.begin(), cache.outer.end(), adj_out.outerIndexPtr());
    std::copy(cache.inner.begin(), cache.inner.end(), adj_out.innerIndexPtr());
    std::copy(values.begin(), values.end(), adj_out.valuePtr());
  }

  /// Adds dL/dA (stored entries of in.adj) into din.adj; dsel is untouched.
  void backward(const BatchRef<Scalar>& in, const HardSelection<Scalar>& sel, const Cache& cache,
                const Vector<Scalar>& dadj_out, BatchGrad<Scalar>& din, Vector<Scalar>&) const {
    GNNPOOL_CHECK(dadj_out.size() == static_cast<Index>(cache.inner.size()), shape_error,
                  "AugmentedConnect: dadj_out has ", dadj_out.size(),
                  " entries but the pooled adjacency stores ", cache.inner.size());
    GNNPOOL_CHECK(din.adj.size() == in.adj.nonZeros(), shape_error, "AugmentedConnect: din.adj has ",
                  din.adj.size(), " entries but the adjacency stores ", in.adj.nonZeros());
    const Index m = sel.num_supernodes();
    const Scalar* val = in.adj.valuePtr();
    std::vector<Scalar> g(static_cast<std::size_t>(m), Scalar(0));
    for (Index a = 0; a < m; ++a) {
      const auto lo = cache.outer[static_cast<std::size_t>(a)], hi = cache.outer[static_cast<std::size_t>(a) + 1];
      for (StorageIndex e = lo; e < hi; ++e) g[static_cast<std::size_t>(cache.inner[static_cast<std::size_t>(e)])] = dadj_out[e];
      // Path i <- k <- j with weight B(i,k) B(k,j); p / q are the stored entries of B(i,k) /
      // B(k,j), or -1 where the factor is the constant diagonal 1.
      traverse(in.adj, sel.representative[static_cast<std::size_t>(a)],
               [&](Index i, Index j, Scalar, StorageIndex p, StorageIndex q) {
                 if (j == i) return;
                 const Index b = sel.assignment[static_cast<std::size_t>(j)];
                 if (b < 0) return;
                 const Scalar gij = g[static_cast<std::size_t>(b)];
                 if (p >= 0) din.adj[p] += gij * (q >= 0 ? val[q] : Scalar(1));
                 if (q >= 0) din.adj[q] += gij * (p >= 0 ? val[p] : Scalar(1));
               });
      for (StorageIndex e = lo; e < hi; ++e) g[static_cast<std::size_t>(cache.inner[static_cast<std::size_t>(e)])] = Scalar(0);
    }
  }

 private:
  /// Calls visit(i, j, B(i,k) B(k,j), p, q) for every path i <- k <- j of length <= 2 in B,
  /// where p / q are the stored entries holding B(i,k) / B(k,j), or -1 for a diagonal factor.
  template <typename Visit>
  static void traverse(const SparseMatrix<Scalar>& adj, Index i, Visit&& visit) {
    const StorageIndex* outer = adj.outerIndexPtr();
    const StorageIndex* inner = adj.innerIndexPtr();
    const Scalar* val = adj.valuePtr();
    // k = i: B(i,i) = 1.
    for (StorageIndex q = outer[i]; q < outer[i + 1]; ++q)
      if (inner[q] != i) visit(i, inner[q], val[q], -1, q);
    for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
      const Index k = inner[p];
      if (k == i) continue;
      const Scalar wik = val[p];
      visit(i, k, wik, p, -1);  // j = k: B(k,k) = 1
      for (StorageIndex q = outer[k]; q < outer[k + 1]; ++q)
        if (inner[q] != k) visit(i, inner[q], wik * val[q], p, q);
    }
  }
};

}  // namespace gnnpool

#endif
