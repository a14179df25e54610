#ifndef GNNPOOL_CONNECT_CLUSTER_HPP
#define GNNPOOL_CONNECT_CLUSTER_HPP

/// \file
/// `ClusterConnect`: the adjacency between the clusters of a hard selection, A' = S^T A S for a
/// 0/1 assignment S, with the self loops dropped.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
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
/// Cache: the members of every cluster (N + M ints), the stored entries regrouped by the cluster
/// of their row with the place, within its pooled row, of the output entry each was summed into
/// (E ints), the pooled row starts (M ints), and scratch reused across calls (E scalars, 3 N
/// ints, a sparse accumulator of M entries per thread). Cost: O(N + E + sum_c r_c^2) time, r_c
/// the stored entries of row c of A' (r_c log r_c for rows of more than 64), O(N + E) memory:
/// one pass over A into the buckets (in parallel over fixed chunks of rows), then each output row
/// merged from its contiguous bucket with a sparse accumulator (Gustavson's SpGEMM row scheme, no
/// hashing), its columns sorted. The merge runs in parallel over runs of whole output rows (one accumulator and one
/// stretch of A' per run, the stretches then closed up), the backward over fixed chunks of
/// clusters: every pooled entry is summed in the same order for any number of threads.
template <typename Scalar_>
class ClusterConnect {
 public:
  using Scalar = Scalar_;
  /// The pooled values depend on A and on which nodes are kept, never on the selection's
  /// values: nothing flows to dL/dS (the model layer relies on it).
  static constexpr bool reads_selection_values = false;
  using Selection = HardSelection<Scalar>;

  /// A sparse accumulator over the M pooled columns: acc[d] sums a row's entries of column d,
  /// live while mark[d] is the row; place[d] is then d's place in the sorted row.
  struct Accumulator {
    std::vector<StorageIndex> mark, place;
    std::vector<Scalar> acc;
  };

  struct Cache {
    /// Members of cluster c: member[member_start[c] .. member_start[c+1]), ascending.
    std::vector<StorageIndex> member_start, member;
    /// The stored entries of A grouped by the cluster of their row (the members' rows one after
    /// the other): cluster c owns bucket[bucket_start[c] .. bucket_start[c+1]). After forward,
    /// bucket_slot[k] is the place, within pooled row c, of the output entry the k-th bucketed
    /// entry was summed into, -1 if none.
    std::vector<StorageIndex> bucket_start, bucket_slot;
    /// Start of pooled row c in A' (M + 1 entries: A''s outer index).
    std::vector<StorageIndex> row_start;
    /// Scratch of forward: the bucketed values, the 32-bit assignment, each node's rank among
    /// its cluster's members and its row's place in the cluster's bucket, the accumulators.
    std::vector<Scalar> bucket_value;
    std::vector<StorageIndex> cluster, rank, place;
    std::vector<Accumulator> accumulators;
    Index input_entries = -1;  ///< nnz(A) of the forward, checked by backward
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
    auto& a32 = cache.cluster;
    a32.resize(un);
    cache.rank.resize(un);
    cache.place.resize(un);
    StorageIndex* const member_rank = cache.rank.data();
    StorageIndex* const bucket_place = cache.place.data();
    auto& bstart = cache.bucket_start;
    auto& mstart = cache.member_start;
    bstart.assign(um + 1, 0);
    mstart.assign(um + 1, 0);
    for (std::size_t i = 0; i < un; ++i) {
      GNNPOOL_CHECK(a[i] >= Selection::dropped && a[i] < m, invalid_argument, "ClusterConnect: assignment[", i,
                    "] = ", a[i], " is out of range for ", m, " supernodes");
      a32[i] = static_cast<StorageIndex>(a[i]);
      if (a[i] < 0) continue;
      // Node i's place among its cluster's members and its row's place in the cluster's bucket.
      member_rank[i] = mstart[static_cast<std::size_t>(a[i]) + 1]++;
      bucket_place[i] = bstart[static_cast<std::size_t>(a[i]) + 1];
      bstart[static_cast<std::size_t>(a[i]) + 1] += outer[i + 1] - outer[i];
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
    // Each row knows its place now: fixed chunks of rows fill the buckets in parallel.
    detail::parallel_rows(n, [&](Index lo, Index hi) {
      constexpr Index ahead = 16;  // rows whose bucket places are requested in advance
      for (Index i = lo; i < hi; ++i) {
        if (i + ahead < n && a32[static_cast<std::size_t>(i + ahead)] >= 0) {
          const auto c_ahead = static_cast<std::size_t>(a32[static_cast<std::size_t>(i + ahead)]);
          const StorageIndex to = bstart[c_ahead] + bucket_place[i + ahead];
          detail::prefetch_write(column + to);
          detail::prefetch_write(value + to);
        }
        const StorageIndex c = a32[static_cast<std::size_t>(i)];
        if (c < 0) continue;
        cache.member[static_cast<std::size_t>(mstart[static_cast<std::size_t>(c)] + member_rank[i])] = static_cast<StorageIndex>(i);
        StorageIndex to = bstart[static_cast<std::size_t>(c)] + bucket_place[i];
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p, ++to) {
          column[to] = a32[static_cast<std::size_t>(inner[p])];
          value[to] = val[p];
        }
      }
    }, Index(4096));
    // Merge the pooled rows straight into A', sized for the worst case (no two entries summed):
    // each run of rows writes its rows one after the other from its first bucket's start, so
    // with one run (one thread) they land where they belong; row_start[c + 1] holds row c's
    // length until the prefix sum below.
    adj_out.resize(m, m);
    adj_out.resizeNonZeros(static_cast<Index>(bucketed));
    StorageIndex* const out_inner = adj_out.innerIndexPtr();
    Scalar* const out_val = adj_out.valuePtr();
    cache.row_start.resize(um + 1);
    const Index parts = detail::part_count(static_cast<Index>(bucketed), Index(1) << 15);
    cache.accumulators.resize(static_cast<std::size_t>(parts));
    std::vector<Index> part_first(static_cast<std::size_t>(parts) + 1, m);
    const bool keep = m_options.keep_self_loops;
    detail::parallel_parts(bstart.data(), m, parts, [&](Index part, Index c_lo, Index c_hi) {
      part_first[static_cast<std::size_t>(part)] = c_lo;
      Accumulator& s = cache.accumulators[static_cast<std::size_t>(part)];
      s.mark.assign(um, -1);
      s.place.resize(um);
      s.acc.resize(um);
      // Raw pointers: the stores in the loop would otherwise make the compiler reload the
      // vectors' data pointers.
      StorageIndex* const mark = s.mark.data();
      StorageIndex* const place = s.place.data();
      Scalar* const acc = s.acc.data();
      const StorageIndex* const bs = bstart.data();
      StorageIndex* const length = cache.row_start.data() + 1;
      StorageIndex at = bs[c_lo];
      for (Index c = c_lo; c < c_hi; ++c) {
        const auto cs = static_cast<StorageIndex>(c);
        StorageIndex* const col = out_inner + at;
        StorageIndex len = 0;
        for (StorageIndex k = bs[c]; k < bs[c + 1]; ++k) {
          const StorageIndex d = column[k];
          if (d < 0 || (d == cs && !keep)) continue;
          if (mark[d] != cs) {
            mark[d] = cs;
            acc[d] = value[k];
            col[len++] = d;
          } else {
            acc[d] += value[k];
          }
        }
        sort_row(col, len);
        for (StorageIndex q = 0; q < len; ++q) {
          place[col[q]] = q;
          out_val[at + q] = acc[col[q]];
        }
        for (StorageIndex k = bs[c]; k < bs[c + 1]; ++k) {
          const StorageIndex d = column[k];
          column[k] = (d < 0 || (d == cs && !keep)) ? -1 : place[d];
        }
        length[c] = len;
        at += len;
      }
    });
    auto& rstart = cache.row_start;
    rstart[0] = 0;
    for (std::size_t c = 0; c < um; ++c) rstart[c + 1] += rstart[c];
    // Close the gaps between the runs, in run order (a run's new place may overlap the previous
    // run's old one); the first run is in place.
    for (std::size_t p = 1; p < static_cast<std::size_t>(parts); ++p) {
      const auto c_lo = static_cast<std::size_t>(part_first[p]), c_hi = static_cast<std::size_t>(part_first[p + 1]);
      const StorageIndex from = bstart[c_lo], to = rstart[c_lo], len = rstart[c_hi] - rstart[c_lo];
      if (to == from) continue;  // to < from otherwise: std::copy may overlap to its left
      std::copy(out_inner + from, out_inner + from + len, out_inner + to);
      std::copy(out_val + from, out_val + from + len, out_val + to);
    }
    std::copy(rstart.begin(), rstart.end(), adj_out.outerIndexPtr());
    adj_out.data().resize(rstart[um]);
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
    // Every index of the cache is checked before it is used (O(N + E) comparisons): a cache of
    // another forward with the same entry count would otherwise read or write out of range.
    const auto members = static_cast<StorageIndex>(cache.member.size());
    const auto slots = static_cast<StorageIndex>(cache.bucket_slot.size());
    const auto bad_cache = [](const auto&... what) {
      detail::raise<shape_error>(
          detail::concat("ClusterConnect backward: ", what..., " (backward needs the cache of the same forward)"));
    };
    if (cache.bucket_start.size() < clusters || cache.row_start.size() != clusters + 1)
      bad_cache("the cache has ", cache.bucket_start.size(), " buckets and ", cache.row_start.size(),
                " pooled row starts for ", clusters, " clusters");
    const auto& rstart = cache.row_start;
    if (rstart[0] != 0 || rstart[clusters] != dadj_out.size())
      bad_cache("the cached pooled rows hold ", rstart[clusters], " entries but the gradient has ", dadj_out.size());
    for (std::size_t c = 0; c < clusters; ++c)
      if (rstart[c + 1] < rstart[c]) bad_cache("the cached start of pooled row ", c + 1, " lies before that of row ", c);
    // Cluster c's bucketed entries are the stored entries of its members' rows: disjoint across
    // clusters, so fixed chunks of clusters run in parallel. With `apply` it returns false at the
    // first index out of range; run again without `apply` (serially, from the first failing
    // chunk), it raises the error naming that index.
    const auto run_cluster = [&](std::size_t c, bool apply) {
      StorageIndex k = cache.bucket_start[c];
      const StorageIndex t_lo = cache.member_start[c], t_hi = cache.member_start[c + 1];
      if (!(0 <= t_lo && t_lo <= t_hi && t_hi <= members && 0 <= k)) {
        if (!apply)
          bad_cache("cluster ", c, "'s members [", t_lo, ", ", t_hi, ") or bucket start ", k, " lie outside the cache's ",
                    members, " members");
        return false;
      }
      const StorageIndex len = rstart[c + 1] - rstart[c];
      const Scalar* g = dadj_out.data() + rstart[c];
      for (StorageIndex t = t_lo; t < t_hi; ++t) {
        const StorageIndex i = cache.member[static_cast<std::size_t>(t)];
        if (!(0 <= i && i < n)) {
          if (!apply) bad_cache("cluster ", c, " names node ", i, " of a graph of ", n, " nodes");
          return false;
        }
        if (outer[i + 1] - outer[i] > slots - k) {
          if (!apply) bad_cache("node ", i, "'s entries run past the cache's ", slots, " bucketed entries");
          return false;
        }
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p, ++k) {
          const StorageIndex q = cache.bucket_slot[static_cast<std::size_t>(k)];
          if (q < 0) continue;
          if (q >= len) {
            if (!apply) bad_cache("entry ", p, " was summed into place ", q, " of pooled row ", c, "'s ", len);
            return false;
          }
          if (apply) din.adj[p] += g[q];
        }
      }
      return true;
    };
    detail::parallel_rows_checked(static_cast<Index>(clusters), [&](Index lo, Index hi) {
      for (Index c = lo; c < hi; ++c)
        if (!run_cluster(static_cast<std::size_t>(c), true)) return false;
      return true;
    }, [&](Index lo) {
      for (Index c = lo; c < static_cast<Index>(clusters); ++c) run_cluster(static_cast<std::size_t>(c), false);
    });
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
