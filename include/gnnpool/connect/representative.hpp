#ifndef GNNPOOL_CONNECT_REPRESENTATIVE_HPP
#define GNNPOOL_CONNECT_REPRESENTATIVE_HPP

/// \file
/// `RepresentativeConnect<Inner>`: connects the supernodes of any selection through their
/// representatives with a connect policy of hard selections (tgp's ASAP: the subgraph induced by
/// the kept cluster centres).

#include <gnnpool/connect/induced.hpp>
#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/pool/pool.hpp>

namespace gnnpool {

/// Runs `Inner` (InducedConnect by default) on the hard part of a selection: the
/// `HardSelection` with the same `assignment`, `representative` and `offsets` and unit weights.
///
/// Forward:  A' = Inner(A, hard part of S): for InducedConnect A'(a, b) = A(r_a, r_b) for the
///           representatives r (ASAP in tgp keeps the edges between kept centres).
/// Backward: Inner's dL/dA; nothing flows to the selection (its values are not read).
/// Cache: the hard view (N + M entries) and Inner's cache. Cost: Inner's plus O(N + M).
template <typename Inner>
class RepresentativeConnect {
 public:
  using Scalar = typename Inner::Scalar;
  static constexpr bool reads_selection_values = false;
  static_assert(!detail::connect_reads_selection_values<Inner>(),
                "RepresentativeConnect: the inner connect must not read the selection's values");

  struct Cache {
    HardSelection<Scalar> view;
    typename Inner::Cache inner;
  };

  explicit RepresentativeConnect(Inner inner = {}) : m_inner(std::move(inner)) {}

  template <typename Selection>
  void forward(const BatchRef<Scalar>& in, const Selection& sel, SparseMatrix<Scalar>& adj_out, Cache& cache) const {
    cache.view.assignment = sel.assignment;
    cache.view.representative = sel.representative;
    cache.view.offsets = sel.offsets;
    cache.view.weight.setOnes(static_cast<Index>(sel.assignment.size()));
    m_inner.forward(in, cache.view, adj_out, cache.inner);
  }

  template <typename Selection>
  void backward(const BatchRef<Scalar>& in, const Selection& /*sel*/, const Cache& cache, const Vector<Scalar>& dadj_out,
                BatchGrad<Scalar>& din, typename Selection::Gradient& /*dsel*/) const {
    Vector<Scalar> unused = Vector<Scalar>::Zero(cache.view.weight.size());
    m_inner.backward(in, cache.view, cache.inner, dadj_out, din, unused);
  }

 private:
  Inner m_inner;
};

}  // namespace gnnpool

#endif
