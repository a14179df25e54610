#ifndef GNNPOOL_TESTS_POOL_CLUSTER_TEST_SUPPORT_HPP
#define GNNPOOL_TESTS_POOL_CLUSTER_TEST_SUPPORT_HPP

// Helpers shared by the tests of the one-over-K poolers (Graclus, k-MIS, their reduce/connect
// policies and the pyramids): small graphs, hop distances, and invariants of hard selections.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace gnnpool::test {

/// A symmetric graph from an undirected edge list with one weight per edge (both directions).
template <typename Scalar>
Batch<Scalar> weighted_graph(Index n, const EdgeList& edges, const std::vector<double>& weights, Index features = 2) {
  std::vector<Scalar> w(weights.begin(), weights.end());
  return make_graph<Scalar>(testing::random_features<Scalar>(n, features, 7), edges, std::span<const Scalar>(w));
}

/// A batch of random graphs of the given sizes (weighted U(0.5, 1.5) if asked).
template <typename Scalar>
Batch<Scalar> random_cluster_batch(const std::vector<Index>& sizes, double degree, Index features, std::uint64_t seed,
                                   bool weighted = true) {
  testing::RandomGraphOptions options;
  options.weighted = weighted;
  return testing::random_batch<Scalar>(std::span<const Index>(sizes), degree, features, seed, options);
}

/// All-pairs hop distances by BFS (small graphs only); unreachable = max.
template <typename Scalar>
std::vector<std::vector<Index>> hop_distances(const SparseMatrix<Scalar>& adj) {
  const Index n = adj.rows();
  const Index inf = std::numeric_limits<Index>::max();
  std::vector<std::vector<Index>> d(static_cast<std::size_t>(n), std::vector<Index>(static_cast<std::size_t>(n), inf));
  for (Index s = 0; s < n; ++s) {
    std::vector<Index> queue{s};
    d[static_cast<std::size_t>(s)][static_cast<std::size_t>(s)] = 0;
    for (std::size_t q = 0; q < queue.size(); ++q) {
      const Index u = queue[q];
      for (typename SparseMatrix<Scalar>::InnerIterator it(adj, u); it; ++it) {
        auto& du = d[static_cast<std::size_t>(s)][static_cast<std::size_t>(it.col())];
        if (du == inf) {
          du = d[static_cast<std::size_t>(s)][static_cast<std::size_t>(u)] + 1;
          queue.push_back(it.col());
        }
      }
    }
  }
  return d;
}

/// Structural invariants every hard selection of a one-over-K pooler satisfies: every node
/// assigned, supernodes graph-major with offsets matching, each representative in its cluster.
template <typename Scalar>
void check_selection_invariants(const Batch<Scalar>& in, const HardSelection<Scalar>& sel) {
  REQUIRE(sel.num_nodes() == in.num_nodes());
  REQUIRE(sel.offsets.size() == in.offsets.size());
  REQUIRE(sel.offsets.back() == sel.num_supernodes());
  for (Index b = 0; b < in.num_graphs(); ++b) {
    for (Index i = in.graph_begin(b); i < in.graph_begin(b + 1); ++i) {
      const Index c = sel.assignment[static_cast<std::size_t>(i)];
      REQUIRE(c >= sel.offsets[static_cast<std::size_t>(b)]);
      REQUIRE(c < sel.offsets[static_cast<std::size_t>(b + 1)]);
    }
  }
  for (Index c = 0; c < sel.num_supernodes(); ++c)
    REQUIRE(sel.assignment[static_cast<std::size_t>(sel.representative[static_cast<std::size_t>(c)])] == c);
  for (Index c = 1; c < sel.num_supernodes(); ++c)
    REQUIRE(sel.representative[static_cast<std::size_t>(c - 1)] < sel.representative[static_cast<std::size_t>(c)]);
}

}  // namespace gnnpool::test

#endif
