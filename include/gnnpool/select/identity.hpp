#ifndef GNNPOOL_SELECT_IDENTITY_HPP
#define GNNPOOL_SELECT_IDENTITY_HPP

/// \file
/// `IdentitySelect`: every node is its own supernode (tgp's `IdentitySelect`, the selection of
/// `NoPool`).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>

#include <vector>

namespace gnnpool {

namespace detail {

/// What every selector without parameters that reads the adjacency only shares (IdentitySelect,
/// SEPSelect): no parameter slots, an empty cache, precomputable (pool/pyramid.hpp), and a
/// backward that passes nothing (the selection is piecewise constant in X and A).
template <typename Scalar_>
struct StructuralSelect {
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;
  struct Cache {};

  void parameter_slots(std::vector<Index>& /*out*/) const {}
  bool feature_independent() const { return true; }
  void backward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& /*in*/, const Selection& /*sel*/,
                const Cache& /*cache*/, const Vector<Scalar>& /*dsel*/, BatchGrad<Scalar>& /*din*/,
                ParameterSet<Scalar>& /*dparams*/) const {}
};

}  // namespace detail

/// The identity selection S = I.
///
/// Forward:  assignment[i] = i, weight[i] = 1, representative[s] = s, offsets = the batch's
///           offsets: every graph keeps all its nodes, in order.
/// Backward: nothing (no parameters; S does not depend on X or A).
/// Shapes: any batch. Cache: none. Cost O(N).
///
/// tgp's `IdentitySelect` takes its node count from `max(edge_index) + 1`, so trailing isolated
/// nodes fall out of its S (and of its lift). gnnpool's S always covers all N nodes
/// (docs/sparse-pooling.md, "NoPool").
template <typename Scalar_>
class IdentitySelect : public detail::StructuralSelect<Scalar_> {
 public:
  using typename detail::StructuralSelect<Scalar_>::Scalar;
  using typename detail::StructuralSelect<Scalar_>::Selection;
  using typename detail::StructuralSelect<Scalar_>::Cache;

  void forward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, Selection& sel,
               Cache& /*cache*/) const {
    const Index n = in.num_nodes();
    sel.assignment.resize(static_cast<std::size_t>(n));
    sel.representative.resize(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) {
      sel.assignment[static_cast<std::size_t>(i)] = i;
      sel.representative[static_cast<std::size_t>(i)] = i;
    }
    sel.weight.setOnes(n);
    sel.offsets = in.offsets;
  }
};

}  // namespace gnnpool

#endif
