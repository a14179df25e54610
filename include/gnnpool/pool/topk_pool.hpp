#ifndef GNNPOOL_POOL_TOPK_POOL_HPP
#define GNNPOOL_POOL_TOPK_POOL_HPP

/// \file
/// `TopKPool`: PyG's `TopKPooling` (Graph U-Net's gPool) as a Select-Reduce-Connect
/// composition, and `TopKAugmentedPool`, the same on Graph U-Net's augmented connectivity.

#include <gnnpool/connect/augmented.hpp>
#include <gnnpool/connect/induced.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/gather.hpp>
#include <gnnpool/select/topk.hpp>

#include <string>
#include <string_view>

namespace gnnpool {

/// TopKSelect + GatherReduce + InducedConnect, PyG's `TopKPooling(in_channels, ratio)`.
///
/// Forward:  s = act(X p / ||p||) (or the min_score softmax), perm = top-k per graph,
///           X' = multiplier · X[perm] ⊙ s[perm], A' = A[perm, perm] (weights kept).
/// Backward: dL/dX (through the gather and the score), dL/dA on the stored entries (the kept
///           edges pass their gradient straight through; the score does not read A), and
///           dL/dp. See the policies for the formulas; docs/score-pooling.md for the options.
/// Parameters: `<prefix>.select.weight` [1, F] (PyG's `TopKPooling` state_dict under prefix).
template <typename Scalar>
class TopKPool : public Pool<TopKSelect<Scalar>, GatherReduce<Scalar>, InducedConnect<Scalar>> {
 public:
  using Base = Pool<TopKSelect<Scalar>, GatherReduce<Scalar>, InducedConnect<Scalar>>;

  TopKPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels, const TopKOptions& options = {})
      : Base(layer_label(prefix, "TopKPool"), TopKSelect<Scalar>(params, prefix, in_channels, options),
             GatherReduce<Scalar>(static_cast<Scalar>(options.multiplier)), InducedConnect<Scalar>{}) {
    this->expect_features(in_channels);
  }
};

/// TopK on (A + I)^2 without its diagonal (Graph U-Net with `GraphUNet.augment_adj`); the same
/// parameters and options as `TopKPool`.
template <typename Scalar>
class TopKAugmentedPool : public Pool<TopKSelect<Scalar>, GatherReduce<Scalar>, AugmentedConnect<Scalar>> {
 public:
  using Base = Pool<TopKSelect<Scalar>, GatherReduce<Scalar>, AugmentedConnect<Scalar>>;

  TopKAugmentedPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels,
                    const TopKOptions& options = {})
      : Base(layer_label(prefix, "TopKAugmentedPool"), TopKSelect<Scalar>(params, prefix, in_channels, options),
             GatherReduce<Scalar>(static_cast<Scalar>(options.multiplier)), AugmentedConnect<Scalar>{}) {
    this->expect_features(in_channels);
  }
};

}  // namespace gnnpool

#endif
