#ifndef GNNPOOL_LOSS_CLUSTER_HPP
#define GNNPOOL_LOSS_CLUSTER_HPP

/// \file
/// `ClusterLoss`: DMoN's collapse regulariser sqrt(K) ||sum_i S_i|| / n - 1, per graph.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/soft_kernels.hpp>

#include <cmath>
#include <string_view>

namespace gnnpool {

/// Collapse regulariser of DMoN (PyG's `cluster_loss`), mean over graphs:
///
///   u_b = sum_{i in b} S_i (the soft cluster sizes, K),  l_b = sqrt(K) |u_b|_2 / n_b - 1.
///
/// Computed per graph with each graph's own n_b, which is what PyG intends but does not do for
/// batches of several graphs (pyg-team/pytorch_geometric#10148 broadcasts a [B, 1] mask count
/// against [B] norms, giving a B x B mean): gnnpool returns the corrected value.
/// Backward (g = w / B): dS_i += g sqrt(K) / n_b * u_b / |u_b|.  No adjacency.
/// l_b is in [0, sqrt(K) - 1]: 0 for balanced one-hot clusters, sqrt(K) - 1 when all nodes are
/// in one cluster. An empty graph counts as l_b = 0 (PyG: 0/0 = NaN).
/// Cost: O(N K) both ways. Cache: u_b. Thread-safe (const). The original DMoN weight is 0.1;
/// PyG returns the loss unweighted (weight 1, gnnpool's default).
template <typename Scalar_>
class ClusterLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    Matrix<Scalar> sizes;  ///< u_b as B x K
  };

  explicit ClusterLoss(Scalar weight = Scalar(1)) : m_weight(weight) {}
  std::string_view name() const { return "cluster_loss"; }
  Scalar weight() const { return m_weight; }

  Scalar forward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, Cache& cache) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "ClusterLoss");
    const Index nb = detail::num_graphs(sel);
    const Scalar sqrt_k = std::sqrt(static_cast<Scalar>(sel.s.cols()));
    cache.sizes = detail::graph_weighted_column_sums<Scalar>(sel, nullptr);
    Vector<Scalar> per_graph(nb);
    for (Index b = 0; b < nb; ++b) {
      const Index n = in.graph_size(b);
      per_graph[b] = n > 0 ? cache.sizes.row(b).norm() / static_cast<Scalar>(n) * sqrt_k - Scalar(1) : Scalar(0);
    }
    return detail::graph_mean(per_graph);
  }

  void backward(const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel, const Cache& cache, Scalar dloss,
                BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) const {
    (void)din;
    const Index nb = detail::num_graphs(sel);
    const Scalar g = dloss / static_cast<Scalar>(nb);
    const Scalar sqrt_k = std::sqrt(static_cast<Scalar>(sel.s.cols()));
    for (Index b = 0; b < nb; ++b) {
      const Index n = in.graph_size(b);
      const Scalar norm = cache.sizes.row(b).norm();
      if (n == 0 || norm == Scalar(0)) continue;
      const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> step = (g * sqrt_k / (static_cast<Scalar>(n) * norm)) * cache.sizes.row(b);
      detail::graph_rows(dsel, sel.offsets, b).rowwise() += step;
    }
  }

 private:
  Scalar m_weight;
};

}  // namespace gnnpool

#endif
