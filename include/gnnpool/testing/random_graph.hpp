#ifndef GNNPOOL_TESTING_RANDOM_GRAPH_HPP
#define GNNPOOL_TESTING_RANDOM_GRAPH_HPP

/// \file
/// Seeded random graphs shared by the tests and the benchmarks.

#include <gnnpool/core/batch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace gnnpool::testing {

/// Options of `random_graph`.
struct RandomGraphOptions {
  bool weighted = false;       ///< weights U(0.5, 1.5) instead of 1
  bool self_loops = false;
};

/// Features U(-1, 1).
template <typename Scalar>
Matrix<Scalar> random_features(Index rows, Index cols, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Matrix<Scalar> x(rows, cols);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<Scalar>(u(rng));
  return x;
}

/// One symmetric graph with n nodes and about `undirected_edges` distinct undirected edges
/// (2 x that many stored entries), drawn uniformly (Erdos-Renyi G(n, m) with rejection of
/// self loops; duplicates merged), F features. O(n + m log d).
template <typename Scalar>
Batch<Scalar> random_graph(Index n, Index undirected_edges, Index features, std::uint64_t seed,
                           const RandomGraphOptions& options = {}) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<Index> node(0, std::max<Index>(n - 1, 0));
  std::uniform_real_distribution<double> w(0.5, 1.5);
  EdgeList edges;
  std::vector<Scalar> weights;
  edges.reserve(static_cast<std::size_t>(undirected_edges));
  for (Index e = 0; n > 1 && e < undirected_edges; ++e) {
    Index u = node(rng), v = node(rng);
    if (u == v && !options.self_loops) continue;
    edges.emplace_back(u, v);
    if (options.weighted) weights.push_back(static_cast<Scalar>(w(rng)));
  }
  if (options.weighted) {
    // Merge duplicates to a single weight instead of summing: keeps weights in (0.5, 1.5).
    std::vector<std::size_t> order(edges.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto key = [&](std::size_t i) { return std::minmax(edges[i].first, edges[i].second); };
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
    EdgeList unique_edges;
    std::vector<Scalar> unique_weights;
    for (std::size_t k = 0; k < order.size(); ++k)
      if (k == 0 || key(order[k]) != key(order[k - 1])) {
        unique_edges.push_back(edges[order[k]]);
        unique_weights.push_back(weights[order[k]]);
      }
    edges.swap(unique_edges);
    weights.swap(unique_weights);
  }
  return make_graph<Scalar>(random_features<Scalar>(n, features, seed ^ 0x9e3779b97f4a7c15ULL), edges,
                            std::span<const Scalar>(weights));
}

/// A batch of random graphs of the given sizes, each with average degree about `avg_degree`.
template <typename Scalar>
Batch<Scalar> random_batch(std::span<const Index> sizes, double avg_degree, Index features,
                           std::uint64_t seed, const RandomGraphOptions& options = {}) {
  std::vector<Batch<Scalar>> graphs;
  graphs.reserve(sizes.size());
  for (std::size_t b = 0; b < sizes.size(); ++b) {
    const auto m = static_cast<Index>(avg_degree * static_cast<double>(sizes[b]) / 2.0);
    graphs.push_back(random_graph<Scalar>(sizes[b], m, features, seed + 7919 * b, options));
  }
  return concatenate<Scalar>(graphs);
}

/// rows x cols 4-neighbour grid, unit weights, node id r * cols + c.
template <typename Scalar>
Batch<Scalar> grid_graph(Index rows, Index cols, Index features, std::uint64_t seed) {
  EdgeList edges;
  edges.reserve(static_cast<std::size_t>(2 * rows * cols));
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) {
      if (c + 1 < cols) edges.emplace_back(r * cols + c, r * cols + c + 1);
      if (r + 1 < rows) edges.emplace_back(r * cols + c, (r + 1) * cols + c);
    }
  return make_graph<Scalar>(random_features<Scalar>(rows * cols, features, seed), edges);
}

}  // namespace gnnpool::testing

#endif
