#ifndef GNNPOOL_CONNECT_INDUCED_HPP
#define GNNPOOL_CONNECT_INDUCED_HPP

/// \file
/// `InducedConnect`: the subgraph induced by the kept nodes of a hard selection (TopK, SAG).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/selection.hpp>

#include <algorithm>
#include <vector>

namespace gnnpool {

namespace detail {

/// Checks that `sel` keeps nodes without merging them: every kept node i represents its own
/// supernode (representative[assignment[i]] == i). O(N). Throws `invalid_argument` otherwise.
template <typename Scalar>
void check_node_selection(const HardSelection<Scalar>& sel, Index n, std::string_view layer) {
  GNNPOOL_CHECK(sel.num_nodes() == n, shape_error, layer, ": the selection covers ", sel.num_nodes(),
                " nodes but the adjacency is ", detail::shape(n, n));
  const Index m = sel.num_supernodes();
  for (Index i = 0; i < n; ++i) {
    const Index a = sel.assignment[static_cast<std::size_t>(i)];
    if (a == HardSelection<Scalar>::dropped) continue;
    GNNPOOL_CHECK(a >= 0 && a < m && sel.representative[static_cast<std::size_t>(a)] == i, invalid_argument,
                  layer, ": node ", i, " is assigned to supernode ", a,
                  " which it does not represent; this connect keeps nodes, it does not merge them");
  }
}

}  // namespace detail

/// A' = A[perm, perm]: the edges whose two ends are kept, relabelled to output positions, with
/// their weights unchanged (PyG `filter_adj` / tgp `subgraph(relabel_nodes=True)`).
///
/// Forward:  A'(a, b) = A(p_a, p_b) for every stored entry of A with both ends kept
///           (p = sel.representative). The output is block-diagonal over the output graphs
///           because A is, and it stores exactly the kept entries (explicit zeros included).
/// Backward: dA(p_a, p_b) += dA'(a, b) for every stored output entry (the weights pass through;
///           nothing flows to the selection).
/// Node order: the order of the output rows is the selection's (score-descending for PyG,
///           ascending node id for Spektral: `TopKOptions::order`); this policy follows it, so
///           the pooled rows and the pooled edges always agree.
/// Shapes: in.adj N x N CSR, adj_out M x M CSR with sorted columns, dadj_out one entry per
///           stored output entry.
/// Cache: for each output entry the position of its input entry (E' indices).
/// Cost: O(N + E) time and memory: one pass over the rows of the kept nodes, then a counting
///           sort of the kept entries by output column (skipped when the output order is the node
///           order, whose columns come out sorted already). No per-row sort, no dense matrix.
template <typename Scalar_>
class InducedConnect {
 public:
  using Scalar = Scalar_;
  struct Cache {
    std::vector<StorageIndex> source;  ///< input entry of each output entry
  };

  void forward(const Batch<Scalar>& in, const HardSelection<Scalar>& sel, SparseMatrix<Scalar>& adj_out,
               Cache& cache) const {
    const Index n = in.adj.rows();
    GNNPOOL_CHECK(in.adj.isCompressed(), invalid_argument,
                  "InducedConnect: the adjacency must be compressed (call makeCompressed())");
    detail::check_node_selection(sel, n, "InducedConnect");
    const Index m = sel.num_supernodes();
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const auto assignment = [&](Index j) { return sel.assignment[static_cast<std::size_t>(j)]; };
    const auto rep = [&](Index a) { return sel.representative[static_cast<std::size_t>(a)]; };

    std::vector<StorageIndex> row_ptr(static_cast<std::size_t>(m) + 1, 0);
    for (Index a = 0; a < m; ++a) {
      const Index i = rep(a);
      StorageIndex c = 0;
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) c += assignment(inner[p]) >= 0;
      row_ptr[static_cast<std::size_t>(a) + 1] = row_ptr[static_cast<std::size_t>(a)] + c;
    }
    const std::size_t kept = static_cast<std::size_t>(row_ptr.back());
    std::vector<StorageIndex> col(kept);
    cache.source.resize(kept);
    if (std::is_sorted(sel.representative.begin(), sel.representative.end())) {
      // Monotone relabelling: the columns of each row come out in ascending order.
      std::size_t e = 0;
      for (Index a = 0; a < m; ++a) {
        const Index i = rep(a);
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
          if (const Index b = assignment(inner[p]); b >= 0) {
            col[e] = static_cast<StorageIndex>(b);
            cache.source[e++] = p;
          }
      }
    } else {
      // Counting sort by output column, rows ascending inside each column (a CSC of A'), then
      // a second counting sort back to rows: columns ascending inside each row.
      std::vector<StorageIndex> col_ptr(static_cast<std::size_t>(m) + 1, 0);
      for (Index a = 0; a < m; ++a) {
        const Index i = rep(a);
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
          if (const Index b = assignment(inner[p]); b >= 0) ++col_ptr[static_cast<std::size_t>(b) + 1];
      }
      for (std::size_t b = 0; b < static_cast<std::size_t>(m); ++b) col_ptr[b + 1] += col_ptr[b];
      std::vector<StorageIndex> csc_row(kept), csc_src(kept);
      {
        std::vector<StorageIndex> next(col_ptr.begin(), col_ptr.end() - 1);
        for (Index a = 0; a < m; ++a) {
          const Index i = rep(a);
          for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
            if (const Index b = assignment(inner[p]); b >= 0) {
              const auto slot = static_cast<std::size_t>(next[static_cast<std::size_t>(b)]++);
              csc_row[slot] = static_cast<StorageIndex>(a);
              csc_src[slot] = p;
            }
        }
      }
      std::vector<StorageIndex> next(row_ptr.begin(), row_ptr.end() - 1);
      for (std::size_t b = 0; b < static_cast<std::size_t>(m); ++b)
        for (StorageIndex q = col_ptr[b]; q < col_ptr[b + 1]; ++q) {
          const auto slot = static_cast<std::size_t>(next[static_cast<std::size_t>(csc_row[static_cast<std::size_t>(q)])]++);
          col[slot] = static_cast<StorageIndex>(b);
          cache.source[slot] = csc_src[static_cast<std::size_t>(q)];
        }
    }
    adj_out.resize(m, m);
    adj_out.resizeNonZeros(static_cast<Index>(kept));
    std::copy(row_ptr.begin(), row_ptr.end(), adj_out.outerIndexPtr());
    std::copy(col.begin(), col.end(), adj_out.innerIndexPtr());
    const Scalar* val = in.adj.valuePtr();
    Scalar* out_val = adj_out.valuePtr();
    for (std::size_t e = 0; e < kept; ++e) out_val[e] = val[cache.source[e]];
  }

  /// Adds dL/dA (stored entries of in.adj) into din.adj; dsel is untouched.
  void backward(const Batch<Scalar>& in, const HardSelection<Scalar>&, const Cache& cache,
                const Vector<Scalar>& dadj_out, BatchGrad<Scalar>& din, Vector<Scalar>&) const {
    GNNPOOL_CHECK(dadj_out.size() == static_cast<Index>(cache.source.size()), shape_error,
                  "InducedConnect: dadj_out has ", dadj_out.size(), " entries but the pooled adjacency stores ",
                  cache.source.size());
    GNNPOOL_CHECK(din.adj.size() == in.adj.nonZeros(), shape_error, "InducedConnect: din.adj has ",
                  din.adj.size(), " entries but the adjacency stores ", in.adj.nonZeros());
    for (std::size_t e = 0; e < cache.source.size(); ++e)
      din.adj[cache.source[e]] += dadj_out[static_cast<Index>(e)];
  }
};

}  // namespace gnnpool

#endif
