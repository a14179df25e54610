#ifndef GNNPOOL_POOL_DIFF_POOL_HPP
#define GNNPOOL_POOL_DIFF_POOL_HPP

/// \file
/// `DiffPool` (Ying et al., NeurIPS 2018) as an SRC composition, and its functional form
/// `diff_pool_function` (PyG's `dense_diff_pool(x, adj, s)` on gnnpool's unpadded batch).

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/loss/entropy.hpp>
#include <gnnpool/loss/link.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/pool/soft_function.hpp>
#include <gnnpool/reduce/soft.hpp>
#include <gnnpool/select/soft_assign.hpp>

#include <concepts>
#include <string_view>
#include <utility>

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

/// The SRC composition DiffPool is.
template <typename Scorer>
using DiffPoolBase = Pool<SoftAssignSelect<Scorer>, SoftReduce<typename Scorer::Scalar>,
                          SoftConnect<typename Scorer::Scalar>, LinkLoss<typename Scorer::Scalar>,
                          EntropyLoss<typename Scorer::Scalar>>;

/// DiffPool:
///
///   S = softmax(GNN_pool(X, A) / T)     (SoftAssignSelect; GCNConv by default, as in the paper;
///                                        any MLP / Linear works as well, as in tgp)
///   X' = S^T X                          (SoftReduce; X are the embeddings GNN_embed(X, A),
///                                        computed by the caller, as PyG expects)
///   A' = S^T A S                        (SoftConnect, raw)
///   "link_loss" = ||A - S S^T||_F (normalised, see LinkLoss), "ent_loss" (EntropyLoss).
///
/// Backward: the policies' VJPs (their headers), giving dL/dX, dL/dA on the stored entries
/// (through S^T A S, the link loss and a graph-convolution scorer) and the scorer's parameter
/// gradients. Cost O(E K + N K (K + F)) plus the scorer; no graph is padded.
template <typename Scalar_, typename Scorer = GCNConv<Scalar_>>
class DiffPool : public DiffPoolBase<Scorer> {
 public:
  using Scalar = Scalar_;
  using Base = DiffPoolBase<Scorer>;
  static_assert(std::same_as<Scalar, typename Scorer::Scalar>, "DiffPool: the scorer must use the pool's Scalar");

  /// The paper's assignment GNN: one GCNConv in_channels -> options.k registered as
  /// `<prefix>.gnn.lin.weight` and `<prefix>.gnn.bias`.
  DiffPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels,
           const DiffPoolOptions<Scalar>& options)
    requires std::same_as<Scorer, GCNConv<Scalar>>
      : DiffPool(GCNConv<Scalar>(params, join_name(prefix, "gnn"), in_channels,
                                 detail::soft_scorer_channels("DiffPool", prefix, in_channels, {}, options.k).back()),
                 options, prefix) {
    this->expect_features(in_channels);
  }

  /// Any scorer built by the caller; options.k is not read (K is the scorer's output width).
  explicit DiffPool(Scorer scorer, const DiffPoolOptions<Scalar>& options = {}, std::string_view prefix = {})
      : Base(layer_label(prefix, "DiffPool"), SoftAssignSelect<Scorer>(std::move(scorer), options.temperature),
             SoftReduce<Scalar>(), SoftConnect<Scalar>(options.normalization),
             LinkLoss<Scalar>(options.link_weight, options.link),
             EntropyLoss<Scalar>(options.entropy_weight, options.entropy)) {}

  Index num_clusters() const { return this->select().num_clusters(); }
};

/// The functional form: logits from the caller. Type of `diff_pool_function<Scalar>()`.
template <typename Scalar>
using DiffPoolFunction =
    SoftPoolFunction<SoftReduce<Scalar>, SoftConnect<Scalar>, LinkLoss<Scalar>, EntropyLoss<Scalar>>;

/// PyG's `dense_diff_pool(x, adj, s, mask, normalize)` on an unpadded batch:
/// `f.forward(batch, logits, out, cache)` then `f.backward(batch, out, cache, grad, din, dlogits)`.
template <typename Scalar>
DiffPoolFunction<Scalar> diff_pool_function(const DiffPoolOptions<Scalar>& options = {}) {
  return DiffPoolFunction<Scalar>("diff_pool", options.temperature, SoftReduce<Scalar>(),
                                  SoftConnect<Scalar>(options.normalization),
                                  LinkLoss<Scalar>(options.link_weight, options.link),
                                  EntropyLoss<Scalar>(options.entropy_weight, options.entropy));
}

}  // namespace gnnpool

#endif
