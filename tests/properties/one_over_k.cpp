// Determinism of the one-over-K poolers (Graclus, k-MIS, their pyramids): the same seed gives the
// same result, bit for bit, on every run; a different seed a different one; and a graph gets
// the same selection, features and edges alone as inside any batch. gnnpool starts no threads,
// so "independent of the thread count" means exactly this: nothing depends on hidden state or
// on which graphs are processed together.

#include <gnnpool/pool/graclus_pool.hpp>
#include <gnnpool/pool/kmis_pool.hpp>
#include <gnnpool/pool/pyramid.hpp>

#include "pool/cluster_test_support.hpp"

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_properties_one_over_k {

using gnnpool::Batch;
using gnnpool::ClusterAggregation;
using gnnpool::GraclusPool;
using gnnpool::GraclusPoolOptions;
using gnnpool::GraclusWeighting;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::KMISPool;
using gnnpool::KMISPoolOptions;
using gnnpool::KMISScorer;
using gnnpool::Matrix;
using gnnpool::ParameterSet;

namespace {

/// The part of a pooled output that belongs to input graph b (selection relative to the
/// graph's first node and first supernode, features, edges).
template <typename Output>
struct GraphSlice {
  IndexVector assignment, representative;
  Matrix<double> x;
  Matrix<double> adj;
  bool operator==(const GraphSlice&) const = default;
};

template <typename Output>
GraphSlice<Output> slice(const Batch<double>& in, const Output& out, Index b) {
  GraphSlice<Output> s;
  const auto& sel = out.selection;
  const Index n0 = in.graph_begin(b), n1 = in.graph_begin(b + 1);
  const Index m0 = sel.offsets[static_cast<std::size_t>(b)], m1 = sel.offsets[static_cast<std::size_t>(b + 1)];
  for (Index i = n0; i < n1; ++i) s.assignment.push_back(sel.assignment[static_cast<std::size_t>(i)] - m0);
  for (Index c = m0; c < m1; ++c) s.representative.push_back(sel.representative[static_cast<std::size_t>(c)] - n0);
  s.x = out.batch.x.middleRows(m0, m1 - m0);
  s.adj = Matrix<double>(out.batch.adj).block(m0, m0, m1 - m0, m1 - m0);
  return s;
}

std::vector<Batch<double>> graphs() {
  std::vector<Batch<double>> g;
  const std::vector<Index> sizes{31, 1, 0, 18, 44};
  for (std::size_t k = 0; k < sizes.size(); ++k)
    g.push_back(gnnpool::test::random_cluster_batch<double>({sizes[k]}, 3.5, 4, 100 + k));
  return g;
}

/// Runs `pool` on every graph alone and on their batch; requires equal slices, and equal
/// results (bit for bit) on a second run of the batch.
template <typename PoolT>
void check_batch_invariance(const PoolT& pool, const ParameterSet<double>& params) {
  const auto parts = graphs();
  const auto batch = gnnpool::concatenate<double>(parts);
  typename PoolT::Output all, again;
  typename PoolT::Cache cache;
  pool.forward(params, batch, all, cache);
  pool.forward(params, batch, again, cache);
  CHECK(all.selection.assignment == again.selection.assignment);
  CHECK(all.batch.x == again.batch.x);
  CHECK(gnnpool::detail::same_sparse(all.batch.adj, again.batch.adj));
  for (Index b = 0; b < batch.num_graphs(); ++b) {
    typename PoolT::Output one;
    pool.forward(params, parts[static_cast<std::size_t>(b)], one, cache);
    INFO("graph " << b);
    CHECK(slice(parts[static_cast<std::size_t>(b)], one, 0) == slice(batch, all, b));
  }
}

}  // namespace

TEST_CASE("Graclus: same seed same result, batch or single graph", "[properties][determinism][graclus]") {
  for (const auto w : {GraclusWeighting::unweighted, GraclusWeighting::edge_weight, GraclusWeighting::normalized_cut})
    for (const auto agg : {ClusterAggregation::max, ClusterAggregation::mean}) {
      GraclusPoolOptions o;
      o.select.weighting = w;
      o.select.seed = 2024;
      o.aggregation = agg;
      ParameterSet<double> none;
      check_batch_invariance(GraclusPool<double>(none, "", graphs().front().num_features(), o), none);
    }
  // The seed matters: among a few seeds the matchings differ.
  const auto g = gnnpool::test::random_cluster_batch<double>({80}, 4.0, 1, 1);
  std::vector<IndexVector> seen;
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    GraclusPoolOptions o;
    o.select.seed = seed;
    GraclusPool<double>::Output out;
    GraclusPool<double>::Cache cache;
    ParameterSet<double> none;
    GraclusPool<double>(none, "", g.num_features(), o).forward(none, g, out, cache);
    seen.push_back(out.selection.assignment);
  }
  CHECK(seen[0] != seen[1]);
  CHECK(seen[1] != seen[2]);
}

TEST_CASE("k-MIS: same seed same result, batch or single graph, every scorer", "[properties][determinism][kmis]") {
  for (const auto scorer : {KMISScorer::linear, KMISScorer::random, KMISScorer::degree, KMISScorer::constant})
    for (const Index k : {1, 2}) {
      ParameterSet<double> params;
      KMISPoolOptions o;
      o.select.scorer = scorer;
      o.select.k = k;
      o.select.seed = 77;
      o.aggregation = ClusterAggregation::sum;
      o.passthrough = gnnpool::ScorePassthrough::after;
      const KMISPool<double> pool(params, "kmis", 4, o);
      params.initialize(5);
      INFO("scorer " << static_cast<int>(scorer) << ", k " << k);
      check_batch_invariance(pool, params);
    }
  const auto g = gnnpool::test::random_cluster_batch<double>({60}, 4.0, 1, 3);
  auto mis = [&](std::uint64_t seed) {
    KMISPoolOptions o;
    o.select.scorer = KMISScorer::random;
    o.select.seed = seed;
    ParameterSet<double> params;
    KMISPool<double>::Output out;
    KMISPool<double>::Cache cache;
    KMISPool<double>(params, "", 1, o).forward(params, g, out, cache);
    return out.selection.representative;
  };
  CHECK(mis(1) == mis(1));
  CHECK(mis(1) != mis(2));
}

TEST_CASE("Pyramids are reproducible: rebuilt, batched or per graph, the same bytes", "[properties][determinism][pyramid]") {
  const auto parts = graphs();
  gnnpool::GraclusOptions o;
  o.seed = 8;
  std::vector<gnnpool::Pyramid<double>> single;
  for (const auto& g : parts) single.push_back(gnnpool::build_pyramid(g, 3, gnnpool::make_coarsener(gnnpool::GraclusSelect<double>(o))));
  const auto batch = gnnpool::concatenate<double>(parts);
  const auto whole = gnnpool::build_pyramid(batch, 3, gnnpool::make_coarsener(gnnpool::GraclusSelect<double>(o)));
  CHECK(whole == gnnpool::build_pyramid(batch, 3, gnnpool::make_coarsener(gnnpool::GraclusSelect<double>(o))));
  CHECK(whole == gnnpool::concatenate_pyramids<double>(single));
}

}  // namespace gnnpool_test_properties_one_over_k
