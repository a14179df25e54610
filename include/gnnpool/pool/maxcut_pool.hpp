#ifndef GNNPOOL_POOL_MAXCUT_POOL_HPP
#define GNNPOOL_POOL_MAXCUT_POOL_HPP

/// \file
/// `MaxCutPool`: tgp's `MaxCutPooling` (Abate & Bianchi, ICLR 2025) as a Select-Reduce-Connect
/// composition with its auxiliary loss.

#include <gnnpool/connect/cluster.hpp>
#include <gnnpool/connect/normalized.hpp>
#include <gnnpool/loss/maxcut.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/cluster.hpp>
#include <gnnpool/select/maxcut.hpp>

#include <string_view>
#include <utility>

namespace gnnpool {

struct MaxCutPoolOptions {
  MaxCutOptions select{};
  double loss_coeff = 1.0;  ///< weight of `maxcut_loss` (tgp's `loss_coeff`)
  /// tgp's post-processing of the pooled adjacency: by default each pooled graph's weights are
  /// divided by their largest magnitude (`edge_weight_norm = True`).
  NormalizedConnectOptions connect{.max_norm = true};
};

/// MaxCutSelect + ClusterReduce (sum, score before) + NormalizedConnect<ClusterConnect> +
/// MaxCutLoss.
///
/// Forward:  z = the score network's output; kept nodes = top-k of z per graph; every node joins
///           a kept node (majority vote over 5 hops, then the fallback); X'_c = sum_{i in c}
///           z_i x_i; A'_cd = sum of the edges between clusters c != d, divided by the largest
///           |A'| of the pooled graph; `maxcut_loss` = mean_b z^T A_b z / vol_b, weighted by
///           loss_coeff.
/// Backward: dL/dX through the sum, the loss and the score network; dL/dA through the connect
///           (the max normalisation's tie rule is scatter_max's: see NormalizedConnect), the
///           loss and P = I - delta L_sym; every parameter of the score network.
/// Lift: `WeightedHardLift` (x_i = z_i x'_{a_i}, tgp's).
/// Parameters: see MaxCutSelect (tgp's names under `<prefix>.selector.score_net`).
template <typename Scalar>
class MaxCutPool : public Pool<MaxCutSelect<Scalar>, ClusterReduce<Scalar>, NormalizedConnect<ClusterConnect<Scalar>>,
                               MaxCutLoss<Scalar>> {
 public:
  using Base = Pool<MaxCutSelect<Scalar>, ClusterReduce<Scalar>, NormalizedConnect<ClusterConnect<Scalar>>,
                    MaxCutLoss<Scalar>>;

  MaxCutPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels, MaxCutPoolOptions options = {})
      : Base(layer_label(prefix, "MaxCutPool"), MaxCutSelect<Scalar>(params, prefix, in_channels, std::move(options.select)),
             ClusterReduce<Scalar>(ClusterReduceOptions{ClusterAggregation::sum, ScorePassthrough::before}),
             NormalizedConnect<ClusterConnect<Scalar>>(ClusterConnect<Scalar>{}, options.connect),
             MaxCutLoss<Scalar>(static_cast<Scalar>(options.loss_coeff))) {
    this->expect_features(in_channels);
  }
};

}  // namespace gnnpool

#endif
