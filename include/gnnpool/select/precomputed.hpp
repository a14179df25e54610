#ifndef GNNPOOL_SELECT_PRECOMPUTED_HPP
#define GNNPOOL_SELECT_PRECOMPUTED_HPP

/// \file
/// `PrecomputedSoftSelect`: a soft selection computed elsewhere (once per graph by a
/// feature-independent selector such as `NMFSelect`, or recorded from another library, e.g.
/// tgp's scikit-learn NMF), handed to a `Pool` as its Select step.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>

#include <vector>

namespace gnnpool {

/// Select step that returns a given soft assignment S (N x K, graph offsets of the batch).
///
/// Forward: sel = the given selection (copied), after checking that it fits the batch (N rows,
/// K >= 1, the same graph offsets). Backward: nothing: S is a constant (dL/dS, accumulated by
/// the other policies, is dropped; read it from the pooler's backward if needed).
/// Holds a non-owning pointer: the selection must outlive the calls. No parameters.
/// Cost: O(N K) for the copy. Thread-safe (const).
template <typename Scalar_>
class PrecomputedSoftSelect {
 public:
  using Scalar = Scalar_;
  using Selection = SoftSelection<Scalar>;
  struct Cache {};

  PrecomputedSoftSelect() = default;
  explicit PrecomputedSoftSelect(const SoftSelection<Scalar>* selection) : m_selection(selection) {}

  void parameter_slots(std::vector<Index>& /*out*/) const {}
  Index num_clusters() const { return m_selection ? m_selection->s.cols() : 0; }

  void forward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, Selection& sel, Cache& /*cache*/) const {
    GNNPOOL_CHECK(m_selection != nullptr, invalid_argument, "PrecomputedSoftSelect: no selection was given");
    GNNPOOL_CHECK(m_selection->s.rows() == in.num_nodes() && m_selection->s.cols() >= 1, shape_error,
                  "PrecomputedSoftSelect: the selection is ",
                  detail::shape(m_selection->s.rows(), m_selection->s.cols()), " but the batch has ", in.num_nodes(),
                  " nodes (expected N x K, K >= 1)");
    GNNPOOL_CHECK(m_selection->offsets == in.offsets, invalid_argument,
                  "PrecomputedSoftSelect: the selection's graph offsets (", m_selection->offsets.size() - 1,
                  " graphs) differ from the batch's (", in.offsets.size() - 1, " graphs)");
    sel = *m_selection;
  }

  void backward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& /*in*/, const Selection& /*sel*/,
                const Cache& /*cache*/, const Matrix<Scalar>& /*dsel*/, BatchGrad<Scalar>& /*din*/,
                ParameterSet<Scalar>& /*dparams*/) const {}

 private:
  const SoftSelection<Scalar>* m_selection = nullptr;
};

}  // namespace gnnpool

#endif
