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
/// Cost: O(N log n_max + B k F). Thread-safe (const).
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
    mutable std::vector<Index> order;  ///< forward workspace (one graph's nodes), reused
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
    for (Index i = 0; i < in.x.rows(); ++i)
      GNNPOOL_CHECK(std::isfinite(in.x(i, f - 1)), invalid_argument, layer_name(), ": x(", i, ", ", f - 1,
                    ") = ", in.x(i, f - 1), " is not finite; the nodes cannot be sorted by the last channel");
    cache.nodes = in.x.rows();
    cache.features = f;
    cache.fill = in.x.size() > 0 ? in.x.minCoeff() - Scalar(1) : Scalar(0);
    cache.source.assign(static_cast<std::size_t>(b * m_k), -1);
    out.setZero(b, m_k * f);
    for (Index g = 0; g < b; ++g) {
      const Index lo = detail::segment_begin(in.offsets, g), hi = detail::segment_end(in.offsets, g);
      const Index kept = std::min(m_k, hi - lo);
      cache.order.resize(static_cast<std::size_t>(hi - lo));
      for (Index i = lo; i < hi; ++i) cache.order[static_cast<std::size_t>(i - lo)] = i;
      std::partial_sort(cache.order.begin(), cache.order.begin() + kept, cache.order.end(), [&](Index a, Index c) {
        return in.x(a, f - 1) > in.x(c, f - 1) || (in.x(a, f - 1) == in.x(c, f - 1) && a < c);
      });
      for (Index s = 0; s < kept; ++s) {
        const Index v = cache.order[static_cast<std::size_t>(s)];
        cache.source[static_cast<std::size_t>(g * m_k + s)] = v;
        for (Index q = 0; q < f; ++q) {
          const Scalar value = in.x(v, q);
          out(g, s * f + q) = value == cache.fill ? Scalar(0) : value;
        }
      }
    }
  }

  /// Assigns *din.x (N x F) when not null; there are no parameters.
  void backward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, const Cache& cache,
                const ConstMatrixRef<Scalar>& dout, BatchGradRef<Scalar> din, ParameterSet<Scalar>& /*dparams*/) const {
    detail::check_readout_backward(in, -1, cache.nodes, cache.features, dout, m_k * in.x.cols(), layer_name());
    if (!din.x) return;
    const Index f = in.x.cols();
    din.x->setZero(in.x.rows(), f);
    for (Index g = 0; g < in.num_graphs(); ++g)
      for (Index s = 0; s < m_k; ++s) {
        const Index v = cache.source[static_cast<std::size_t>(g * m_k + s)];
        if (v < 0) continue;
        for (Index q = 0; q < f; ++q)
          if (in.x(v, q) != cache.fill) (*din.x)(v, q) += dout(g, s * f + q);
      }
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
