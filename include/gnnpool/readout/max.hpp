#ifndef GNNPOOL_READOUT_MAX_HPP
#define GNNPOOL_READOUT_MAX_HPP

/// \file
/// `MaxReadout`: PyG's `global_max_pool`, Spektral's `GlobalMaxPool`.

#include <gnnpool/detail/readout.hpp>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace gnnpool {

/// Global max readout: channel-wise maximum over the nodes of each graph.
///
/// Forward:  out(g, c) = max_{i in g} x(i, c).                 x: N x F, out: B x F.
/// Backward: the gradient of a channel is split EVENLY among the nodes that hold its maximum
///           (torch.scatter_reduce "amax", which PyG's `global_max_pool` calls on CPU):
///           dx(i, c) = dout(g, c) / |M_gc| if i is in M_gc = {i in g : x(i, c) = out(g, c)},
///           and 0 otherwise (assigned). With distinct values this is the usual argmax rule.
/// An empty graph reads out as a zero row (PyG's fill value), never -inf, and gives no
/// gradient; an all-negative graph gives its true maximum. A NaN in a channel makes that
/// channel's output NaN (it propagates, as torch's amax) and its gradient zero.
/// No parameters. Reads `x` and `offsets` only.
///
/// Cache: the discrete decision of forward, the tie sets M_gc: `argmax` lists, for g = 0..B-1
/// and c = 0..F-1 in that (row-major) order, the nodes of M_gc in ascending order;
/// `argmax_offsets` (B F + 1 entries) delimits them, so M_gc is
/// argmax[argmax_offsets[g F + c] .. argmax_offsets[g F + c + 1]). Without ties that is one node
/// per (g, c). The gradient checker compares `argmax` at x +- h, so a tie that breaks or a
/// maximum that moves is seen as a kink.
///
/// Cost: forward O(N F): per graph one pass for the maxima and one over the (cache-resident)
/// rows for the tie sets; backward O(N F) to zero dx plus one write per maximum. The cache
/// keeps its capacity, so a reused cache allocates nothing. Thread-safe (const).
/// Errors: as `SumReadout`.
template <typename Scalar_>
class MaxReadout {
 public:
  using Scalar = Scalar_;

  struct Cache {
    IndexVector argmax;
    IndexVector argmax_offsets;
    Index nodes = -1;
    Index features = -1;
  };

  static constexpr std::string_view layer_name() { return "MaxReadout"; }
  /// Reads x and offsets only: the model layer passes no adjacency gradient.
  static constexpr bool reads_adjacency = false;
  std::string_view name() const { return layer_name(); }
  /// No parameters.
  void parameter_slots(std::vector<Index>& /*out*/) const {}
  /// The discrete decisions of a forward (the tie sets), for the whole-model gradient check.
  static void discrete(const Cache& cache, std::vector<Index>& out) {
    out.insert(out.end(), cache.argmax.begin(), cache.argmax.end());
    out.insert(out.end(), cache.argmax_offsets.begin(), cache.argmax_offsets.end());
  }

  void forward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, Matrix<Scalar>& out,
               Cache& cache) const {
    detail::check_readout_forward(in, -1, layer_name());
    const Index graphs = in.num_graphs(), f = in.x.cols();
    const Scalar* x = in.x.data();
    const Index xs = in.x.outerStride();  // x may be a view of some columns of a wider matrix
    out.resize(graphs, f);
    cache.nodes = in.x.rows();
    cache.features = f;
    cache.argmax.clear();
    cache.argmax.reserve(static_cast<std::size_t>(graphs * f));
    cache.argmax_offsets.resize(static_cast<std::size_t>(graphs * f + 1));
    cache.argmax_offsets[0] = 0;
    // Counters as wide as Scalar, so that the compare-and-count loop vectorises.
    using Count = std::conditional_t<sizeof(Scalar) <= 4, std::int32_t, std::int64_t>;
    std::vector<Count> count(static_cast<std::size_t>(f)), first(static_cast<std::size_t>(f));
    for (Index g = 0; g < graphs; ++g) {
      const Index lo = detail::segment_begin(in.offsets, g), hi = detail::segment_end(in.offsets, g);
      Scalar* o = out.data() + g * f;
      Index* ends = cache.argmax_offsets.data() + g * f + 1;
      if (lo == hi) {
        std::fill(o, o + f, Scalar(0));
        std::fill(ends, ends + f, static_cast<Index>(cache.argmax.size()));
        continue;
      }
      std::copy(x + lo * xs, x + lo * xs + f, o);
      for (Index i = lo + 1; i < hi; ++i) {
        const Scalar* xi = x + i * xs;
        for (Index c = 0; c < f; ++c) {
          const Scalar v = xi[c];
          o[c] = (v > o[c] || v != v) ? v : o[c];  // v != v: a NaN wins and stays
        }
      }
      // Tie sets: count the nodes equal to the maximum and find the first one (rows walked
      // backwards so the lowest index is written last). The block is still in cache.
      std::fill(count.begin(), count.end(), Count(0));
      std::fill(first.begin(), first.end(), Count(0));
      for (Index i = hi - 1; i >= lo; --i) {
        const Scalar* xi = x + i * xs;
        const auto r = static_cast<Count>(i - lo);
        for (Index c = 0; c < f; ++c) {
          const bool eq = xi[c] == o[c];
          count[static_cast<std::size_t>(c)] += static_cast<Count>(eq);
          first[static_cast<std::size_t>(c)] = eq ? r : first[static_cast<std::size_t>(c)];
        }
      }
      for (Index c = 0; c < f; ++c) {
        const Count k = count[static_cast<std::size_t>(c)];
        if (k == 1) {
          cache.argmax.push_back(lo + static_cast<Index>(first[static_cast<std::size_t>(c)]));
        } else if (k > 1) {
          for (Index i = lo; i < hi; ++i)
            if (x[i * xs + c] == o[c]) cache.argmax.push_back(i);
        }
        ends[c] = static_cast<Index>(cache.argmax.size());
      }
    }
  }

  /// Assigns *din.x (N x F) when not null; no parameters, dparams is left as it is.
  void backward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, const Cache& cache,
                const ConstMatrixRef<Scalar>& dout, BatchGradRef<Scalar> din,
                ParameterSet<Scalar>& /*dparams*/) const {
    if (!din.x) return;
    Matrix<Scalar>& dx = *din.x;
    detail::check_readout_backward(in, -1, cache.nodes, cache.features, dout, in.x.cols(), layer_name());
    const Index graphs = in.num_graphs(), f = in.x.cols();
    GNNPOOL_CHECK(cache.argmax_offsets.size() == static_cast<std::size_t>(graphs * f + 1), shape_error,
                  layer_name(), ": the cache holds tie sets for ", cache.argmax_offsets.size() - 1,
                  " (graph, channel) pairs but the batch has ", graphs, " graphs of ", f, " channels");
    dx.resize(in.x.rows(), f);
    // Runs of graphs in parallel: a graph's tie sets hold only its own nodes.
    detail::parallel_graphs(in.offsets, [&](Index g_lo, Index g_hi) {
      for (Index g = g_lo; g < g_hi; ++g) {
        const Index lo = detail::segment_begin(in.offsets, g), hi = detail::segment_end(in.offsets, g);
        std::fill(dx.data() + lo * f, dx.data() + hi * f, Scalar(0));
        const Index* bounds = cache.argmax_offsets.data() + g * f;
        for (Index c = 0; c < f; ++c) {
          const Index p0 = bounds[c], p1 = bounds[c + 1];
          // The tie sets are trusted for their bounds only after this check: a cache of another
          // batch with the same shapes would otherwise write outside the graph (a race between
          // threads, or past dx).
          GNNPOOL_CHECK(0 <= p0 && p0 <= p1 && p1 <= static_cast<Index>(cache.argmax.size()), shape_error,
                        layer_name(), ": the cache's tie set of graph ", g, ", channel ", c, " is [", p0, ", ",
                        p1, ") of ", cache.argmax.size(), " entries (backward needs the cache of the same forward)");
          if (p0 == p1) continue;
          const Scalar share = dout(g, c) / static_cast<Scalar>(p1 - p0);
          for (Index p = p0; p < p1; ++p) {
            const Index node = cache.argmax[static_cast<std::size_t>(p)];
            GNNPOOL_CHECK(lo <= node && node < hi, shape_error, layer_name(), ": the cache's tie set of graph ", g,
                          " names node ", node, ", outside the graph's nodes [", lo, ", ", hi,
                          ") (backward needs the cache of the same forward)");
            dx(node, c) = share;
          }
        }
      }
    });
  }
};

}  // namespace gnnpool

#endif
