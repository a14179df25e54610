#ifndef GNNPOOL_POOL_SAG_POOL_HPP
#define GNNPOOL_POOL_SAG_POOL_HPP

/// \file
/// `SAGPool`: PyG's `SAGPooling` (self-attention graph pooling) as a Select-Reduce-Connect
/// composition.

#include <gnnpool/connect/induced.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/gather.hpp>
#include <gnnpool/select/sag.hpp>

#include <string_view>

namespace gnnpool {

/// SAGSelect + GatherReduce + InducedConnect, PyG's `SAGPooling(in_channels, ratio)`.
///
/// Forward:  g = GNN(X, A) (GraphConv by default, GCNConv as an option), s = act(sign(w) g)
///           (or the min_score softmax), perm = top-k per graph,
///           X' = multiplier · X[perm] ⊙ s[perm], A' = A[perm, perm] (weights kept).
/// Backward: dL/dX through the gather and through the scoring convolution, dL/dA on the stored
///           entries through the induced subgraph and (with `SAGOptions::edge_weights`) through
///           the convolution, and every parameter gradient. docs/score-pooling.md lists which
///           options reproduce PyG, Spektral and the paper.
/// Parameters: see `SAGSelect` (PyG's `SAGPooling` state_dict names under prefix).
template <typename Scalar>
class SAGPool : public Pool<SAGSelect<Scalar>, GatherReduce<Scalar>, InducedConnect<Scalar>> {
 public:
  using Base = Pool<SAGSelect<Scalar>, GatherReduce<Scalar>, InducedConnect<Scalar>>;

  SAGPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels, const SAGOptions& options = {})
      : Base(layer_label(prefix, "SAGPool"), SAGSelect<Scalar>(params, prefix, in_channels, options),
             GatherReduce<Scalar>(static_cast<Scalar>(options.topk.multiplier)), InducedConnect<Scalar>{}) {
    this->expect_features(in_channels);
  }
};

}  // namespace gnnpool

#endif
