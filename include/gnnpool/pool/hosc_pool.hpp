#ifndef GNNPOOL_POOL_HOSC_POOL_HPP
#define GNNPOOL_POOL_HOSC_POOL_HPP

/// \file
/// `HOSCPool` (Duval & Malliaros, "Higher-order clustering and pooling for graph neural
/// networks", CIKM 2022): MinCut's cut mixed with the cut of a motif adjacency.

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/loss/higher_order_cut.hpp>
#include <gnnpool/loss/orthogonality.hpp>
#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/pool/soft_pool.hpp>
#include <gnnpool/reduce/soft.hpp>

#include <string_view>
#include <tuple>
#include <vector>

namespace gnnpool {

/// Settings of HOSCPool. Defaults reproduce tgp's `HOSCPooling(in_channels, k)` (mu = 0.1,
/// alpha = 0.5, motif A^3, MinCut's orthogonality loss).
template <typename Scalar>
struct HOSCPoolOptions {
  Index k = 0;                                  ///< clusters per graph (required, >= 1)
  std::vector<Index> hidden{};                  ///< hidden widths of the assignment MLP ({}: one Linear)
  Activation activation = Activation::identity; ///< between the MLP's layers (tgp's act=None)
  Scalar temperature = Scalar(1);
  Scalar hosc_weight = Scalar(1);               ///< coefficient of "hosc_loss"
  Scalar ortho_weight = Scalar(0.1);            ///< coefficient of "ortho_loss" (tgp's mu)
  /// alpha, the motif (tgp: A^3; the paper: triangles) and the denominators' eps.
  HigherOrderCutLossOptions cut{};
  /// tgp's DenseConnect: zero diagonal, clamped column-degree normalisation.
  SoftConnectNormalization normalization = SoftConnectNormalization::clamped_column_degree;
};

/// The spec of HOSCPool (pool/soft_pool.hpp):
///
///   S = softmax(MLP(X) / T)                 (SoftAssignSelect; tgp's MLPSelect)
///   X' = S^T X                              (SoftReduce)
///   A' = C^-1/2 (S^T A S - diag) C^-1/2     (SoftConnect, clamped_column_degree)
///   "hosc_loss" = ((1 - alpha) cut(A) + alpha cut(M)) / K   (HigherOrderCutLoss, from the raw A)
///   "ortho_loss" (OrthogonalityLoss), weighted by mu
///
/// tgp reports "ortho_loss" already multiplied by mu; gnnpool reports the value and mu as its
/// weight (the objective weight * value is the same).
template <typename Scalar_>
struct HOSCPoolSpec {
  using Scalar = Scalar_;
  using Options = HOSCPoolOptions<Scalar>;
  using DefaultScorer = MLP<Scalar>;
  static constexpr std::string_view name = "HOSCPool";
  static constexpr std::string_view function_name = "hosc_pool";

  /// `<prefix>.selector.mlp.lins.<l>.{weight,bias}` (tgp's names).
  static MLP<Scalar> make_scorer(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels,
                                 const Options& options) {
    return detail::tgp_selector_mlp(params, name, prefix, in_channels, options);
  }
  static auto make_policies(const Options& options) {
    return std::tuple(SoftReduce<Scalar>(), SoftConnect<Scalar>(options.normalization),
                      HigherOrderCutLoss<Scalar>(options.hosc_weight, options.cut),
                      OrthogonalityLoss<Scalar>(options.ortho_weight));
  }
};

/// HOSCPool with any scorer (default: tgp's MLP); see `SoftPool`.
template <typename Scalar, typename Scorer = MLP<Scalar>>
using HOSCPool = SoftPool<HOSCPoolSpec<Scalar>, Scorer>;

/// The functional form (logits from the caller).
template <typename Scalar>
using HOSCPoolFunction = soft_pool_function_t<HOSCPoolSpec<Scalar>>;

template <typename Scalar>
HOSCPoolFunction<Scalar> hosc_pool_function(const HOSCPoolOptions<Scalar>& options = {}) {
  return soft_pool_function<HOSCPoolSpec<Scalar>>(options);
}

}  // namespace gnnpool

#endif
