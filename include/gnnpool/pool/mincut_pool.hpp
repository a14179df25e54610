#ifndef GNNPOOL_POOL_MINCUT_POOL_HPP
#define GNNPOOL_POOL_MINCUT_POOL_HPP

/// \file
/// `MinCutPool` (Bianchi et al., ICML 2020) as an SRC composition, and its functional form
/// `mincut_pool_function` (PyG's `dense_mincut_pool(x, adj, s)` on gnnpool's unpadded batch).

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/loss/mincut.hpp>
#include <gnnpool/loss/orthogonality.hpp>
#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/pool/soft_pool.hpp>
#include <gnnpool/reduce/soft.hpp>

#include <string_view>
#include <tuple>
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

/// The spec of MinCutPool (pool/soft_pool.hpp):
///
///   S = softmax(scorer(X) / T)          (SoftAssignSelect; scorer = MLP with ReLU by default)
///   X' = S^T X                          (SoftReduce)
///   A' = D'^-1/2 (S^T A S - diag) D'^-1/2  (SoftConnect, symmetric)
///   "mincut_loss" = mean_b -tr(S^T A S) / tr(S^T D S),  "ortho_loss" (OrthogonalityLoss).
///
/// PyG pads and masks; on gnnpool's unpadded batch the numbers are the same (the conformance
/// tests check it), except that edgeless graphs give 0 instead of NaN (see MinCutLoss).
template <typename Scalar_>
struct MinCutPoolSpec {
  using Scalar = Scalar_;
  using Options = MinCutPoolOptions<Scalar>;
  using DefaultScorer = MLP<Scalar>;
  static constexpr std::string_view name = "MinCutPool";
  static constexpr std::string_view function_name = "mincut_pool";

  /// Spektral / tgp style: an MLP [in_channels, options.hidden..., options.k] with ReLU between
  /// layers, registered as `<prefix>.mlp.lins.<l>.{weight,bias}`.
  static MLP<Scalar> make_scorer(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels,
                                 const Options& options) {
    return MLP<Scalar>(params, join_name(prefix, "mlp"),
                       detail::soft_scorer_channels(name, prefix, in_channels, options.hidden, options.k),
                       Activation::relu);
  }
  static auto make_policies(const Options& options) {
    return std::tuple(SoftReduce<Scalar>(), SoftConnect<Scalar>(options.normalization),
                      MinCutLoss<Scalar>(options.cut_weight), OrthogonalityLoss<Scalar>(options.ortho_weight));
  }
};

/// MinCutPool with any scorer (default: the MLP of `MinCutPoolSpec`); see `SoftPool`.
template <typename Scalar, typename Scorer = MLP<Scalar>>
using MinCutPool = SoftPool<MinCutPoolSpec<Scalar>, Scorer>;

/// The functional form: logits from the caller. Type of `mincut_pool_function<Scalar>()`.
template <typename Scalar>
using MinCutPoolFunction = soft_pool_function_t<MinCutPoolSpec<Scalar>>;

/// PyG's `dense_mincut_pool(x, adj, s, mask, temp)` on an unpadded batch:
/// `f.forward(batch, logits, out, cache)` then `f.backward(batch, out, cache, grad, din, dlogits)`.
template <typename Scalar>
MinCutPoolFunction<Scalar> mincut_pool_function(const MinCutPoolOptions<Scalar>& options = {}) {
  return soft_pool_function<MinCutPoolSpec<Scalar>>(options);
}

}  // namespace gnnpool

#endif
