#ifndef GNNPOOL_POOL_GRACLUS_POOL_HPP
#define GNNPOOL_POOL_GRACLUS_POOL_HPP

/// \file
/// `GraclusPool`: Graclus matching + cluster reduce + cluster connect (PyG `graclus` followed by
/// `max_pool` / `avg_pool`).

#include <gnnpool/connect/cluster.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/cluster.hpp>
#include <gnnpool/select/graclus.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace gnnpool {

struct GraclusPoolOptions {
  GraclusOptions select{};
  /// max reproduces PyG `max_pool`, mean `avg_pool`, sum tgp's GraclusPooling.
  ClusterAggregation aggregation = ClusterAggregation::max;
  ClusterConnectOptions connect{};
};

/// Graclus pooling: `Pool<GraclusSelect, ClusterReduce, ClusterConnect>`.
///
/// Forward: pairs of matched nodes (and unmatched singletons) become supernodes, numbered by
/// their smaller node; x' = max / mean / sum over each pair; A' sums the edges between pairs and
/// drops the edges inside one. Backward: dL/dX through the reduce (max: to the maxima, ties
/// split evenly), dL/dA through connect (each input edge gets the gradient of the pooled edge it
/// was summed into). No parameters. Cost: O((N + E) + N F); see the three policies.
template <typename Scalar>
class GraclusPool : public Pool<GraclusSelect<Scalar>, ClusterReduce<Scalar>, ClusterConnect<Scalar>> {
 public:
  using Base = Pool<GraclusSelect<Scalar>, ClusterReduce<Scalar>, ClusterConnect<Scalar>>;

  /// The construction every pooler shares; Graclus registers no parameter in `params`.
  GraclusPool(ParameterSet<Scalar>& /*params*/, std::string_view prefix, Index in_channels,
              GraclusPoolOptions options = {})
      : Base(layer_label(prefix, "GraclusPool"), GraclusSelect<Scalar>(std::move(options.select)),
             ClusterReduce<Scalar>(ClusterReduceOptions{options.aggregation, ScorePassthrough::none}),
             ClusterConnect<Scalar>(options.connect)) {
    this->expect_features(in_channels);
  }
};

}  // namespace gnnpool

#endif
