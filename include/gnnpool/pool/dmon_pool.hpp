#ifndef GNNPOOL_POOL_DMON_POOL_HPP
#define GNNPOOL_POOL_DMON_POOL_HPP

/// \file
/// `DMoNPool` (Tsitsulin et al., JMLR 2023) as an SRC composition, and its functional form
/// `dmon_pool_function`.

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/loss/cluster.hpp>
#include <gnnpool/loss/modularity.hpp>
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

/// Settings of DMoNPool. Defaults reproduce PyG's `DMoNPooling` (dropout 0): SELU on S^T X,
/// normalised pooled adjacency, the three losses returned with weight 1.
template <typename Scalar>
struct DMoNPoolOptions {
  Index k = 0;                         ///< clusters per graph (required, >= 1)
  std::vector<Index> hidden{};         ///< hidden widths of the assignment MLP ({}: one Linear, as PyG)
  Scalar temperature = Scalar(1);
  Scalar spectral_weight = Scalar(1);  ///< coefficient of "spectral_loss"
  Scalar ortho_weight = Scalar(1);     ///< coefficient of "ortho_loss" (tgp's default: 0)
  Scalar cluster_weight = Scalar(1);   ///< coefficient of "cluster_loss" (the paper's: 0.1)
  /// SELU on the pooled features (PyG and the original code) or none (Spektral, tgp).
  Activation activation = Activation::selu;
  /// (S / cluster sizes)^T X, the original code's soft mean; PyG / Spektral / tgp: off.
  bool cluster_mean = false;
  SoftConnectNormalization normalization = SoftConnectNormalization::symmetric;
};

/// The SRC composition DMoNPool is.
template <typename Scorer>
using DMoNPoolBase = Pool<SoftAssignSelect<Scorer>, SoftReduce<typename Scorer::Scalar>,
                          SoftConnect<typename Scorer::Scalar>, ModularityLoss<typename Scorer::Scalar>,
                          OrthogonalityLoss<typename Scorer::Scalar>, ClusterLoss<typename Scorer::Scalar>>;

/// DMoNPool:
///
///   S = softmax(MLP(X) / T)             (SoftAssignSelect; PyG's MLP has no activation)
///   X' = SELU(S^T X)                    (SoftReduce)
///   A' = D'^-1/2 (S^T A S - diag) D'^-1/2  (SoftConnect, symmetric)
///   "spectral_loss" = -modularity (ModularityLoss), "ortho_loss" (OrthogonalityLoss),
///   "cluster_loss" = mean_b sqrt(K) |sum_i S_i| / n_b - 1 (ClusterLoss, per graph: the
///   value PyG intends, not its batch bug #10148).
///
/// Backward: the policies' VJPs, giving dL/dX, dL/dA on the stored entries and the MLP's
/// parameter gradients. Cost O(E K + N K (K + F)) plus the MLP; no graph is padded.
template <typename Scalar_, typename Scorer = MLP<Scalar_>>
class DMoNPool : public DMoNPoolBase<Scorer> {
 public:
  using Scalar = Scalar_;
  using Base = DMoNPoolBase<Scorer>;
  static_assert(std::same_as<Scalar, typename Scorer::Scalar>, "DMoNPool: the scorer must use the pool's Scalar");

  /// PyG's `DMoNPooling(channels, k)`: an MLP [in_channels, options.hidden..., options.k]
  /// without activation (`act=None`), registered as `<prefix>.mlp.lins.<l>.{weight,bias}` (PyG's
  /// state_dict names).
  DMoNPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels,
           const DMoNPoolOptions<Scalar>& options)
    requires std::same_as<Scorer, MLP<Scalar>>
      : DMoNPool(MLP<Scalar>(params, join_name(prefix, "mlp"),
                             detail::soft_scorer_channels("DMoNPool", prefix, in_channels, options.hidden, options.k),
                             Activation::identity),
                 options, prefix) {
    this->expect_features(in_channels);
  }

  /// Any scorer built by the caller; options.k and options.hidden are not read.
  explicit DMoNPool(Scorer scorer, const DMoNPoolOptions<Scalar>& options = {}, std::string_view prefix = {})
      : Base(layer_label(prefix, "DMoNPool"), SoftAssignSelect<Scorer>(std::move(scorer), options.temperature),
             SoftReduce<Scalar>(SoftReduceOptions{options.activation, options.cluster_mean}),
             SoftConnect<Scalar>(options.normalization), ModularityLoss<Scalar>(options.spectral_weight),
             OrthogonalityLoss<Scalar>(options.ortho_weight), ClusterLoss<Scalar>(options.cluster_weight)) {}

  Index num_clusters() const { return this->select().num_clusters(); }
};

/// The functional form: logits from the caller. Type of `dmon_pool_function<Scalar>()`.
template <typename Scalar>
using DMoNPoolFunction = SoftPoolFunction<SoftReduce<Scalar>, SoftConnect<Scalar>, ModularityLoss<Scalar>,
                                          OrthogonalityLoss<Scalar>, ClusterLoss<Scalar>>;

/// DMoN with the logits given: `f.forward(batch, logits, out, cache)` then
/// `f.backward(batch, out, cache, grad, din, dlogits)`.
template <typename Scalar>
DMoNPoolFunction<Scalar> dmon_pool_function(const DMoNPoolOptions<Scalar>& options = {}) {
  return DMoNPoolFunction<Scalar>("dmon_pool", options.temperature,
                                  SoftReduce<Scalar>(SoftReduceOptions{options.activation, options.cluster_mean}),
                                  SoftConnect<Scalar>(options.normalization),
                                  ModularityLoss<Scalar>(options.spectral_weight),
                                  OrthogonalityLoss<Scalar>(options.ortho_weight),
                                  ClusterLoss<Scalar>(options.cluster_weight));
}

}  // namespace gnnpool

#endif
