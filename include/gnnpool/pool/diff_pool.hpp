#ifndef GNNPOOL_POOL_DIFF_POOL_HPP
#define GNNPOOL_POOL_DIFF_POOL_HPP

/// \file
/// `DiffPool` (Ying et al., NeurIPS 2018) as an SRC composition, and its functional form
/// `diff_pool_function` (PyG's `dense_diff_pool(x, adj, s)` on gnnpool's unpadded batch).

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/loss/entropy.hpp>
#include <gnnpool/loss/link.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/pool/soft_pool.hpp>
#include <gnnpool/reduce/soft.hpp>

#include <string_view>
#include <tuple>

namespace gnnpool {

/// Settings of DiffPool. Defaults reproduce PyG's `dense_diff_pool(normalize=True)`: raw
/// S^T A S, link loss ||A - S S^T||_F / (B Nmax^2), entropy averaged over B Nmax rows.
template <typename Scalar>
struct DiffPoolOptions {
  Index k = 0;                     ///< clusters per graph (required, >= 1)
  Scalar temperature = Scalar(1);  ///< PyG has none (= 1)
  Scalar link_weight = Scalar(1);  ///< coefficient of "link_loss"
  Scalar entropy_weight = Scalar(1);  ///< coefficient of "ent_loss"
  LinkLossOptions link{};
  EntropyLossOptions entropy{};
  /// `none` (PyG, Spektral, DGL); `symmetric` reproduces tgp's default post-processing.
  SoftConnectNormalization normalization = SoftConnectNormalization::none;
};

/// The spec of DiffPool (pool/soft_pool.hpp):
///
///   S = softmax(GNN_pool(X, A) / T)     (SoftAssignSelect; GCNConv by default, as in the paper;
///                                        any MLP / Linear works as well, as in tgp)
///   X' = S^T X                          (SoftReduce; X are the embeddings GNN_embed(X, A),
///                                        computed by the caller, as PyG expects)
///   A' = S^T A S                        (SoftConnect, raw)
///   "link_loss" = ||A - S S^T||_F (normalised, see LinkLoss), "ent_loss" (EntropyLoss).
///
/// With the GCNConv scorer, dL/dA also flows through the scorer.
template <typename Scalar_>
struct DiffPoolSpec {
  using Scalar = Scalar_;
  using Options = DiffPoolOptions<Scalar>;
  using DefaultScorer = GCNConv<Scalar>;
  static constexpr std::string_view name = "DiffPool";
  static constexpr std::string_view function_name = "diff_pool";

  /// The paper's assignment GNN: one GCNConv in_channels -> options.k registered as
  /// `<prefix>.gnn.lin.weight` and `<prefix>.gnn.bias`.
  static GCNConv<Scalar> make_scorer(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels,
                                     const Options& options) {
    return GCNConv<Scalar>(params, join_name(prefix, "gnn"), in_channels,
                           detail::soft_scorer_channels(name, prefix, in_channels, {}, options.k).back());
  }
  static auto make_policies(const Options& options) {
    return std::tuple(SoftReduce<Scalar>(), SoftConnect<Scalar>(options.normalization),
                      LinkLoss<Scalar>(options.link_weight, options.link),
                      EntropyLoss<Scalar>(options.entropy_weight, options.entropy));
  }
};

/// DiffPool with any scorer (default: the GCNConv of `DiffPoolSpec`); see `SoftPool`.
template <typename Scalar, typename Scorer = GCNConv<Scalar>>
using DiffPool = SoftPool<DiffPoolSpec<Scalar>, Scorer>;

/// The functional form: logits from the caller. Type of `diff_pool_function<Scalar>()`.
template <typename Scalar>
using DiffPoolFunction = soft_pool_function_t<DiffPoolSpec<Scalar>>;

/// PyG's `dense_diff_pool(x, adj, s, mask, normalize)` on an unpadded batch:
/// `f.forward(batch, logits, out, cache)` then `f.backward(batch, out, cache, grad, din, dlogits)`.
template <typename Scalar>
DiffPoolFunction<Scalar> diff_pool_function(const DiffPoolOptions<Scalar>& options = {}) {
  return soft_pool_function<DiffPoolSpec<Scalar>>(options);
}

}  // namespace gnnpool

#endif
