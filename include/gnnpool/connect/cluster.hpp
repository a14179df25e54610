#ifndef GNNPOOL_CONNECT_CLUSTER_HPP
#define GNNPOOL_CONNECT_CLUSTER_HPP

/// \file
/// `ClusterConnect`: the adjacency between the clusters of a hard selection, A' = S^T A S for a
/// 0/1 assignment S, with the self loops dropped.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/prefetch.hpp>
#include <gnnpool/detail/rank_keys.hpp>

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
/// Cache: the members of every cluster (N + M ints) and the stored entries regrouped by the
/// cluster of their row with the output entry each was summed into (E ints, plus E scalars of
/// scratch), reused across calls. Cost: O(N + E + sum_c r_c^2) time, r_c the stored entries of
/// row c of A' (r_c log r_c for rows of more than 64): one sequential pass over A into the
/// buckets, then each output row merged from its contiguous bucket with one sparse accumulator of
/// M entries (Gustavson's SpGEMM row scheme, no hashing), its columns sorted; O(N + E) memory.
template <typename Scalar_>
class ClusterConnect {
 public:
  using Scalar = Scalar_;
  /// The pooled values depend on A and on which nodes are kept, never on the selection's
  /// values: nothing flows to dL/dS (the model layer relies on it).
  static constexpr bool reads_selection_values = false;
  using Selection = HardSelection<Scalar>;

  struct Cache {
    /// Members of cluster c: member[member_start[c] .. member_start[c+1]), ascending.
    std::vector<StorageIndex> member_start, member;
    /// The stored entries of A grouped by the cluster of their row (the members' rows one after
    /// the other): cluster c owns bucket[bucket_start[c] .. bucket_start[c+1]). After forward,
    /// bucket_slot[k] is the output entry the k-th bucketed entry was summed into, -1 if none.
    std::vector<StorageIndex> bucket_start, bucket_slot;
    std::vector<Scalar> bucket_value;  ///< scratch of forward
    Index input_entries = -1;          ///< nnz(A) of the forward, checked by backward
  };

  explicit ClusterConnect(ClusterConnectOptions options = {}) : m_options(options) {}

  const ClusterConnectOptions& options() const { return m_options; }

  void forward(const BatchRef<Scalar>& in, const Selection& sel, SparseMatrix<Scalar>& adj_out, Cache& cache) const {
    const Index n = in.adj.rows(), m = sel.num_supernodes();
    GNNPOOL_CHECK(sel.num_nodes() == n, shape_error, "ClusterConnect: the selection has ", sel.num_nodes(),
                  " assignments but the adjacency has ", n, " nodes");
    const std::size_t un = static_cast<std::size_t>(n), um = static_cast<std::size_t>(m);
    const IndexVector& a = sel.assignment;
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar* val = in.adj.valuePtr();
    // Bucket the stored entries by the cluster of their row: one sequential pass over A copies
    // each row, its columns already mapped to clusters, into its cluster's bucket. Each output
    // row is then merged from one contiguous bucket instead of from rows scattered over A.
    std::vector<StorageIndex> a32(un);
    auto& bstart = cache.bucket_start;
    auto& mstart = cache.member_start;
    bstart.assign(um + 1, 0);
    mstart.assign(um + 1, 0);
    for (std::size_t i = 0; i < un; ++i) {
      GNNPOOL_CHECK(a[i] >= Selection::dropped && a[i] < m, invalid_argument, "ClusterConnect: assignment[", i,
                    "] = ", a[i], " is out of range for ", m, " supernodes");
      a32[i] = static_cast<StorageIndex>(a[i]);
      if (a[i] < 0) continue;
      bstart[static_cast<std::size_t>(a[i]) + 1] += outer[i + 1] - outer[i];
      ++mstart[static_cast<std::size_t>(a[i]) + 1];
    }
    for (std::size_t c = 0; c < um; ++c) {
      bstart[c + 1] += bstart[c];
      mstart[c + 1] += mstart[c];
    }
    const auto bucketed = static_cast<std::size_t>(bstart[um]);
    cache.member.resize(static_cast<std::size_t>(mstart[um]));
    cache.bucket_slot.resize(bucketed);
    cache.bucket_value.resize(bucketed);
    cache.input_entries = in.adj.nonZeros();
    StorageIndex* column = cache.bucket_slot.data();  // cluster of the column, then the slot
    Scalar* value = cache.bucket_value.data();
    {
      std::vector<StorageIndex> next(bstart.begin(), bstart.end() - 1), next_member(mstart.begin(), mstart.end() - 1);
      constexpr std::size_t ahead = 16;  // rows whose bucket slots are requested in advance
      for (std::size_t i = 0; i < un; ++i) {
        if (i + ahead < un && a32[i + ahead] >= 0) {
          const StorageIndex to = next[static_cast<std::size_t>(a32[i + ahead])];
          detail::prefetch_write(column + to);
          detail::prefetch_write(value + to);
        }
        const StorageIndex c = a32[i];
        if (c < 0) continue;
        cache.member[static_cast<std::size_t>(next_member[static_cast<std::size_t>(c)]++)] = static_cast<StorageIndex>(i);
        StorageIndex to = next[static_cast<std::size_t>(c)];
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p, ++to) {
          column[to] = a32[static_cast<std::size_t>(inner[p])];
          value[to] = val[p];
        }
        next[static_cast<std::size_t>(c)] = to;
      }
    }
    adj_out.resize(m, m);
    adj_out.resizeNonZeros(static_cast<Index>(bucketed));  // upper bound, trimmed below
    StorageIndex* out_outer = adj_out.outerIndexPtr();
    StorageIndex* out_inner = adj_out.innerIndexPtr();
    Scalar* out_val = adj_out.valuePtr();
    // Sparse accumulator: acc[d] sums row c's entries of column d; mark[d] == c when it is live;
    // slot[d] is then the output position of column d.
    std::vector<StorageIndex> slot(um, 0), mark(um, -1);
    std::vector<Scalar> acc(um);
    const bool keep = m_options.keep_self_loops;
    StorageIndex nnz = 0;
    out_outer[0] = 0;
    for (std::size_t c = 0; c < um; ++c) {
      const StorageIndex row_start = nnz;
      const auto cs = static_cast<StorageIndex>(c);
      for (StorageIndex k = bstart[c]; k < bstart[c + 1]; ++k) {
        const StorageIndex d = column[k];
        if (d < 0 || (d == cs && !keep)) continue;
        if (mark[static_cast<std::size_t>(d)] != cs) {
          mark[static_cast<std::size_t>(d)] = cs;
          acc[static_cast<std::size_t>(d)] = value[k];
          out_inner[nnz++] = d;
        } else {
          acc[static_cast<std::size_t>(d)] += value[k];
        }
      }
      sort_row(out_inner + row_start, nnz - row_start);
      for (StorageIndex q = row_start; q < nnz; ++q) {
        const auto d = static_cast<std::size_t>(out_inner[q]);
        slot[d] = q;
        out_val[q] = acc[d];
      }
      for (StorageIndex k = bstart[c]; k < bstart[c + 1]; ++k) {
        const StorageIndex d = column[k];
        column[k] = (d < 0 || (d == cs && !keep)) ? -1 : slot[static_cast<std::size_t>(d)];
      }
      out_outer[c + 1] = nnz;
    }
    adj_out.data().resize(nnz);
  }

  /// Adds dL/dA (stored entries of in.adj) into din.adj.
  void backward(const BatchRef<Scalar>& in, const Selection& /*sel*/, const Cache& cache,
                const Vector<Scalar>& dadj_out, BatchGrad<Scalar>& din,
                typename Selection::Gradient& /*dsel*/) const {
    GNNPOOL_CHECK(cache.input_entries == in.adj.nonZeros(), shape_error, "ClusterConnect: the cache holds ",
                  cache.input_entries, " entries but the adjacency stores ", in.adj.nonZeros(),
                  " (backward needs the cache of the same forward)");
    GNNPOOL_CHECK(din.adj.size() == in.adj.nonZeros(), shape_error, "ClusterConnect: din.adj has ", din.adj.size(),
                  " entries but the adjacency stores ", in.adj.nonZeros());
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const Index n = in.adj.rows();
    const std::size_t clusters = cache.member_start.empty() ? 0 : cache.member_start.size() - 1;
    // Every index of the cache is checked before it is used (O(nnz) comparisons): a cache of
    // another forward with the same entry count would otherwise read or write out of range.
    const auto members = static_cast<StorageIndex>(cache.member.size());
    const auto slots = static_cast<StorageIndex>(cache.bucket_slot.size());
    const auto bad_cache = [](const auto&... what) {
      detail::raise<shape_error>(
          detail::concat("ClusterConnect backward: ", what..., " (backward needs the cache of the same forward)"));
    };
    if (cache.bucket_start.size() < clusters) bad_cache("the cache has ", cache.bucket_start.size(), " buckets for ", clusters, " clusters");
    for (std::size_t c = 0; c < clusters; ++c) {
      StorageIndex k = cache.bucket_start[c];
      const StorageIndex t_lo = cache.member_start[c], t_hi = cache.member_start[c + 1];
      if (!(0 <= t_lo && t_lo <= t_hi && t_hi <= members && 0 <= k))
        bad_cache("cluster ", c, "'s members [", t_lo, ", ", t_hi, ") or bucket start ", k, " lie outside the cache's ",
                  members, " members");
      for (StorageIndex t = t_lo; t < t_hi; ++t) {
        const StorageIndex i = cache.member[static_cast<std::size_t>(t)];
        if (!(0 <= i && i < n)) bad_cache("cluster ", c, " names node ", i, " of a graph of ", n, " nodes");
        if (outer[i + 1] - outer[i] > slots - k)
          bad_cache("node ", i, "'s entries run past the cache's ", slots, " bucketed entries");
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p, ++k) {
          const StorageIndex q = cache.bucket_slot[static_cast<std::size_t>(k)];
          if (q < 0) continue;
          if (q >= dadj_out.size()) bad_cache("entry ", p, " was summed into pooled entry ", q, " of ", dadj_out.size());
          din.adj[p] += dadj_out[q];
        }
      }
    }
  }

 private:
  /// Rows up to this length are sorted by counting ranks (O(len^2) compares, vectorised).
  static constexpr StorageIndex short_row = 64;

  /// Sorts the distinct columns cols[0, len) of one output row. A short row (a few tens of
  /// columns: the typical cluster) places each column at its rank, counted without a branch on
  /// the data; `std::sort` mispredicted about once per column, a fifth of k-MIS's forward at
  /// S100k. Longer rows use `std::sort`.
  static void sort_row(StorageIndex* cols, StorageIndex len) {
    if (len > short_row) {
      std::sort(cols, cols + len);
      return;
    }
    StorageIndex copy[short_row];
    std::copy(cols, cols + len, copy);
    const auto n = static_cast<std::size_t>(len);
    for (std::size_t u = 0; u < n; ++u) cols[detail::rank_among(copy, n, copy[u])] = copy[u];
  }

  ClusterConnectOptions m_options;
};

}  // namespace gnnpool

#endif
