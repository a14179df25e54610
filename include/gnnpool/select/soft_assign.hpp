#ifndef GNNPOOL_SELECT_SOFT_ASSIGN_HPP
#define GNNPOOL_SELECT_SOFT_ASSIGN_HPP

/// \file
/// `SoftAssignSelect`: the soft cluster assignment S = softmax(logits / temperature) of MinCut,
/// DiffPool and DMoN, with logits from an MLP or Linear over X, from a graph convolution, or
/// given by the caller (`CallerLogits`, the functional form of PyG's dense_*_pool).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/nn/softmax.hpp>

#include <cmath>
#include <concepts>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool {

/// A node-logit source that is not a layer: the caller hands the N x K logits in, and reads
/// dL/dlogits back. Used by the functional forms (`mincut_pool_function`, ...); it holds
/// non-owning pointers, so it lives only as long as one forward / backward call.
///
/// Forward: Y = logits (X is ignored).  Backward: dlogits = dY, no gradient for X.
template <typename Scalar_>
class CallerLogits {
 public:
  using Scalar = Scalar_;

  CallerLogits() = default;
  /// `logits`: the N x K logits read by forward (nullptr: backward only); `dlogits`: where
  /// backward writes dL/dlogits (nullptr: forward only).
  explicit CallerLogits(const ConstMatrixRef<Scalar>* logits, Matrix<Scalar>* dlogits = nullptr)
      : m_logits(logits), m_dlogits(dlogits) {}

  Index out_features() const { return m_logits ? m_logits->cols() : 0; }

  void forward(const ConstMatrixRef<Scalar>& x, Matrix<Scalar>& y) const {
    GNNPOOL_CHECK(m_logits != nullptr, invalid_argument, "CallerLogits: no logits were given");
    GNNPOOL_CHECK(m_logits->rows() == x.rows(), shape_error, "CallerLogits: the logits are ",
                  detail::shape(m_logits->rows(), m_logits->cols()), " but the batch has ", x.rows(), " nodes");
    y = *m_logits;
  }

  void backward(const ConstMatrixRef<Scalar>& dy) const {
    if (m_dlogits) *m_dlogits = dy;
  }

 private:
  const ConstMatrixRef<Scalar>* m_logits = nullptr;
  Matrix<Scalar>* m_dlogits = nullptr;
};

namespace detail {

/// Logits from a graph layer (`GCNConv`, `GraphConv`): forward(params, batch, y, cache).
template <typename S>
concept GraphScorer = requires(const S& s, const ParameterSet<typename S::Scalar>& p,
                               const BatchRef<typename S::Scalar>& in, Matrix<typename S::Scalar>& y,
                               typename S::Cache& c) {
  s.forward(p, in, y, c);
};

/// Logits from a feature layer (`Linear`, `MLP`): forward(params, x, y, cache).
template <typename S>
concept FeatureScorer = requires(const S& s, const ParameterSet<typename S::Scalar>& p,
                                 const ConstMatrixRef<typename S::Scalar>& x, Matrix<typename S::Scalar>& y,
                                 typename S::Cache& c) {
  s.forward(p, x, y, c);
};

template <typename S>
struct scorer_cache {
  struct type {};
};
template <typename S>
  requires requires { typename S::Cache; }
struct scorer_cache<S> {
  using type = typename S::Cache;
};

}  // namespace detail

/// Any source of node logits `SoftAssignSelect` accepts.
template <typename S>
concept NodeScorer = std::same_as<S, CallerLogits<typename S::Scalar>> || detail::GraphScorer<S> ||
                     detail::FeatureScorer<S>;

/// Soft assignment of every node to the K clusters of its own graph.
///
/// Forward:  Z = scorer(X[, A]) (N x K);  S = softmax(Z / T) row by row (T = temperature).
/// Backward: dZ = (S ⊙ (dS - rowsum(dS ⊙ S))) / T; then the scorer's backward turns dZ into
///           dX (added into din.x), dA on the stored entries (graph scorers; added into
///           din.adj) and its parameter gradients (assigned).
///
/// Scorers: `MLP` (MinCut / DMoN as in Spektral, tgp and PyG's DMoNPooling), `Linear` (PyG's
/// examples), `GCNConv` / `GraphConv` (the DiffPool paper's GNN_pool), `CallerLogits` (logits
/// computed elsewhere: PyG's `dense_mincut_pool(x, adj, s)`). K = the scorer's output width.
/// The selection keeps the batch's node offsets: graph b's block of S is rows
/// offsets[b] .. offsets[b+1] and it owns supernodes b K .. (b+1) K. PyG's dropout on the
/// logits (DMoN, training only) is not applied: run it on the scorer's output if needed.
///
/// Shapes: X N x F, S N x K. Cache: the scorer's cache (S itself is in the selection).
/// Cost: the scorer's, plus O(N K) for the softmax both ways. Thread-safe (const).
template <typename Scorer>
  requires NodeScorer<Scorer>
class SoftAssignSelect {
 public:
  using Scalar = typename Scorer::Scalar;
  using Selection = SoftSelection<Scalar>;
  struct Cache {
    typename detail::scorer_cache<Scorer>::type scorer;
    /// Backward workspace (dL/dlogits, the scorer's dX), reused between calls so that training
    /// steps do not allocate: a Cache serves one forward / backward pair at a time.
    mutable Matrix<Scalar> dlogits, dx;
  };

  explicit SoftAssignSelect(Scorer scorer, Scalar temperature = Scalar(1))
      : m_scorer(std::move(scorer)), m_temperature(temperature) {
    GNNPOOL_CHECK(std::isfinite(temperature) && temperature > Scalar(0), invalid_argument,
                  "SoftAssignSelect: the temperature must be positive and finite, got ", temperature);
  }

  const Scorer& scorer() const { return m_scorer; }
  /// Appends the scorer's parameter slots (none for caller logits).
  void parameter_slots(std::vector<Index>& out) const {
    if constexpr (requires { m_scorer.parameter_slots(out); }) m_scorer.parameter_slots(out);
  }
  Scalar temperature() const { return m_temperature; }
  Index num_clusters() const { return m_scorer.out_features(); }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    // The logits are written straight into sel.s and turned into S in place: no N x K temporary.
    if constexpr (std::same_as<Scorer, CallerLogits<Scalar>>) {
      (void)params;
      (void)cache;
      m_scorer.forward(in.x, sel.s);
    } else if constexpr (detail::GraphScorer<Scorer>) {
      m_scorer.forward(params, in, sel.s, cache.scorer);
    } else {
      m_scorer.forward(params, in.x, sel.s, cache.scorer);
    }
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
    if constexpr (std::same_as<Scorer, CallerLogits<Scalar>>) {
      (void)params, (void)in, (void)cache, (void)din, (void)dparams;
      m_scorer.backward(dlogits);
    } else {
      Matrix<Scalar>& dx = cache.dx;
      if constexpr (detail::GraphScorer<Scorer>) {
        Vector<Scalar> dadj;
        m_scorer.backward(params, in, cache.scorer, dlogits, BatchGradRef<Scalar>{&dx, &dadj}, dparams);
        din.adj += dadj;
      } else if constexpr (std::same_as<Scorer, Linear<Scalar>>) {
        // dX = dZ W added straight into din.x: no N x F temporary.
        m_scorer.backward(params, in.x, cache.scorer, dlogits, nullptr, dparams);
        din.x.noalias() += dlogits * params[m_scorer.weight_slot()];
        return;
      } else if constexpr (std::same_as<Scorer, MLP<Scalar>>) {
        if (m_scorer.num_layers() == 1) {  // PyG DMoN's MLP([F, K]) is one Linear: same shortcut
          m_scorer.backward(params, in.x, cache.scorer, dlogits, nullptr, dparams);
          din.x.noalias() += dlogits * params[m_scorer.layer(0).weight_slot()];
          return;
        }
        m_scorer.backward(params, in.x, cache.scorer, dlogits, &dx, dparams);
      } else {
        m_scorer.backward(params, in.x, cache.scorer, dlogits, &dx, dparams);
      }
      din.x += dx;
    }
  }

 private:
  Scorer m_scorer;
  Scalar m_temperature;
};

}  // namespace gnnpool

#endif
