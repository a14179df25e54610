#ifndef GNNPOOL_POOL_NO_POOL_HPP
#define GNNPOOL_POOL_NO_POOL_HPP

/// \file
/// `NoPool`: the identity pooler (tgp's `NoPool`), the baseline of every comparison, in the same
/// API as every other pooler.

#include <gnnpool/connect/induced.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/gather.hpp>
#include <gnnpool/select/identity.hpp>

#include <string_view>

namespace gnnpool {

/// NoPool has no hyper-parameters; the struct keeps the uniform constructor shape.
struct NoPoolOptions {};

/// IdentitySelect + GatherReduce (no gate) + InducedConnect: X' = X, A' = A, same offsets.
///
/// Forward:  the pooled batch is a copy of the input (x, adj with its weights and explicit
///           zeros, offsets); the selection is the identity.
/// Backward: dL/dX = dL/dX', dL/dA = dL/dA' (entry by entry); no parameters, no losses.
/// Cost: O(N F + E) both ways (one copy). Use it where a model needs "no pooling" in the place of
/// a pooler (a baseline row, an ablation) without a second code path.
template <typename Scalar>
class NoPool : public Pool<IdentitySelect<Scalar>, GatherReduce<Scalar>, InducedConnect<Scalar>> {
 public:
  using Base = Pool<IdentitySelect<Scalar>, GatherReduce<Scalar>, InducedConnect<Scalar>>;

  NoPool(ParameterSet<Scalar>& /*params*/, std::string_view prefix, Index in_channels, NoPoolOptions /*options*/ = {})
      : Base(layer_label(prefix, "NoPool"), IdentitySelect<Scalar>{}, GatherReduce<Scalar>(Scalar(1), false),
             InducedConnect<Scalar>{}) {
    this->expect_features(in_channels);
  }
};

}  // namespace gnnpool

#endif
