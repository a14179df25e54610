#ifndef GNNPOOL_POOL_JUST_BALANCE_POOL_HPP
#define GNNPOOL_POOL_JUST_BALANCE_POOL_HPP

/// \file
/// `JustBalancePool` (Bianchi, "Simplifying clustering with graph neural networks", NLDL 2023):
/// a MinCut-style soft pooler trained by a balance loss alone.

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/loss/balance.hpp>
#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/pool/soft_pool.hpp>
#include <gnnpool/reduce/soft.hpp>

#include <string_view>
#include <tuple>
#include <vector>

namespace gnnpool {

/// Settings of JustBalancePool. Defaults reproduce tgp's `JustBalancePooling(in_channels, k)`.
template <typename Scalar>
struct JustBalancePoolOptions {
  Index k = 0;                                  ///< clusters per graph (required, >= 1)
  std::vector<Index> hidden{};                  ///< hidden widths of the assignment MLP ({}: one Linear)
  Activation activation = Activation::identity; ///< between the MLP's layers (tgp's act=None)
  Scalar temperature = Scalar(1);
  Scalar balance_weight = Scalar(1);            ///< coefficient of "balance_loss" (tgp's loss_coeff)
  JustBalanceLossOptions balance{};             ///< normalisation and which square root
  /// tgp's DenseConnect: zero diagonal, clamped column-degree normalisation.
  SoftConnectNormalization normalization = SoftConnectNormalization::clamped_column_degree;
};

/// The spec of JustBalancePool (pool/soft_pool.hpp):
///
///   S = softmax(MLP(X) / T)                 (SoftAssignSelect; tgp's MLPSelect)
///   X' = S^T X                              (SoftReduce)
///   A' = C^-1/2 (S^T A S - diag) C^-1/2     (SoftConnect, clamped_column_degree)
///   "balance_loss" = mean_b -tr(sqrt(S^T S)) / sqrt(n_b K)   (JustBalanceLoss)
///
/// The loss reads S only: A receives gradient through A' alone.
template <typename Scalar_>
struct JustBalancePoolSpec {
  using Scalar = Scalar_;
  using Options = JustBalancePoolOptions<Scalar>;
  using DefaultScorer = MLP<Scalar>;
  static constexpr std::string_view name = "JustBalancePool";
  static constexpr std::string_view function_name = "just_balance_pool";

  /// `<prefix>.selector.mlp.lins.<l>.{weight,bias}` (tgp's names).
  static MLP<Scalar> make_scorer(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels,
                                 const Options& options) {
    return detail::tgp_selector_mlp(params, name, prefix, in_channels, options);
  }
  static auto make_policies(const Options& options) {
    return std::tuple(SoftReduce<Scalar>(), SoftConnect<Scalar>(options.normalization),
                      JustBalanceLoss<Scalar>(options.balance_weight, options.balance));
  }
};

/// JustBalancePool with any scorer (default: tgp's MLP); see `SoftPool`.
template <typename Scalar, typename Scorer = MLP<Scalar>>
using JustBalancePool = SoftPool<JustBalancePoolSpec<Scalar>, Scorer>;

/// The functional form (logits from the caller).
template <typename Scalar>
using JustBalancePoolFunction = soft_pool_function_t<JustBalancePoolSpec<Scalar>>;

template <typename Scalar>
JustBalancePoolFunction<Scalar> just_balance_pool_function(const JustBalancePoolOptions<Scalar>& options = {}) {
  return soft_pool_function<JustBalancePoolSpec<Scalar>>(options);
}

}  // namespace gnnpool

#endif
