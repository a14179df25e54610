#ifndef GNNPOOL_SELECT_SCORER_HPP
#define GNNPOOL_SELECT_SCORER_HPP

/// \file
/// The one interface of a node scorer: Z = scorer(X, A), N x K logits, and its vector-Jacobian
/// product. The selectors that turn logits into an assignment (`SoftAssignSelect`'s softmax,
/// BN-Pool's stick breaking) talk to this interface only. `LayerScorer` gives it to any layer
/// with an output width (a `FeatureLayer` such as Linear / MLP, or a `GraphLayer` such as
/// GCNConv / GraphConv); `CallerLogits` implements it for logits computed by the caller.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>

#include <concepts>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool {

/// A node scorer, the one interface of what produces assignment logits:
///
/// - `using Scalar`, `struct Cache`; `Index out_features() const` (K, the logits' width);
///   `void parameter_slots(std::vector<Index>&) const` (the slots backward assigns).
/// - `void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in,
///                 Matrix<Scalar>& z, Cache& cache) const;`  z: N x K (resized).
/// - `void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in,
///                  const Cache& cache, const Matrix<Scalar>& dz, BatchGrad<Scalar>& din,
///                  ParameterSet<Scalar>& dparams) const;` ADDS dL/dX into din.x and dL/dA (stored
///   entries) into din.adj, as every policy inside a `Pool` does, and ASSIGNS the scorer's
///   parameter slots of dparams.
template <typename S>
concept NodeScorer = requires(const S& s, const ParameterSet<typename S::Scalar>& params,
                              const BatchRef<typename S::Scalar>& in, Matrix<typename S::Scalar>& z,
                              typename S::Cache& cache, BatchGrad<typename S::Scalar>& din,
                              ParameterSet<typename S::Scalar>& dparams, std::vector<Index>& slots) {
  { s.out_features() } -> std::convertible_to<Index>;
  s.parameter_slots(slots);
  { s.forward(params, in, z, cache) } -> std::same_as<void>;
  { s.backward(params, in, std::as_const(cache), std::as_const(z), din, dparams) } -> std::same_as<void>;
};

/// A layer that can score nodes: a `FeatureLayer` (logits from x alone: Linear, MLP) or a
/// `GraphLayer` (logits from x and A: GCNConv, GraphConv), with `out_features()`.
template <typename L>
concept ScoringLayer = (FeatureLayer<L> || GraphLayer<L>) && requires(const L& l) {
  { l.out_features() } -> std::convertible_to<Index>;
};

/// A `ScoringLayer` seen through the `NodeScorer` interface.
///
/// Forward:  Z = layer(X) (feature layer) or layer(X, A) (graph layer).
/// Backward: the layer's own backward into workspaces of the cache, added into din: dX always,
///           dA on the stored entries when the layer reads the adjacency (a graph layer without
///           `reads_adjacency = false`) and `din.adj_needed`; the layer's parameter gradients are
///           assigned.
/// Cache: the layer's cache and the two workspaces (reused between calls: a training step does
/// not allocate). Cost: the layer's, plus O(N F) (and O(E) for a graph layer) for the sums.
template <typename L>
  requires ScoringLayer<L>
class LayerScorer {
 public:
  using Scalar = typename L::Scalar;
  using Layer = L;
  struct Cache {
    typename L::Cache layer;
    mutable Matrix<Scalar> dx;   ///< backward workspace: the layer's dL/dX
    mutable Vector<Scalar> dadj; ///< backward workspace: the layer's dL/dA (graph layers)
  };

  explicit LayerScorer(L layer) : m_layer(std::move(layer)) {}

  const L& layer() const { return m_layer; }
  Index out_features() const { return m_layer.out_features(); }
  void parameter_slots(std::vector<Index>& out) const { m_layer.parameter_slots(out); }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Matrix<Scalar>& z,
               Cache& cache) const {
    if constexpr (GraphLayer<L>) m_layer.forward(params, in, z, cache.layer);
    else m_layer.forward(params, in.x, z, cache.layer);
  }

  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Cache& cache,
                const Matrix<Scalar>& dz, BatchGrad<Scalar>& din, ParameterSet<Scalar>& dparams) const {
    if constexpr (GraphLayer<L>) {
      const bool dadj = detail::reads_adjacency<L>() && din.adj_needed;
      m_layer.backward(params, in, cache.layer, dz, BatchGradRef<Scalar>{&cache.dx, dadj ? &cache.dadj : nullptr},
                       dparams);
      if (dadj) detail::add_rows(din.adj, cache.dadj);
    } else {
      m_layer.backward(params, in.x, cache.layer, dz, &cache.dx, dparams);
    }
    detail::add_rows(din.x, cache.dx);
  }

 private:
  L m_layer;
};

/// Logits that are not computed by a layer: the caller hands the N x K logits in and reads
/// dL/dlogits back (the functional forms `mincut_pool_function`, ...). Holds non-owning
/// pointers, so it lives only as long as one forward / backward call.
///
/// Forward: Z = logits (X and A are not read).  Backward: dlogits = dZ; nothing is added into
/// din (the logits do not depend on X or A here: their producer takes dlogits back).
template <typename Scalar_>
class CallerLogits {
 public:
  using Scalar = Scalar_;
  struct Cache {};

  CallerLogits() = default;
  /// `logits`: the N x K logits read by forward (nullptr: backward only); `dlogits`: where
  /// backward writes dL/dlogits (nullptr: forward only).
  explicit CallerLogits(const ConstMatrixRef<Scalar>* logits, Matrix<Scalar>* dlogits = nullptr)
      : m_logits(logits), m_dlogits(dlogits) {}

  Index out_features() const { return m_logits ? m_logits->cols() : 0; }
  void parameter_slots(std::vector<Index>& /*out*/) const {}

  void forward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, Matrix<Scalar>& z,
               Cache& /*cache*/) const {
    GNNPOOL_CHECK(m_logits != nullptr, invalid_argument, "CallerLogits: no logits were given");
    GNNPOOL_CHECK(m_logits->rows() == in.num_nodes(), shape_error, "CallerLogits: the logits are ",
                  detail::shape(m_logits->rows(), m_logits->cols()), " but the batch has ", in.num_nodes(),
                  " nodes");
    z = *m_logits;
  }

  void backward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& /*in*/, const Cache& /*cache*/,
                const Matrix<Scalar>& dz, BatchGrad<Scalar>& /*din*/, ParameterSet<Scalar>& /*dparams*/) const {
    if (m_dlogits) *m_dlogits = dz;
  }

 private:
  const ConstMatrixRef<Scalar>* m_logits = nullptr;
  Matrix<Scalar>* m_dlogits = nullptr;
};

namespace detail {

template <typename S>
struct node_scorer_of {
  using type = LayerScorer<S>;
};
template <typename S>
  requires NodeScorer<S>
struct node_scorer_of<S> {
  using type = S;
};

}  // namespace detail

/// What a selector stores for a scorer `S`: S itself when it is a `NodeScorer`, otherwise
/// `LayerScorer<S>` (S a `ScoringLayer`).
template <typename S>
  requires NodeScorer<S> || ScoringLayer<S>
using node_scorer_t = typename detail::node_scorer_of<S>::type;

/// The layer the caller gave: `scorer.layer()` for a `LayerScorer`, the scorer itself otherwise.
template <typename S>
const auto& scorer_layer(const S& scorer) {
  if constexpr (requires { scorer.layer(); }) return scorer.layer();
  else return scorer;
}

}  // namespace gnnpool

#endif
