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
#include <gnnpool/pool/soft_pool.hpp>
#include <gnnpool/reduce/soft.hpp>

#include <string_view>
#include <tuple>
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

/// The spec of DMoNPool (pool/soft_pool.hpp):
///
///   S = softmax(MLP(X) / T)             (SoftAssignSelect; PyG's MLP has no activation)
///   X' = SELU(S^T X)                    (SoftReduce)
///   A' = D'^-1/2 (S^T A S - diag) D'^-1/2  (SoftConnect, symmetric)
///   "spectral_loss" = -modularity (ModularityLoss), "ortho_loss" (OrthogonalityLoss),
///   "cluster_loss" = mean_b sqrt(K) |sum_i S_i| / n_b - 1 (ClusterLoss, per graph: the
///   value PyG intends, not its batch bug #10148).
template <typename Scalar_>
struct DMoNPoolSpec {
  using Scalar = Scalar_;
  using Options = DMoNPoolOptions<Scalar>;
  using DefaultScorer = MLP<Scalar>;
  static constexpr std::string_view name = "DMoNPool";
  static constexpr std::string_view function_name = "dmon_pool";

  /// PyG's `DMoNPooling(channels, k)`: an MLP [in_channels, options.hidden..., options.k]
  /// without activation (`act=None`), registered as `<prefix>.mlp.lins.<l>.{weight,bias}` (PyG's
  /// state_dict names).
  static MLP<Scalar> make_scorer(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels,
                                 const Options& options) {
    return MLP<Scalar>(params, join_name(prefix, "mlp"),
                       detail::soft_scorer_channels(name, prefix, in_channels, options.hidden, options.k),
                       Activation::identity);
  }
  static auto make_policies(const Options& options) {
    return std::tuple(SoftReduce<Scalar>(SoftReduceOptions{options.activation, options.cluster_mean}),
                      SoftConnect<Scalar>(options.normalization), ModularityLoss<Scalar>(options.spectral_weight),
                      OrthogonalityLoss<Scalar>(options.ortho_weight), ClusterLoss<Scalar>(options.cluster_weight));
  }
};

/// DMoNPool with any scorer (default: the MLP of `DMoNPoolSpec`); see `SoftPool`.
template <typename Scalar, typename Scorer = MLP<Scalar>>
using DMoNPool = SoftPool<DMoNPoolSpec<Scalar>, Scorer>;

/// The functional form: logits from the caller. Type of `dmon_pool_function<Scalar>()`.
template <typename Scalar>
using DMoNPoolFunction = soft_pool_function_t<DMoNPoolSpec<Scalar>>;

/// DMoN with the logits given: `f.forward(batch, logits, out, cache)` then
/// `f.backward(batch, out, cache, grad, din, dlogits)`.
template <typename Scalar>
DMoNPoolFunction<Scalar> dmon_pool_function(const DMoNPoolOptions<Scalar>& options = {}) {
  return soft_pool_function<DMoNPoolSpec<Scalar>>(options);
}

}  // namespace gnnpool

#endif
