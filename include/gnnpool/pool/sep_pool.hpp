#ifndef GNNPOOL_POOL_SEP_POOL_HPP
#define GNNPOOL_POOL_SEP_POOL_HPP

/// \file
/// `SEPPool`: tgp's `SEPPooling` (structural entropy pooling) as a Select-Reduce-Connect
/// composition.

#include <gnnpool/connect/cluster.hpp>
#include <gnnpool/connect/normalized.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/cluster.hpp>
#include <gnnpool/select/sep.hpp>

#include <string_view>

namespace gnnpool {

struct SEPPoolOptions {
  /// tgp's post-processing: SEP normalises the pooled adjacency symmetrically (degree_norm).
  NormalizedConnectOptions connect{.degree_norm = true};
  ClusterAggregation aggregation = ClusterAggregation::sum;  ///< tgp: S^T X (sum)
};

/// SEPSelect + ClusterReduce (sum) + NormalizedConnect<ClusterConnect> (degree-normalised).
///
/// Forward:  clusters = the depth-1 nodes of the structural-entropy coding tree of each graph;
///           X'_c = sum_{i in c} x_i; A'_cd = sum of the edges between clusters c != d, then
///           A'_cd / sqrt(d_c d_d) (d = A' row sums, clamped at 1e-8).
/// Backward: dL/dX through the sum; dL/dA through the connect and its normalisation. No
///           parameters, no losses. The selection can be precomputed into a pyramid:
///           `make_coarsener(SEPSelect<S>(), NormalizedConnect<ClusterConnect<S>>(ClusterConnect<S>{}, {.degree_norm = true}))`.
/// Lift: `HardLift` (tgp's: x_i = x'_{c(i)}).
template <typename Scalar>
class SEPPool : public Pool<SEPSelect<Scalar>, ClusterReduce<Scalar>, NormalizedConnect<ClusterConnect<Scalar>>> {
 public:
  using Base = Pool<SEPSelect<Scalar>, ClusterReduce<Scalar>, NormalizedConnect<ClusterConnect<Scalar>>>;

  SEPPool(ParameterSet<Scalar>& /*params*/, std::string_view prefix, Index in_channels, SEPPoolOptions options = {})
      : Base(layer_label(prefix, "SEPPool"), SEPSelect<Scalar>{},
             ClusterReduce<Scalar>(ClusterReduceOptions{options.aggregation, ScorePassthrough::none}),
             NormalizedConnect<ClusterConnect<Scalar>>(ClusterConnect<Scalar>{}, options.connect)) {
    this->expect_features(in_channels);
  }
};

}  // namespace gnnpool

#endif
