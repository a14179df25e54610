#ifndef GNNPOOL_CONNECT_INDUCED_HPP
#define GNNPOOL_CONNECT_INDUCED_HPP

/// \file
/// `InducedConnect`: the subgraph induced by the kept nodes of a hard selection (TopK, SAG).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/prefetch.hpp>
#include <gnnpool/detail/rank_keys.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

namespace gnnpool {

namespace detail {

/// Checks that `sel` keeps nodes without merging them: every kept node i represents its own
/// supernode (representative[assignment[i]] == i). O(N). Throws `invalid_argument` otherwise.
/// `visit(i, a)` runs for every node i with its assignment a, in the same pass (InducedConnect
/// copies the assignment there); an `a` it sees is only trusted once the check has returned.
template <typename Scalar, typename Visit>
void check_node_selection(const HardSelection<Scalar>& sel, Index n, std::string_view layer, Visit&& visit) {
  GNNPOOL_CHECK(sel.num_nodes() == n, shape_error, layer, ": the selection covers ", sel.num_nodes(),
                " nodes but the adjacency is ", detail::shape(n, n));
  const Index m = sel.num_supernodes();
  const auto kept_alone = [&](Index i, Index a) {
    return a == HardSelection<Scalar>::dropped ||
           (a >= 0 && a < m && sel.representative[static_cast<std::size_t>(a)] == i);
  };
  parallel_rows_checked(
      n,
      [&](Index lo, Index hi) {
        bool ok = true;
        for (Index i = lo; i < hi; ++i) {
          const Index a = sel.assignment[static_cast<std::size_t>(i)];
          visit(i, a);
          ok &= kept_alone(i, a);
        }
        return ok;
      },
      [&](Index lo) {
        for (Index i = lo; i < n; ++i)
          GNNPOOL_CHECK(kept_alone(i, sel.assignment[static_cast<std::size_t>(i)]), invalid_argument, layer,
                        ": node ", i, " is assigned to supernode ", sel.assignment[static_cast<std::size_t>(i)],
                        " which it does not represent; this connect keeps nodes, it does not merge them");
      });
}

template <typename Scalar>
void check_node_selection(const HardSelection<Scalar>& sel, Index n, std::string_view layer) {
  check_node_selection(sel, n, layer, [](Index, Index) {});
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
/// Cost: O(N + E) time and memory. One pass over the rows of the kept nodes in node order
///           (sequential in the CSR arrays, one assignment lookup per entry), then the columns
///           of each pooled row are put in ascending order: nothing to do for the node order;
///           each entry placed at its rank in its row when no pooled row is longer than
///           `short_row` (O(short_row) per entry: sparse graphs); otherwise two counting sorts
///           (by column, back to rows).
///           No comparison sort of unbounded length, no dense matrix. The first pass (over
///           fixed chunks of nodes) and the ordering of the pooled rows run in parallel; the
///           counting sorts of the long-row case are serial.
template <typename Scalar_>
class InducedConnect {
 public:
  using Scalar = Scalar_;
  /// The pooled values depend on A and on which nodes are kept, never on the selection's
  /// values: nothing flows to dL/dS (the model layer relies on it).
  static constexpr bool reads_selection_values = false;
  struct Cache {
    std::vector<StorageIndex> source;  ///< input entry of each output entry
  };

  /// Longest pooled row ordered by counting ranks; beyond it the counting sorts are cheaper.
  static constexpr StorageIndex short_row = 32;

 private:
  struct Entry {
    StorageIndex col;  ///< output column
    StorageIndex src;  ///< input entry
    Scalar val;
  };
  static constexpr std::size_t prefetch_distance = 8;
  /// Nodes per chunk of the parallel scratch fill (a fixed partition: sizes from N only).
  static constexpr Index chunk_nodes = 8 * detail::row_grain;

 public:

  void forward(const BatchRef<Scalar>& in, const HardSelection<Scalar>& sel, SparseMatrix<Scalar>& adj_out,
               Cache& cache) const {
    const Index n = in.adj.rows();
    GNNPOOL_CHECK(in.adj.isCompressed(), invalid_argument,
                  "InducedConnect: the adjacency must be compressed (call makeCompressed())");
    // 32-bit copy of the assignment (the random lookups below stay in cache), made in the
    // selection check's pass; a bad assignment throws before `to` is read.
    std::vector<StorageIndex> to(static_cast<std::size_t>(n));
    detail::check_node_selection(sel, n, "InducedConnect", [&](Index i, Index a) {
      to[static_cast<std::size_t>(i)] = static_cast<StorageIndex>(a);
    });
    const Index m = sel.num_supernodes();
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();

    // One pass over the kept rows in node order (sequential in the CSR arrays, one assignment
    // lookup per entry): the kept entries (output column, input position, value) are appended
    // to one interleaved scratch array, row after row in node order; start[a] remembers where
    // row a begins. Rows are then read back in output order, one or two cache lines each,
    // prefetched ahead. In parallel over fixed chunks of nodes, each appending into its own
    // region of the scratch array (sized by the entries of the chunk's kept rows), then over
    // the pooled rows: every output row is written by one thread, and the result (pure data
    // movement) is the same for any number of threads.
    const Index chunks = detail::chunk_count(n, chunk_nodes);
    std::vector<std::size_t> region(static_cast<std::size_t>(chunks) + 1, 0);
    detail::parallel_rows(n, [&](Index lo, Index hi) {
      std::size_t entries = 0;
      for (Index i = lo; i < hi; ++i)
        entries += to[static_cast<std::size_t>(i)] >= 0 ? static_cast<std::size_t>(outer[i + 1] - outer[i]) : 0;
      region[static_cast<std::size_t>(lo / chunk_nodes) + 1] = entries;
    }, chunk_nodes);
    for (std::size_t c = 0; c < static_cast<std::size_t>(chunks); ++c) region[c + 1] += region[c];
    // Not value-initialised: every slot that is read back was written first.
    const std::unique_ptr<Entry[]> tmp =
        std::make_unique_for_overwrite<Entry[]>(std::max<std::size_t>(region.back(), 1));
    const Scalar* val = in.adj.valuePtr();
    std::vector<StorageIndex> start(static_cast<std::size_t>(m));
    std::vector<StorageIndex> row_ptr(static_cast<std::size_t>(m) + 1, 0);  // row lengths, then offsets
    std::vector<StorageIndex> chunk_longest(static_cast<std::size_t>(chunks), 0);
    // Raw pointers in the loops below: their stores cannot alias them, so they stay in registers.
    Entry* const scratch = tmp.get();
    StorageIndex* const row_start = start.data();
    StorageIndex* const row_len = row_ptr.data() + 1;
    detail::parallel_rows(n, [&](Index lo, Index hi) {
      const auto c = static_cast<std::size_t>(lo / chunk_nodes);
      std::size_t fill = region[c];
      StorageIndex longest = 0;
      for (Index i = lo; i < hi; ++i) {
        const StorageIndex a = to[static_cast<std::size_t>(i)];
        if (a < 0) continue;
        const std::size_t first = fill;
        // Branch-free: every entry is written and the slot advances only for a kept column (the
        // region counts every entry of the kept rows, so the writes stay inside it).
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
          const StorageIndex b = to[static_cast<std::size_t>(inner[p])];
          scratch[fill] = Entry{b, p, val[p]};
          fill += static_cast<std::size_t>(b >= 0);
        }
        row_start[a] = static_cast<StorageIndex>(first);
        row_len[a] = static_cast<StorageIndex>(fill - first);
        longest = std::max(longest, static_cast<StorageIndex>(fill - first));
      }
      chunk_longest[c] = longest;
    }, chunk_nodes);
    const StorageIndex longest =
        chunk_longest.empty() ? 0 : *std::max_element(chunk_longest.begin(), chunk_longest.end());
    for (std::size_t a = 0; a < static_cast<std::size_t>(m); ++a) row_ptr[a + 1] += row_ptr[a];
    const std::size_t kept = static_cast<std::size_t>(row_ptr.back());
    adj_out.resize(m, m);
    adj_out.resizeNonZeros(static_cast<Index>(kept));
    std::copy(row_ptr.begin(), row_ptr.end(), adj_out.outerIndexPtr());
    StorageIndex* col = adj_out.innerIndexPtr();
    Scalar* out_val = adj_out.valuePtr();
    cache.source.resize(kept);
    StorageIndex* const source = cache.source.data();
    const StorageIndex* const offset = row_ptr.data();
    const bool monotone = std::is_sorted(sel.representative.begin(), sel.representative.end());
    if (monotone || longest <= short_row) {
      // Node order: the columns of each row come out ascending, copied as they are. Other orders
      // with short rows (sparse graphs): each entry goes straight to its place, its rank among
      // the row's keys (column, then position: unique, so even a repeated column has one place),
      // counted without a branch on the data (O(short_row) compares per entry, whose cost is
      // the removed mispredictions: an insertion sort mispredicted about once per entry, a
      // fifth of PAN's forward at S10k).
      detail::parallel_rows(m, [&](Index r_lo, Index r_hi) {
        static_assert(short_row <= 64, "a key holds the position in its low 6 bits");
        std::int64_t key[short_row];
        const auto a_hi = static_cast<std::size_t>(r_hi);
        for (auto a = static_cast<std::size_t>(r_lo); a < a_hi; ++a) {
          if (a + prefetch_distance < a_hi)
            detail::prefetch_bytes(scratch + row_start[a + prefetch_distance],
                                   sizeof(Entry) * static_cast<std::size_t>(offset[a + prefetch_distance + 1] -
                                                                            offset[a + prefetch_distance]));
          const auto from = static_cast<std::size_t>(row_start[a]);
          const auto len = static_cast<std::size_t>(offset[a + 1] - offset[a]);
          const auto to_pos = static_cast<std::size_t>(offset[a]);
          if (monotone) {
            for (std::size_t u = 0; u < len; ++u) {
              col[to_pos + u] = scratch[from + u].col;
              out_val[to_pos + u] = scratch[from + u].val;
              source[to_pos + u] = scratch[from + u].src;
            }
            continue;
          }
          for (std::size_t u = 0; u < len; ++u)
            key[u] = static_cast<std::int64_t>(scratch[from + u].col) * 64 + static_cast<std::int64_t>(u);
          for (std::size_t u = 0; u < len; ++u) {
            const std::size_t rank = detail::rank_among(key, len, key[u]);
            col[to_pos + rank] = scratch[from + u].col;
            out_val[to_pos + rank] = scratch[from + u].val;
            source[to_pos + rank] = scratch[from + u].src;
          }
        }
      }, 4 * detail::row_grain);
    } else {
      // Long rows: two counting sorts, by output column (a CSC of A'), then back to rows while
      // walking the columns in ascending order, so every row receives its columns sorted.
      std::vector<StorageIndex> col_ptr(static_cast<std::size_t>(m) + 1, 0);
      for (std::size_t a = 0; a < static_cast<std::size_t>(m); ++a)
        for (StorageIndex e = start[a]; e < start[a] + (row_ptr[a + 1] - row_ptr[a]); ++e)
          ++col_ptr[static_cast<std::size_t>(tmp[static_cast<std::size_t>(e)].col) + 1];
      for (std::size_t b = 0; b < static_cast<std::size_t>(m); ++b) col_ptr[b + 1] += col_ptr[b];
      std::vector<StorageIndex> csc_row(kept), csc_src(kept);
      {
        std::vector<StorageIndex> next(col_ptr.begin(), col_ptr.end() - 1);
        for (std::size_t a = 0; a < static_cast<std::size_t>(m); ++a)
          for (StorageIndex e = start[a]; e < start[a] + (row_ptr[a + 1] - row_ptr[a]); ++e) {
            const auto slot = static_cast<std::size_t>(next[static_cast<std::size_t>(tmp[static_cast<std::size_t>(e)].col)]++);
            csc_row[slot] = static_cast<StorageIndex>(a);
            csc_src[slot] = tmp[static_cast<std::size_t>(e)].src;
          }
      }
      std::vector<StorageIndex> next(row_ptr.begin(), row_ptr.end() - 1);
      for (std::size_t b = 0; b < static_cast<std::size_t>(m); ++b)
        for (StorageIndex q = col_ptr[b]; q < col_ptr[b + 1]; ++q) {
          const auto slot = static_cast<std::size_t>(next[static_cast<std::size_t>(csc_row[static_cast<std::size_t>(q)])]++);
          col[slot] = static_cast<StorageIndex>(b);
          cache.source[slot] = csc_src[static_cast<std::size_t>(q)];
          out_val[slot] = val[cache.source[slot]];
        }
    }
  }

  /// Adds dL/dA (stored entries of in.adj) into din.adj; dsel is untouched.
  void backward(const BatchRef<Scalar>& in, const HardSelection<Scalar>&, const Cache& cache,
                const Vector<Scalar>& dadj_out, BatchGrad<Scalar>& din, Vector<Scalar>&) const {
    GNNPOOL_CHECK(dadj_out.size() == static_cast<Index>(cache.source.size()), shape_error,
                  "InducedConnect: dadj_out has ", dadj_out.size(), " entries but the pooled adjacency stores ",
                  cache.source.size());
    GNNPOOL_CHECK(din.adj.size() == in.adj.nonZeros(), shape_error, "InducedConnect: din.adj has ",
                  din.adj.size(), " entries but the adjacency stores ", in.adj.nonZeros());
    // The cache's indices are checked before they are used: a cache of another forward with the
    // same entry count would otherwise write outside din.adj.
    const Index stored = in.adj.nonZeros();
    for (std::size_t e = 0; e < cache.source.size(); ++e) {
      const Index s = cache.source[e];
      GNNPOOL_CHECK(0 <= s && s < stored, shape_error, "InducedConnect backward: the cache's pooled entry ", e,
                    " comes from stored entry ", s, " of an adjacency that stores ", stored,
                    " (backward needs the cache of the same forward)");
      din.adj[s] += dadj_out[static_cast<Index>(e)];
    }
  }
};

}  // namespace gnnpool

#endif
