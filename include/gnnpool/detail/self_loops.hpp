#ifndef GNNPOOL_DETAIL_SELF_LOOPS_HPP
#define GNNPOOL_DETAIL_SELF_LOOPS_HPP

/// \file
/// A CSR adjacency with a diagonal entry for every node (PyG's `add_remaining_self_loops`, and
/// the diagonal of a Laplacian-like operator), keeping the map back to the input's entries; not
/// part of the API.

#include <gnnpool/core/types.hpp>

#include <vector>

namespace gnnpool::detail {

/// The structure of A plus a diagonal entry (i, i) for every node i < `diagonal_nodes` that has
/// none; with `replace_diagonal`, A's own diagonal entries are dropped first (so every node below
/// `diagonal_nodes` gets a new one and the others none). Columns stay sorted.
/// Values: A's value for a copied entry, `fill` for an added one. source[q] is the position in
/// A of output entry q, or -1 for an added diagonal. O(N + E).
template <typename Scalar>
void with_diagonal(const SparseMatrix<Scalar>& a, bool replace_diagonal, Index diagonal_nodes, Scalar fill,
                   SparseMatrix<Scalar>& out, std::vector<StorageIndex>& source) {
  const Index n = a.rows();
  const StorageIndex* outer = a.outerIndexPtr();
  const StorageIndex* inner = a.innerIndexPtr();
  const Scalar* val = a.valuePtr();
  out.resize(n, n);
  out.resizeNonZeros(a.nonZeros() + n);
  source.resize(static_cast<std::size_t>(a.nonZeros() + n));
  StorageIndex* oo = out.outerIndexPtr();
  StorageIndex* oi = out.innerIndexPtr();
  Scalar* ov = out.valuePtr();
  StorageIndex q = 0;
  oo[0] = 0;
  auto add = [&](Index col, Scalar value, StorageIndex from) {
    oi[q] = static_cast<StorageIndex>(col);
    ov[q] = value;
    source[static_cast<std::size_t>(q++)] = from;
  };
  for (Index t = 0; t < n; ++t) {
    bool need = t < diagonal_nodes;
    for (StorageIndex e = outer[t]; e < outer[t + 1]; ++e) {
      const StorageIndex s = inner[e];
      if (s == t) {
        if (replace_diagonal) continue;
        need = false;
      }
      if (need && s > t) {  // the added diagonal goes in its sorted place
        add(t, fill, -1);
        need = false;
      }
      add(s, val[e], e);
    }
    if (need) add(t, fill, -1);
    oo[t + 1] = q;
  }
  out.data().resize(q);
  source.resize(static_cast<std::size_t>(q));
}

}  // namespace gnnpool::detail

#endif
