#ifndef GNNPOOL_POOL_KMIS_POOL_HPP
#define GNNPOOL_POOL_KMIS_POOL_HPP

/// \file
/// `KMISPool`: k-MIS selection + cluster reduce (with score passthrough) + cluster connect
/// (PyG pull request #6488's `KMISPooling`, tgp's `KMISPooling`).

#include <gnnpool/connect/cluster.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/cluster.hpp>
#include <gnnpool/select/kmis.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace gnnpool {

struct KMISPoolOptions {
  KMISOptions select{};
  /// representative = PR #6488's `aggr_x=None` (x[mis]); max / mean / sum its `aggr_x` strings.
  ClusterAggregation aggregation = ClusterAggregation::representative;
  /// PR #6488's `score_passthrough`: "before" multiplies x by the score before pooling, "after"
  /// the pooled x by the score of the MIS node. tgp's default is sum with `before`.
  ScorePassthrough passthrough = ScorePassthrough::before;
  ClusterConnectOptions connect{};
};

/// k-MIS pooling: `Pool<KMISSelect, ClusterReduce, ClusterConnect>`.
///
/// Forward: the k-MIS nodes become the supernodes (ascending node index), every node joins the
/// best-ranked MIS node within k hops; x' by the chosen aggregation with the score applied
/// before or after; A' sums the edges between clusters (value 1 per input edge on an
/// unweighted batch, as PyG) and drops those inside one. Backward: dL/dX through the reduce and
/// the linear scorer, dL/d(lin.weight, lin.bias) through the passthrough, dL/dA through connect.
/// Cost: see KMISSelect, ClusterReduce, ClusterConnect.
template <typename Scalar>
class KMISPool : public Pool<KMISSelect<Scalar>, ClusterReduce<Scalar>, ClusterConnect<Scalar>> {
 public:
  using Base = Pool<KMISSelect<Scalar>, ClusterReduce<Scalar>, ClusterConnect<Scalar>>;

  /// Registers `<prefix>.lin.weight` / `<prefix>.lin.bias` when the scorer is linear. A linear
  /// scorer without passthrough would get no gradient and is rejected (as PR #6488 does).
  KMISPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels, KMISPoolOptions options = {})
      : Base(layer_label(prefix, "KMISPool"), make_select(params, prefix, in_channels, options),
             ClusterReduce<Scalar>(ClusterReduceOptions{options.aggregation, options.passthrough}),
             ClusterConnect<Scalar>(options.connect)) {
    this->expect_features(in_channels);
  }

 private:
  static KMISSelect<Scalar> make_select(ParameterSet<Scalar>& params, std::string_view prefix,
                                        Index in_features, const KMISPoolOptions& options) {
    GNNPOOL_CHECK(options.select.scorer != KMISScorer::linear || options.passthrough != ScorePassthrough::none,
                  invalid_argument,
                  "KMISPool: the linear scorer needs a score passthrough (before or after); with "
                  "none its parameters would get no gradient");
    return KMISSelect<Scalar>(params, prefix, in_features, options.select);
  }
};

}  // namespace gnnpool

#endif
