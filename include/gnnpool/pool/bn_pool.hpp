#ifndef GNNPOOL_POOL_BN_POOL_HPP
#define GNNPOOL_POOL_BN_POOL_HPP

/// \file
/// `BNPool` (Castellana & Bianchi, "BN-Pool: a Bayesian nonparametric approach for graph
/// pooling"; tgp's `BNPool`) as an SRC composition.

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/loss/bnpool.hpp>
#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/pool/soft_pool.hpp>
#include <gnnpool/reduce/soft.hpp>
#include <gnnpool/select/stick_breaking.hpp>

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace gnnpool {

/// Settings of BNPool. Defaults reproduce tgp's `BNPool(in_channels, k)`.
template <typename Scalar>
struct BNPoolOptions {
  Index k = 0;                                  ///< the largest number of clusters (>= 2)
  std::vector<Index> hidden{};                  ///< hidden widths of the MLP ({}: one Linear)
  Activation activation = Activation::identity; ///< between the MLP's layers (tgp's act=None)
  Scalar alpha_dp = Scalar(1);                  ///< the Dirichlet-process concentration (prior Beta(1, alpha_DP))
  Scalar k_var = Scalar(1);                     ///< K's prior variance
  Scalar k_mu = Scalar(10);                     ///< K's prior mean: +k_mu on the diagonal, -k_mu off it
  Scalar k_init = Scalar(1);                    ///< K's initial value: +k_init on the diagonal, -k_init off it
  Scalar quality_weight = Scalar(1);            ///< coefficient of "quality"
  Scalar kl_weight = Scalar(1);                 ///< coefficient of "kl" (tgp's eta)
  Scalar k_prior_weight = Scalar(1);            ///< coefficient of "K_prior" (0: tgp's train_K = False prior)
  StickBreakingSelectOptions sampling{};        ///< how z is drawn (training: seeded quantiles)
  /// Which pairs the reconstruction reads: every pair (tgp's BNPool) or the edges and as many
  /// sampled non-edges (tgp's sparse BN-Pool; O(E K), for large graphs). Its non-edges use
  /// `sampling.seed` (a stream of their own) and follow `sampling.redraw`.
  ReconstructionPairs reconstruction = ReconstructionPairs::all;
  const Matrix<Scalar>* given_samples = nullptr;  ///< z for `StickBreakingSampling::given` (replay)
  /// tgp's DenseConnect: zero diagonal, clamped column-degree normalisation.
  SoftConnectNormalization normalization = SoftConnectNormalization::clamped_column_degree;
};

/// The SRC composition BNPool is.
template <typename Scalar>
using BNPoolBase = Pool<StickBreakingSelect<MLP<Scalar>>, SoftReduce<Scalar>, SoftConnect<Scalar>,
                        EdgeReconstructionLoss<Scalar>, StickBreakingKLLoss<Scalar>, ConnectivityPriorLoss<Scalar>>;

/// BN-Pool:
///
///   S = stick breaking of z ~ Beta(alpha, beta), [alpha | beta] = clamp(softplus(MLP(X)))
///                                        (StickBreakingSelect; at most K clusters)
///   X' = S^T X                           (SoftReduce)
///   A' = C^-1/2 (S^T A S - diag) C^-1/2  (SoftConnect, clamped_column_degree)
///   "quality" = class-balanced BCE of S K S^T against A (EdgeReconstructionLoss),
///   "kl" = KL of the stick fractions to Beta(1, alpha_DP) (StickBreakingKLLoss),
///   "K_prior" = the Gaussian prior of K (ConnectivityPriorLoss).
///
/// Parameters: the MLP (`<prefix>.selector.mlp.lins.<l>.*`, 2 (K - 1) outputs) and the cluster
/// connectivity `<prefix>.K` (K x K, initialised to k_init (2 I - 1 1^T) by `params.initialize`),
/// tgp's names. Backward: the policies' (K's gradient is the sum of the quality and prior
/// losses'). The sample is replayable: see `StickBreakingSampling`. Cost: with
/// `ReconstructionPairs::all` the reconstruction's O(sum_b n_b^2 K) dominates (every pair of a
/// graph enters, as tgp's dense loss); with `sampled` everything is O(E K) plus the sample's
/// O(N K) special functions.
template <typename Scalar_>
class BNPool : public BNPoolBase<Scalar_> {
 public:
  using Scalar = Scalar_;
  using Base = BNPoolBase<Scalar>;

  BNPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels, const BNPoolOptions<Scalar>& options)
      : BNPool(params, prefix, in_channels, options,
               params.add(join_name(prefix, "K"), checked_k(prefix, options.k), options.k, Init::signed_identity, 0,
                          static_cast<double>(options.k_init))) {}

  Index num_clusters() const { return this->select().num_clusters(); }

 private:
  BNPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels, const BNPoolOptions<Scalar>& o,
         Index k_slot)
      : Base(layer_label(prefix, "BNPool"),
             StickBreakingSelect<MLP<Scalar>>(
                 MLP<Scalar>(params, join_name(join_name(prefix, "selector"), "mlp"),
                             detail::soft_scorer_channels("BNPool", prefix, in_channels, o.hidden, 2 * (o.k - 1)),
                             o.activation),
                 o.k, o.sampling, o.given_samples),
             SoftReduce<Scalar>(), SoftConnect<Scalar>(o.normalization),
             EdgeReconstructionLoss<Scalar>(k_slot, o.quality_weight, o.reconstruction, negative_seed(o.sampling.seed),
                                            o.sampling.redraw),
             StickBreakingKLLoss<Scalar>(o.kl_weight, o.alpha_dp, o.reconstruction),
             ConnectivityPriorLoss<Scalar>(k_slot, o.k_prior_weight, o.k_mu, o.k_var, o.reconstruction)) {
    this->expect_features(in_channels);
  }

  /// The non-edges' stream: the quantiles' seed, mixed so that the two streams differ.
  static std::uint64_t negative_seed(std::uint64_t seed) { return seed ^ 0xD1B54A32D192ED03ULL; }

  static Index checked_k(std::string_view prefix, Index k) {
    GNNPOOL_CHECK(k >= 2, invalid_argument, layer_label(prefix, "BNPool"), ": k must be >= 2, got ", k, " (set options.k)");
    return k;
  }
};

}  // namespace gnnpool

#endif
