#ifndef GNNPOOL_CORE_SELECTION_HPP
#define GNNPOOL_CORE_SELECTION_HPP

/// \file
/// The two selection forms of gnnpool: `HardSelection` (each node goes to one supernode or
/// is dropped, with a weight) and `SoftSelection` (a dense N x K assignment per graph).

#include <gnnpool/core/types.hpp>

namespace gnnpool {

/// Hard selection: used by TopK, SAG, Graclus, NDP and k-MIS. Sparse by construction.
///
/// - `assignment[i]`: the supernode of input node i in [0, num_supernodes), or `dropped`.
///   Supernodes are numbered graph-major: graph b owns supernodes `offsets[b] .. offsets[b+1]`.
/// - `weight[i]`: the multiplier the reduce step applies to node i (TopK's score; 1 where the
///   pooler has none).
/// - `representative[s]`: the input node that stands for supernode s (TopK's `perm`, k-MIS's
///   MIS node, Graclus's lower endpoint), num_supernodes entries.
template <typename Scalar_>
struct HardSelection {
  using Scalar = Scalar_;
  /// dL/d(weight): one entry per input node.
  using Gradient = Vector<Scalar>;
  static constexpr Index dropped = -1;

  IndexVector assignment;
  Vector<Scalar> weight;
  IndexVector representative;
  IndexVector offsets{0};

  Index num_supernodes() const { return static_cast<Index>(representative.size()); }
  Index num_nodes() const { return static_cast<Index>(assignment.size()); }
};

/// Soft selection: used by MinCut, DiffPool and DMoN.
///
/// - `s`: N x K, row i is node i's assignment over the K clusters of its own graph (rows sum
///   to 1 after the softmax). Graph b's block is rows `offsets[b] .. offsets[b+1]`.
/// - Supernodes: graph b owns supernodes `b*K .. (b+1)*K`.
template <typename Scalar_>
struct SoftSelection {
  using Scalar = Scalar_;
  /// dL/dS: N x K.
  using Gradient = Matrix<Scalar>;

  Matrix<Scalar> s;
  IndexVector offsets{0};

  Index num_clusters() const { return s.cols(); }
  Index num_supernodes() const { return s.cols() * (static_cast<Index>(offsets.size()) - 1); }
  Index num_nodes() const { return s.rows(); }
};

}  // namespace gnnpool

#endif
