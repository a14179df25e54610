#ifndef GNNPOOL_READOUT_SORT_HPP
#define GNNPOOL_READOUT_SORT_HPP

/// \file
/// `SortReadout`: SortPool (Zhang et al., "An End-to-End Deep Learning Architecture for Graph
/// Classification", AAAI 2018), PyG's `torch_geometric.nn.aggr.SortAggregation(k)`.

#include <gnnpool/detail/readout.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace gnnpool {

/// SortPool readout: the k nodes of every graph with the largest last channel, in that order,
/// concatenated into one row.
///
/// Forward:  per graph g, order its nodes by x[:, F-1] descending (ties: lower node first;
///           PyG's torch.sort does not specify the order of ties), keep the first min(k, n_g);
///           out.row(g) = [x_{v_1}, ..., x_{v_k}] (B x k F), zero rows where n_g < k. As PyG,
///           every entry equal to fill = min(x) - 1 is set to 0 (only padding, unless |min(x)| is
///           so large that min(x) - 1 == min(x) in floating point).
/// Backward: dx_{v_s} = dout[g, s F .. (s+1) F) for every kept slot s (entries that were set to
///           0 get none); other nodes get 0. Sorting is a discrete choice: `discrete` reports it.
/// No parameters. Reads x and offsets only. Cache: the source node of every slot (B k).
/// Cost: O(N log n_max + B k F); runs of whole graphs in parallel (the same bits for any number
/// of threads). Thread-safe (const).
/// Errors: `invalid_argument` for k < 1, or a non-finite entry in the last channel (the order
/// would be undefined); as `SumReadout` for malformed offsets; `shape_error` for dout.
template <typename Scalar_>
class SortReadout {
 public:
  using Scalar = Scalar_;
  struct Cache {
    IndexVector source;  ///< B k: the node in slot s of graph g, or -1 (padding)
    Scalar fill = 0;
    Index nodes = -1, features = -1;
    mutable std::vector<Index> order;  ///< forward workspace (N: every graph sorts its own slice), reused
  };

  static constexpr std::string_view layer_name() { return "SortReadout"; }
  /// Reads x and offsets only: the model layer passes no adjacency gradient.
  static constexpr bool reads_adjacency = false;

  explicit SortReadout(Index k) : m_k(k) {
    GNNPOOL_CHECK(k >= 1, invalid_argument, "SortReadout: k must be >= 1, got ", k);
  }

  std::string_view name() const { return layer_name(); }
  void parameter_slots(std::vector<Index>& /*out*/) const {}
  Index k() const { return m_k; }
  /// k F for x of F columns.
  Index out_features(Index in_features) const { return m_k * in_features; }

  void forward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, Matrix<Scalar>& out,
               Cache& cache) const {
    detail::check_readout_forward(in, -1, layer_name());
    const Index f = in.x.cols(), b = in.num_graphs();
    GNNPOOL_CHECK(f >= 1, shape_error, layer_name(), ": x has no feature column to sort by");
    // One pass over fixed chunks of rows, in parallel: each chunk's minimum (combined in chunk
    // order, so the same value for any number of threads) and the check of the last channel,
    // whose error names the first bad row (raised after the loop).
    const Index n = in.x.rows();
    std::vector<Scalar> chunk_min(static_cast<std::size_t>(detail::chunk_count(n, detail::row_grain)));
    detail::parallel_rows_checked(n, [&](Index lo, Index hi) {
      const auto rows = in.x.middleRows(lo, hi - lo);
      chunk_min[static_cast<std::size_t>(lo / detail::row_grain)] = rows.minCoeff();
      return rows.col(f - 1).allFinite();
    }, [&](Index from) {
      for (Index i = from; i < n; ++i)
        GNNPOOL_CHECK(std::isfinite(in.x(i, f - 1)), invalid_argument, layer_name(), ": x(", i, ", ", f - 1,
                      ") = ", in.x(i, f - 1), " is not finite; the nodes cannot be sorted by the last channel");
    });
    cache.nodes = n;
    cache.features = f;
    Scalar lowest = chunk_min.empty() ? Scalar(1) : chunk_min.front();
    for (const Scalar m : chunk_min) lowest = m < lowest ? m : lowest;
    cache.fill = lowest - Scalar(1);  // no rows: fill = 0
    const Scalar fill = cache.fill;  // a local: the stores to out cannot alias it, so the copy vectorises
    cache.source.assign(static_cast<std::size_t>(b * m_k), -1);
    cache.order.resize(static_cast<std::size_t>(in.x.rows()));
    out.resize(b, m_k * f);
    // Runs of whole graphs in parallel: graph g sorts its own slice of `order` and writes row g.
    detail::parallel_graphs(in.offsets, [&, f, fill, slots = m_k](Index g_lo, Index g_hi) {
      for (Index g = g_lo; g < g_hi; ++g) {
        const Index lo = detail::segment_begin(in.offsets, g), hi = detail::segment_end(in.offsets, g);
        const Index kept = std::min(slots, hi - lo);
        const auto first = cache.order.begin() + lo, last = cache.order.begin() + hi;
        for (Index i = lo; i < hi; ++i) cache.order[static_cast<std::size_t>(i)] = i;
        std::partial_sort(first, first + kept, last, [&](Index a, Index c) {
          return in.x(a, f - 1) > in.x(c, f - 1) || (in.x(a, f - 1) == in.x(c, f - 1) && a < c);
        });
        Scalar* o = out.data() + g * slots * f;
        for (Index s = 0; s < kept; ++s) {
          const Index v = cache.order[static_cast<std::size_t>(lo + s)];
          cache.source[static_cast<std::size_t>(g * slots + s)] = v;
          const Scalar* xv = in.x.row(v).data();
          Scalar* os = o + s * f;
          for (Index q = 0; q < f; ++q) os[q] = xv[q] == fill ? Scalar(0) : xv[q];
        }
        std::fill(o + kept * f, o + slots * f, Scalar(0));
      }
    });
  }

  /// Assigns *din.x (N x F) when not null; there are no parameters.
  void backward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, const Cache& cache,
                const ConstMatrixRef<Scalar>& dout, BatchGradRef<Scalar> din, ParameterSet<Scalar>& /*dparams*/) const {
    detail::check_readout_backward(in, -1, cache.nodes, cache.features, dout, m_k * in.x.cols(), layer_name());
    if (!din.x) return;
    const Index f = in.x.cols(), b = in.num_graphs();
    GNNPOOL_CHECK(cache.source.size() == static_cast<std::size_t>(b * m_k), shape_error, layer_name(),
                  ": the cache holds ", cache.source.size(), " slots but the batch has ", b, " graphs of k = ", m_k,
                  " (backward needs the cache of the same forward)");
    Matrix<Scalar>& dx = *din.x;
    dx.resize(in.x.rows(), f);
    const Scalar fill = cache.fill;  // a local: the stores to dx cannot alias it
    // Runs of whole graphs in parallel: a graph's slots name its own nodes (checked, so that a
    // cache of another batch cannot write outside the graph).
    detail::parallel_graphs(in.offsets, [&, f, fill, slots = m_k](Index g_lo, Index g_hi) {
      for (Index g = g_lo; g < g_hi; ++g) {
        const Index lo = detail::segment_begin(in.offsets, g), hi = detail::segment_end(in.offsets, g);
        std::fill(dx.data() + lo * f, dx.data() + hi * f, Scalar(0));
        for (Index s = 0; s < slots; ++s) {
          const Index v = cache.source[static_cast<std::size_t>(g * slots + s)];
          if (v < 0) continue;
          GNNPOOL_CHECK(lo <= v && v < hi, shape_error, layer_name(), ": the cache's slot ", s, " of graph ", g,
                        " names node ", v, ", outside the graph's nodes [", lo, ", ", hi,
                        ") (backward needs the cache of the same forward)");
          const Scalar* xv = in.x.row(v).data();
          const Scalar* up = dout.row(g).data() + s * f;
          Scalar* dv = dx.data() + v * f;
          for (Index q = 0; q < f; ++q) dv[q] += xv[q] != fill ? up[q] : Scalar(0);
        }
      }
    });
  }

  /// The sorted order (every slot's source node): the discrete decision of forward.
  void discrete(const Cache& cache, std::vector<Index>& out) const {
    out.insert(out.end(), cache.source.begin(), cache.source.end());
  }

 private:
  Index m_k;
};

}  // namespace gnnpool

#endif
