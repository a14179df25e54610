#ifndef GNNPOOL_CONNECT_CLUSTER_HPP
#define GNNPOOL_CONNECT_CLUSTER_HPP

/// \file
/// `ClusterConnect`: the adjacency between the clusters of a hard selection, A' = S^T A S for a
/// 0/1 assignment S, with the self loops dropped.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/selection.hpp>

#include <algorithm>
#include <vector>

namespace gnnpool {

struct ClusterConnectOptions {
  /// Keep the edges inside a cluster as a self loop of the supernode (PyG and tgp drop them).
  bool keep_self_loops = false;
};

/// Connect of a hard selection: the edges between two clusters are summed into one.
///
/// Forward, with a(i) = assignment[i]:  A'(c, d) = sum_{a(i)=c, a(j)=d} A(i, j) for c != d
/// (and for c == d with `keep_self_loops`); edges at a dropped node vanish. This is PyG's
/// `pool_edge` after max_pool/avg_pool and k-MIS (cluster[edge_index], remove self loops,
/// coalesce with sum) and tgp's sparse connect. The result is CSR with sorted columns, no
/// explicit zeros other than summed ones, block-diagonal over the selection's graphs.
/// Backward: dL/dA(i, j) = dL/dA'(a(i), a(j)) for every stored entry that reaches A', 0 for the
/// others. The selection gets no gradient (A' does not read its weights).
///
/// Cache: the output position of every stored input entry (E ints).
/// Cost: O(N + E + sum_c r_c log r_c) time, r_c the stored entries of row c of A', with one
/// sparse accumulator of M entries (Gustavson's SpGEMM row scheme, no hashing); O(N + E) memory.
template <typename Scalar_>
class ClusterConnect {
 public:
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;

  struct Cache {
    std::vector<StorageIndex> position;  ///< output entry of each input entry, -1 if none
  };

  explicit ClusterConnect(ClusterConnectOptions options = {}) : m_options(options) {}

  const ClusterConnectOptions& options() const { return m_options; }

  void forward(const Batch<Scalar>& in, const Selection& sel, SparseMatrix<Scalar>& adj_out, Cache& cache) const {
    const Index n = in.adj.rows(), m = sel.num_supernodes();
    GNNPOOL_CHECK(sel.num_nodes() == n, shape_error, "ClusterConnect: the selection has ", sel.num_nodes(),
                  " assignments but the adjacency has ", n, " nodes");
    const std::size_t un = static_cast<std::size_t>(n), um = static_cast<std::size_t>(m);
    const IndexVector& a = sel.assignment;
    // Members of each cluster, grouped (counting sort): rows of A' gather these rows of A.
    std::vector<StorageIndex> start(um + 1, 0), member(un);
    for (std::size_t i = 0; i < un; ++i) {
      GNNPOOL_CHECK(a[i] >= Selection::dropped && a[i] < m, invalid_argument, "ClusterConnect: assignment[", i,
                    "] = ", a[i], " is out of range for ", m, " supernodes");
      if (a[i] >= 0) ++start[static_cast<std::size_t>(a[i]) + 1];
    }
    for (std::size_t c = 0; c < um; ++c) start[c + 1] += start[c];
    {
      std::vector<StorageIndex> next(start.begin(), start.end() - 1);
      for (std::size_t i = 0; i < un; ++i)
        if (a[i] >= 0) member[static_cast<std::size_t>(next[static_cast<std::size_t>(a[i])]++)] = static_cast<StorageIndex>(i);
    }
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar* val = in.adj.valuePtr();
    const auto e = static_cast<std::size_t>(in.adj.nonZeros());
    // position[p] first holds the cluster of column inner[p] (one sequential pass, gathering
    // from a 32-bit copy of the assignment), so the row scans below read it contiguously with the
    // row; then it is overwritten with the output entry.
    std::vector<StorageIndex> a32(un);
    for (std::size_t i = 0; i < un; ++i) a32[i] = static_cast<StorageIndex>(a[i]);
    std::vector<StorageIndex>& position = cache.position;
    position.resize(e);
    for (std::size_t p = 0; p < e; ++p) position[p] = a32[static_cast<std::size_t>(inner[p])];
    adj_out.resize(m, m);
    adj_out.resizeNonZeros(static_cast<Index>(e));  // upper bound, trimmed below
    StorageIndex* out_outer = adj_out.outerIndexPtr();
    StorageIndex* out_inner = adj_out.innerIndexPtr();
    Scalar* out_val = adj_out.valuePtr();
    // slot[d]: position of column d in the current output row; mark[d] == c when it is set.
    std::vector<StorageIndex> slot(um, 0), mark(um, -1);
    const bool keep = m_options.keep_self_loops;
    StorageIndex nnz = 0;
    out_outer[0] = 0;
    for (std::size_t c = 0; c < um; ++c) {
      const StorageIndex row_start = nnz;
      const auto cs = static_cast<StorageIndex>(c);
      for (StorageIndex k = start[c]; k < start[c + 1]; ++k) {
        const StorageIndex i = member[static_cast<std::size_t>(k)];
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
          const StorageIndex d = position[static_cast<std::size_t>(p)];
          if (d < 0 || (d == cs && !keep) || mark[static_cast<std::size_t>(d)] == cs) continue;
          mark[static_cast<std::size_t>(d)] = cs;
          out_inner[nnz++] = d;
        }
      }
      std::sort(out_inner + row_start, out_inner + nnz);
      for (StorageIndex q = row_start; q < nnz; ++q) {
        slot[static_cast<std::size_t>(out_inner[q])] = q;
        out_val[q] = Scalar(0);
      }
      for (StorageIndex k = start[c]; k < start[c + 1]; ++k) {
        const StorageIndex i = member[static_cast<std::size_t>(k)];
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
          StorageIndex& d = position[static_cast<std::size_t>(p)];
          if (d < 0 || (d == cs && !keep)) {
            d = -1;
            continue;
          }
          d = slot[static_cast<std::size_t>(d)];
          out_val[d] += val[p];
        }
      }
      out_outer[c + 1] = nnz;
    }
    // Entries of dropped rows were never visited: they reach no output entry.
    for (std::size_t i = 0; i < un; ++i)
      if (a32[i] < 0)
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) position[static_cast<std::size_t>(p)] = -1;
    adj_out.data().resize(nnz);
  }

  /// Adds dL/dA (stored entries of in.adj) into din.adj.
  void backward(const Batch<Scalar>& in, const Selection& /*sel*/, const Cache& cache,
                const Vector<Scalar>& dadj_out, BatchGrad<Scalar>& din,
                typename Selection::Gradient& /*dsel*/) const {
    GNNPOOL_CHECK(static_cast<Index>(cache.position.size()) == in.adj.nonZeros(), shape_error,
                  "ClusterConnect: the cache holds ", cache.position.size(), " entries but the adjacency stores ",
                  in.adj.nonZeros(), " (backward needs the cache of the same forward)");
    const Index e = in.adj.nonZeros();
    for (Index p = 0; p < e; ++p) {
      const StorageIndex q = cache.position[static_cast<std::size_t>(p)];
      if (q >= 0) din.adj[p] += dadj_out[q];
    }
  }

 private:
  ClusterConnectOptions m_options;
};

}  // namespace gnnpool

#endif
