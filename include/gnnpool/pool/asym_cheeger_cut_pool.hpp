#ifndef GNNPOOL_POOL_ASYM_CHEEGER_CUT_POOL_HPP
#define GNNPOOL_POOL_ASYM_CHEEGER_CUT_POOL_HPP

/// \file
/// `AsymCheegerCutPool` (Hansen & Bianchi, "Total Variation Graph Neural Networks", ICML 2023):
/// the soft pooler of TV-GNN, trained by the graph total variation of S and an asymmetric-norm
/// balance term.

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/loss/balance.hpp>
#include <gnnpool/loss/total_variation.hpp>
#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/pool/soft_pool.hpp>
#include <gnnpool/reduce/soft.hpp>

#include <string_view>
#include <tuple>
#include <vector>

namespace gnnpool {

/// Settings of AsymCheegerCutPool. Defaults reproduce tgp's `AsymCheegerCutPooling(in_channels, k)`.
template <typename Scalar>
struct AsymCheegerCutPoolOptions {
  Index k = 0;                                  ///< clusters per graph (required, >= 1)
  std::vector<Index> hidden{};                  ///< hidden widths of the assignment MLP ({}: one Linear)
  Activation activation = Activation::identity; ///< between the MLP's layers (tgp's act=None)
  Scalar temperature = Scalar(1);
  Scalar total_variation_weight = Scalar(1);    ///< coefficient of "total_variation_loss" (tgp's totvar_coeff)
  Scalar balance_weight = Scalar(1);            ///< coefficient of "balance_loss" (tgp's balance_coeff)
  /// tgp's DenseConnect: zero diagonal, clamped column-degree normalisation.
  SoftConnectNormalization normalization = SoftConnectNormalization::clamped_column_degree;
};

/// The spec of AsymCheegerCutPool (pool/soft_pool.hpp):
///
///   S = softmax(MLP(X) / T)                 (SoftAssignSelect; tgp's MLPSelect)
///   X' = S^T X                              (SoftReduce)
///   A' = C^-1/2 (S^T A S - diag) C^-1/2     (SoftConnect, clamped_column_degree)
///   "total_variation_loss" = mean_b sum_ij A_ij |S_i - S_j|_1 / (2 E_b)   (TotalVariationLoss)
///   "balance_loss" = the asymmetric norm of S around its 1/K quantiles     (AsymmetricNormLoss)
///
/// TV-GNN's GTV message-passing layers (the convolutions of the paper's model) are not part of
/// the pooler; the assignment comes from any scorer.
template <typename Scalar_>
struct AsymCheegerCutPoolSpec {
  using Scalar = Scalar_;
  using Options = AsymCheegerCutPoolOptions<Scalar>;
  using DefaultScorer = MLP<Scalar>;
  static constexpr std::string_view name = "AsymCheegerCutPool";
  static constexpr std::string_view function_name = "asym_cheeger_cut_pool";

  /// `<prefix>.selector.mlp.lins.<l>.{weight,bias}` (tgp's names).
  static MLP<Scalar> make_scorer(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels,
                                 const Options& options) {
    return detail::tgp_selector_mlp(params, name, prefix, in_channels, options);
  }
  static auto make_policies(const Options& options) {
    return std::tuple(SoftReduce<Scalar>(), SoftConnect<Scalar>(options.normalization),
                      TotalVariationLoss<Scalar>(options.total_variation_weight),
                      AsymmetricNormLoss<Scalar>(options.balance_weight));
  }
};

/// AsymCheegerCutPool with any scorer (default: tgp's MLP); see `SoftPool`.
template <typename Scalar, typename Scorer = MLP<Scalar>>
using AsymCheegerCutPool = SoftPool<AsymCheegerCutPoolSpec<Scalar>, Scorer>;

/// The functional form (logits from the caller).
template <typename Scalar>
using AsymCheegerCutPoolFunction = soft_pool_function_t<AsymCheegerCutPoolSpec<Scalar>>;

template <typename Scalar>
AsymCheegerCutPoolFunction<Scalar> asym_cheeger_cut_pool_function(const AsymCheegerCutPoolOptions<Scalar>& options = {}) {
  return soft_pool_function<AsymCheegerCutPoolSpec<Scalar>>(options);
}

}  // namespace gnnpool

#endif
