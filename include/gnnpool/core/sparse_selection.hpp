#ifndef GNNPOOL_CORE_SPARSE_SELECTION_HPP
#define GNNPOOL_CORE_SPARSE_SELECTION_HPP

/// \file
/// `SparseSelection`: the third selection form, a sparse N x M assignment matrix with several
/// entries per node and per supernode (ASAP's attention clusters), next to `HardSelection` (one
/// supernode per node) and `SoftSelection` (dense N x K per graph) of core/selection.hpp.

#include <gnnpool/core/types.hpp>

#include <vector>

namespace gnnpool {

/// Sparse selection S = C diag(scale): C (N x M) holds the member weights of each supernode,
/// `scale` one factor per supernode (ASAP: C the attention of a kept node's 1-hop cluster, scale
/// its fitness).
///
/// - Supernode c owns the entries `start[c] .. start[c+1]`: entry e puts input node `node[e]` in
///   supernode c with weight C_e. Supernodes are graph-major (`offsets`, as for HardSelection).
/// - `weight` holds the parameters of S in one vector: the entries C_e (e < num_entries()), then
///   the scales (num_supernodes() of them). Its gradient (`Gradient`) has the same layout, so a
///   pooler's backward takes dL/dC and dL/dscale together.
/// - `representative[c]`: the node that stands for supernode c (ASAP: the kept cluster centre);
///   `assignment[i]`: the supernode whose representative i is, or `dropped`. Together they are
///   the hard part of S (tgp's SelectOutput for ASAP), which lifts and induced connects use.
template <typename Scalar_>
struct SparseSelection {
  using Scalar = Scalar_;
  /// dL/d(weight): entries, then scales.
  using Gradient = Vector<Scalar>;
  static constexpr Index dropped = -1;

  std::vector<StorageIndex> start{0};
  std::vector<StorageIndex> node;
  Vector<Scalar> weight;
  IndexVector representative;
  IndexVector assignment;
  IndexVector offsets{0};

  Index num_supernodes() const { return static_cast<Index>(representative.size()); }
  Index num_nodes() const { return static_cast<Index>(assignment.size()); }
  Index num_entries() const { return static_cast<Index>(node.size()); }
  /// Size of `weight` and of the gradient: num_entries() + num_supernodes().
  Index gradient_size() const { return num_entries() + num_supernodes(); }
  /// The scale of supernode c.
  Scalar scale(Index c) const { return weight[num_entries() + c]; }
};

}  // namespace gnnpool

#endif
