#ifndef GNNPOOL_DETAIL_SYMMETRY_HPP
#define GNNPOOL_DETAIL_SYMMETRY_HPP

/// \file
/// `check_symmetric_support`: the part of an adjacency's symmetry that NDP's component search and
/// Kron reduction's elimination tree rely on, checked in O(N + E) even when the caller turned
/// the full (values included, O(E log d)) check off. Not part of the API.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

namespace gnnpool::detail {

/// Checks that the edges of `adj` come in mirrored pairs, where an edge is a stored
/// off-diagonal entry with a positive weight: A(i, j) > 0 iff A(j, i) > 0 (the two weights may
/// differ). Self loops, zero and negative entries are not edges (the Laplacian-based layers
/// ignore them).
///
/// One pass: f_j = sum over edges (i, j) of h(i) - sum over edges (j, k) of h(k) (mod 2^32),
/// h a mix of the node id, is 0 at every node when the edges are mirrored; a nonzero f_j falls
/// through to an exact search (a binary search per edge, O(E log d)) that names the first edge
/// without a mirror. An asymmetric support passes only if its hash sums cancel exactly at every
/// node, which no single missing mirror does. Throws `invalid_argument` naming `layer`; `why`
/// says which option skipped the full check.
template <typename Scalar>
void check_symmetric_support(const SparseMatrix<Scalar>& adj, std::string_view layer, std::string_view why) {
  const Index n = adj.rows();
  const StorageIndex* outer = adj.outerIndexPtr();
  const StorageIndex* inner = adj.innerIndexPtr();
  const Scalar* val = adj.valuePtr();
  // splitmix64's finaliser, truncated: a cheap, well-spread hash of a node id.
  auto mix = [](std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<std::uint32_t>(z ^ (z >> 31));
  };
  auto edge = [&](Index i, StorageIndex p) { return inner[p] != i && val[p] > Scalar(0); };
  {
    std::vector<std::uint32_t> f(static_cast<std::size_t>(n), 0);
    for (Index i = 0; i < n; ++i) {
      const std::uint32_t hi = mix(static_cast<std::uint64_t>(i));
      std::uint32_t own = 0;
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
        if (!edge(i, p)) continue;
        f[static_cast<std::size_t>(inner[p])] += hi;
        own += mix(static_cast<std::uint64_t>(inner[p]));
      }
      f[static_cast<std::size_t>(i)] -= own;
    }
    if (std::all_of(f.begin(), f.end(), [](std::uint32_t v) { return v == 0; })) return;
  }
  for (Index i = 0; i < n; ++i)
    for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
      if (!edge(i, p)) continue;
      const Index j = inner[p];
      const StorageIndex* first = inner + outer[j];
      const StorageIndex* last = inner + outer[j + 1];
      const StorageIndex* pos = std::lower_bound(first, last, static_cast<StorageIndex>(i));
      if (pos != last && *pos == i && val[pos - inner] > Scalar(0)) continue;
      raise<invalid_argument>(concat(layer, ": the graph must be undirected, but A(", i, ", ", j, ") = ", val[p],
                                     " is an edge and A(", j, ", ", i, ") is ",
                                     pos != last && *pos == i ? "not positive" : "absent", " (", why,
                                     " skips the full symmetry check, not this one: the algorithm relies on it)"));
    }
}

}  // namespace gnnpool::detail

#endif
