#ifndef GNNPOOL_SELECT_SOFT_ASSIGN_HPP
#define GNNPOOL_SELECT_SOFT_ASSIGN_HPP

/// \file
/// `SoftAssignSelect`: the soft cluster assignment S = softmax(logits / temperature) of every
/// soft pooler built on `SoftPool` (MinCut, DiffPool, DMoN, JustBalance, AsymCheegerCut, HOSC),
/// with logits from any node scorer (select/scorer.hpp).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/nn/softmax.hpp>
#include <gnnpool/select/scorer.hpp>

#include <cmath>
#include <concepts>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool {

/// Soft assignment of every node to the K clusters of its own graph.
///
/// Forward:  Z = scorer(X[, A]) (N x K);  S = softmax(Z / T) row by row (T = temperature).
/// Backward: dZ = (S ⊙ (dS - rowsum(dS ⊙ S))) / T; then the scorer's backward turns dZ into
///           dX (added into din.x), dA on the stored entries (graph scorers; added into
///           din.adj) and its parameter gradients (assigned).
///
/// Scorer: any `NodeScorer` or `ScoringLayer` (select/scorer.hpp), all seen through the one
/// `NodeScorer` interface: `MLP` (MinCut / DMoN as in Spektral, tgp and PyG's DMoNPooling),
/// `Linear` (PyG's examples), `GCNConv` / `GraphConv` (the DiffPool paper's GNN_pool),
/// `CallerLogits` (logits computed elsewhere: PyG's `dense_mincut_pool(x, adj, s)`). K = the
/// scorer's output width. The selection keeps the batch's node offsets: graph b's block of S is
/// rows offsets[b] .. offsets[b+1] and it owns supernodes b K .. (b+1) K. PyG's dropout on the
/// logits (DMoN, training only) is not applied: run it on the scorer's output if needed.
///
/// Shapes: X N x F, S N x K. Cache: the scorer's cache (S itself is in the selection).
/// Cost: the scorer's, plus O(N K) for the softmax both ways. Thread-safe (const).
template <typename Scorer>
  requires NodeScorer<Scorer> || ScoringLayer<Scorer>
class SoftAssignSelect {
 public:
  using Impl = node_scorer_t<Scorer>;
  using Scalar = typename Impl::Scalar;
  using Selection = SoftSelection<Scalar>;
  struct Cache {
    typename Impl::Cache scorer;
    /// Backward workspace (dL/dlogits), reused between calls so that training steps do not
    /// allocate: a Cache serves one forward / backward pair at a time.
    mutable Matrix<Scalar> dlogits;
  };

  explicit SoftAssignSelect(Scorer scorer, Scalar temperature = Scalar(1))
      : m_scorer(std::move(scorer)), m_temperature(temperature) {
    GNNPOOL_CHECK(std::isfinite(temperature) && temperature > Scalar(0), invalid_argument,
                  "SoftAssignSelect: the temperature must be positive and finite, got ", temperature);
  }

  /// The scorer as given (the layer, or the `NodeScorer`).
  const Scorer& scorer() const { return scorer_layer(m_scorer); }
  /// Appends the scorer's parameter slots (none for caller logits).
  void parameter_slots(std::vector<Index>& out) const { m_scorer.parameter_slots(out); }
  Scalar temperature() const { return m_temperature; }
  Index num_clusters() const { return m_scorer.out_features(); }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    // The logits are written straight into sel.s and turned into S in place: no N x K temporary.
    m_scorer.forward(params, in, sel.s, cache.scorer);
    GNNPOOL_CHECK(sel.s.rows() == in.num_nodes() && sel.s.cols() >= 1, shape_error,
                  "SoftAssignSelect: the scorer returned ", detail::shape(sel.s.rows(), sel.s.cols()),
                  " logits for ", in.num_nodes(), " nodes; expected N x K with K >= 1");
    if (m_temperature != Scalar(1)) sel.s /= m_temperature;
    row_softmax<Scalar>(sel.s, sel.s, "SoftAssignSelect");
    sel.offsets = in.offsets;
  }

  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Selection& sel,
                const Cache& cache, const Matrix<Scalar>& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const {
    GNNPOOL_CHECK(dsel.rows() == sel.s.rows() && dsel.cols() == sel.s.cols(), shape_error,
                  "SoftAssignSelect backward: dS is ", detail::shape(dsel.rows(), dsel.cols()), " but S is ",
                  detail::shape(sel.s.rows(), sel.s.cols()));
    Matrix<Scalar>& dlogits = cache.dlogits;
    row_softmax_backward<Scalar>(sel.s, dsel, dlogits);
    if (m_temperature != Scalar(1)) dlogits /= m_temperature;
    m_scorer.backward(params, in, cache.scorer, dlogits, din, dparams);
  }

 private:
  Impl m_scorer;
  Scalar m_temperature;
};

}  // namespace gnnpool

#endif
