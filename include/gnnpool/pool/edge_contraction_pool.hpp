#ifndef GNNPOOL_POOL_EDGE_CONTRACTION_POOL_HPP
#define GNNPOOL_POOL_EDGE_CONTRACTION_POOL_HPP

/// \file
/// `EdgeContractionPool`: tgp's `EdgeContractionPooling` (PyG's `EdgePooling`, Diehl 2019) as a
/// Select-Reduce-Connect composition.

#include <gnnpool/connect/cluster.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/cluster.hpp>
#include <gnnpool/select/edge_contraction.hpp>

#include <string_view>
#include <utility>

namespace gnnpool {

struct EdgeContractionPoolOptions {
  EdgeContractionOptions select{};
  /// tgp drops the edges inside a contracted pair (PyG's EdgePooling keeps them as self loops,
  /// docs/sparse-pooling.md); `connect.keep_self_loops` keeps them.
  ClusterConnectOptions connect{};
};

/// EdgeContractionSelect + ClusterReduce (sum, score before) + ClusterConnect.
///
/// Forward:  edge scores e (softmax over each node's incoming edges + 0.5), greedy matching of
///           the best-scored edges; X'_c = sum_{i in c} w_i x_i with w_i the score of i's matched
///           edge (1 for a singleton), so a pair gives e (x_s + x_t) as in PyG; A'_cd = sum of the
///           edges between clusters c != d.
/// Backward: dL/dX through the sum and through the edge scores, dL/dA through the connect, and
///           dL/d(selector.lin.*). The lift of tgp is `WeightedHardLift` (x_i = w_i x'_c); PyG's
///           `unpool` (x_i = x'_c / w_i) is `WeightedHardLift` with `LiftWeighting::divide`.
/// Parameters: `<prefix>.selector.lin.weight` [1, 2F], `<prefix>.selector.lin.bias` [1, 1].
/// Cost: see the policies: O(N F + E log E) forward, O(N F + E) backward.
template <typename Scalar>
class EdgeContractionPool
    : public Pool<EdgeContractionSelect<Scalar>, ClusterReduce<Scalar>, ClusterConnect<Scalar>> {
 public:
  using Base = Pool<EdgeContractionSelect<Scalar>, ClusterReduce<Scalar>, ClusterConnect<Scalar>>;

  EdgeContractionPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels,
                      EdgeContractionPoolOptions options = {})
      : Base(layer_label(prefix, "EdgeContractionPool"),
             EdgeContractionSelect<Scalar>(params, prefix, in_channels, std::move(options.select)),
             ClusterReduce<Scalar>(ClusterReduceOptions{ClusterAggregation::sum, ScorePassthrough::before}),
             ClusterConnect<Scalar>(options.connect)) {
    this->expect_features(in_channels);
  }
};

}  // namespace gnnpool

#endif
