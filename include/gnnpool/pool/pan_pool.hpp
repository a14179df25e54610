#ifndef GNNPOOL_POOL_PAN_POOL_HPP
#define GNNPOOL_POOL_PAN_POOL_HPP

/// \file
/// `PANPool`: PAN pooling (PyG `PANPooling`, tgp `PANPooling`) as a Select-Reduce-Connect
/// composition on the MET matrix.

#include <gnnpool/connect/induced.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/gather.hpp>
#include <gnnpool/select/pan.hpp>

#include <string_view>

namespace gnnpool {

/// PANSelect + GatherReduce + InducedConnect.
///
/// The batch's adjacency is PAN's MET matrix M (PANConv's `Z^-1/2 sum_n e^{-E(n)/T} A^n Z^-1/2`,
/// or any weighted adjacency).
/// Forward:  s = tanh(beta_0 X p + beta_1 deg(M)), perm = top-k per graph (score order),
///           X' = multiplier X[perm] s[perm], A' = M[perm, perm] (weights kept, self loops
///           kept: PAN's `remove_self_loops = False`).
/// Backward: dL/dX through the gather and the score, dL/dM through the induced subgraph and
///           deg(M), dL/dp, dL/dbeta.
/// tgp labels its pooled edges by ascending node index while its pooled rows are in score
/// order; gnnpool's pooled graph is consistent (docs/sparse-pooling.md).
/// Lift: `WeightedHardLift` (tgp: x_{perm_r} = s x'_r) or `HardLift` (Graph U-Net's).
/// Parameters: `<prefix>.p` [1, F], `<prefix>.beta` [1, 2].
template <typename Scalar>
class PANPool : public Pool<PANSelect<Scalar>, GatherReduce<Scalar>, InducedConnect<Scalar>> {
 public:
  using Base = Pool<PANSelect<Scalar>, GatherReduce<Scalar>, InducedConnect<Scalar>>;

  PANPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels, const PANOptions& options = {})
      : Base(layer_label(prefix, "PANPool"), PANSelect<Scalar>(params, prefix, in_channels, options),
             GatherReduce<Scalar>(static_cast<Scalar>(options.topk.multiplier)), InducedConnect<Scalar>{}) {
    this->expect_features(in_channels);
  }
};

}  // namespace gnnpool

#endif
