#ifndef GNNPOOL_POOL_MINCUT_POOL_HPP
#define GNNPOOL_POOL_MINCUT_POOL_HPP

/// \file
/// `MinCutPool` (Bianchi et al., ICML 2020) as an SRC composition, and its functional form
/// `mincut_pool_function` (PyG's `dense_mincut_pool(x, adj, s)` on gnnpool's unpadded batch).

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/loss/mincut.hpp>
#include <gnnpool/loss/orthogonality.hpp>
#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/pool/soft_function.hpp>
#include <gnnpool/reduce/soft.hpp>
#include <gnnpool/select/soft_assign.hpp>

#include <concepts>
#include <string_view>
#include <utility>
#include <vector>

namespace gnnpool {

/// Settings of MinCutPool. Defaults reproduce PyG's `dense_mincut_pool` (temp = 1, both losses
/// returned with weight 1, the pooled adjacency normalised).
template <typename Scalar>
struct MinCutPoolOptions {
  Index k = 0;                      ///< clusters per graph (required, >= 1)
  std::vector<Index> hidden{};      ///< hidden widths of the assignment MLP ({}: one Linear)
  Scalar temperature = Scalar(1);
  Scalar cut_weight = Scalar(1);    ///< coefficient of "mincut_loss"
  Scalar ortho_weight = Scalar(1);  ///< coefficient of "ortho_loss"
  /// `symmetric` (PyG, Spektral, tgp): zero diagonal + D^-1/2 A D^-1/2; `none`: raw S^T A S.
  SoftConnectNormalization normalization = SoftConnectNormalization::symmetric;
};

/// The SRC composition MinCutPool is.
template <typename Scorer>
using MinCutPoolBase = Pool<SoftAssignSelect<Scorer>, SoftReduce<typename Scorer::Scalar>,
                            SoftConnect<typename Scorer::Scalar>, MinCutLoss<typename Scorer::Scalar>,
                            OrthogonalityLoss<typename Scorer::Scalar>>;

/// MinCutPool:
///
///   S = softmax(scorer(X) / T)          (SoftAssignSelect; scorer = MLP by default)
///   X' = S^T X                          (SoftReduce)
///   A' = D'^-1/2 (S^T A S - diag) D'^-1/2  (SoftConnect, symmetric)
///   "mincut_loss" = mean_b -tr(S^T A S) / tr(S^T D S),  "ortho_loss" (OrthogonalityLoss).
///
/// Every step is one policy; see their headers for the backward passes, which together give
/// dL/dX, dL/dA on the stored entries (so a second soft pooler can follow) and the scorer's
/// parameter gradients. Per graph, no padding: O(E K + N K (K + F)) plus the scorer.
/// PyG pads and masks; on gnnpool's unpadded batch the numbers are the same (the conformance
/// tests check it), except that edgeless graphs give 0 instead of NaN (see MinCutLoss).
template <typename Scalar_, typename Scorer = MLP<Scalar_>>
class MinCutPool : public MinCutPoolBase<Scorer> {
 public:
  using Scalar = Scalar_;
  using Base = MinCutPoolBase<Scorer>;
  static_assert(std::same_as<Scalar, typename Scorer::Scalar>, "MinCutPool: the scorer must use the pool's Scalar");

  /// Spektral / tgp style: an MLP [in_channels, options.hidden..., options.k] with ReLU between
  /// layers, registered as `<prefix>.mlp.lins.<l>.{weight,bias}`.
  MinCutPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels,
             const MinCutPoolOptions<Scalar>& options)
    requires std::same_as<Scorer, MLP<Scalar>>
      : MinCutPool(MLP<Scalar>(params, join_name(prefix, "mlp"),
                               detail::soft_scorer_channels("MinCutPool", prefix, in_channels, options.hidden, options.k),
                               Activation::relu),
                   options, prefix) {
    this->expect_features(in_channels);
  }

  /// Any scorer (an MLP, a Linear, a graph convolution) built by the caller; options.k and
  /// options.hidden are not read (K is the scorer's output width).
  explicit MinCutPool(Scorer scorer, const MinCutPoolOptions<Scalar>& options = {}, std::string_view prefix = {})
      : Base(layer_label(prefix, "MinCutPool"), SoftAssignSelect<Scorer>(std::move(scorer), options.temperature),
             SoftReduce<Scalar>(), SoftConnect<Scalar>(options.normalization), MinCutLoss<Scalar>(options.cut_weight),
             OrthogonalityLoss<Scalar>(options.ortho_weight)) {}

  Index num_clusters() const { return this->select().num_clusters(); }
};

/// The functional form: logits from the caller. Type of `mincut_pool_function<Scalar>()`.
template <typename Scalar>
using MinCutPoolFunction =
    SoftPoolFunction<SoftReduce<Scalar>, SoftConnect<Scalar>, MinCutLoss<Scalar>, OrthogonalityLoss<Scalar>>;

/// PyG's `dense_mincut_pool(x, adj, s, mask, temp)` on an unpadded batch:
/// `f.forward(batch, logits, out, cache)` then `f.backward(batch, out, cache, grad, din, dlogits)`.
template <typename Scalar>
MinCutPoolFunction<Scalar> mincut_pool_function(const MinCutPoolOptions<Scalar>& options = {}) {
  return MinCutPoolFunction<Scalar>("mincut_pool", options.temperature, SoftReduce<Scalar>(),
                                    SoftConnect<Scalar>(options.normalization), MinCutLoss<Scalar>(options.cut_weight),
                                    OrthogonalityLoss<Scalar>(options.ortho_weight));
}

}  // namespace gnnpool

#endif
