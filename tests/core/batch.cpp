// Tests of gnnpool/core/batch.hpp: builders, invariants and the errors of bad input.

#include <gnnpool/core/batch.hpp>

#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_core_batch {

using gnnpool::Batch;
using gnnpool::EdgeList;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::test::require_throws_with;

namespace {

template <typename Scalar>
Batch<Scalar> path3() {
  return gnnpool::make_graph<Scalar>(Matrix<Scalar>::Ones(3, 2), EdgeList{{0, 1}, {1, 2}});
}

}  // namespace

TEMPLATE_TEST_CASE("make_graph symmetrises, merges and keeps or drops self loops", "[core][batch]", float, double) {
  auto g = path3<TestType>();
  REQUIRE(g.num_nodes() == 3);
  REQUIRE(g.num_edges() == 4);
  CHECK(g.adj.coeff(0, 1) == TestType(1));
  CHECK(g.adj.coeff(1, 0) == TestType(1));
  CHECK(g.num_graphs() == 1);

  // An edge listed twice without weights stays 1; with weights duplicates are summed (PyG coalesce).
  EdgeList twice{{0, 1}, {1, 0}, {1, 1}};
  auto unweighted = gnnpool::make_graph<TestType>(Matrix<TestType>::Zero(2, 1), twice);
  CHECK(unweighted.adj.coeff(0, 1) == TestType(1));
  CHECK(unweighted.adj.coeff(1, 1) == TestType(1));
  std::vector<TestType> w{TestType(0.5), TestType(0.25), TestType(2)};
  gnnpool::EdgeListOptions no_loops;
  no_loops.keep_self_loops = false;
  auto weighted = gnnpool::make_graph<TestType>(Matrix<TestType>::Zero(2, 1), twice, std::span<const TestType>(w), no_loops);
  CHECK(weighted.adj.coeff(0, 1) == TestType(0.75));
  CHECK(weighted.adj.coeff(1, 1) == TestType(0));
  CHECK(weighted.num_edges() == 2);
}

TEST_CASE("concatenate and from_edge_index build the same block-diagonal batch", "[core][batch]") {
  std::vector<Batch<double>> graphs{path3<double>(), path3<double>()};
  auto b = gnnpool::concatenate<double>(graphs);
  CHECK(b.offsets == gnnpool::IndexVector{0, 3, 6});
  CHECK(b.adj.coeff(4, 3) == 1.0);
  CHECK(b.adj.coeff(3, 2) == 0.0);
  CHECK(b.graph_index() == gnnpool::IndexVector{0, 0, 0, 1, 1, 1});

  const auto ei = gnnpool::to_edge_index(b.adj);
  const gnnpool::IndexVector graph = b.graph_index();
  auto c = gnnpool::from_edge_index<double>(b.x, ei, graph);
  CHECK(c.offsets == b.offsets);
  CHECK(Matrix<double>(c.adj) == Matrix<double>(b.adj));

  // A graph id without nodes is an empty graph.
  auto d = gnnpool::from_edge_index<double>(Matrix<double>::Zero(2, 1), gnnpool::IndexVector{}, gnnpool::IndexVector{0, 2});
  CHECK(d.offsets == gnnpool::IndexVector{0, 1, 1, 2});
}

TEST_CASE("check_batch rejects malformed batches with sentences naming the sizes", "[core][batch][errors]") {
  auto g = path3<double>();
  SECTION("x rows differ from the adjacency") {
    g.x.resize(4, 2);
    require_throws_with<gnnpool::shape_error>([&] { gnnpool::check_batch(g, "TestPool"); }, {"TestPool", "4 rows", "3 x 3"});
  }
  SECTION("non-square adjacency") {
    g.adj.resize(3, 4);
    require_throws_with<gnnpool::shape_error>([&] { gnnpool::check_batch(g, "TestPool"); }, {"square", "3 x 4"});
  }
  SECTION("offsets not ending at N") {
    g.offsets = {0, 2};
    require_throws_with<gnnpool::shape_error>([&] { gnnpool::check_batch(g, "TestPool"); }, {"end at 2", "3 nodes"});
  }
  SECTION("offsets decreasing") {
    g.offsets = {0, 2, 1, 3};
    require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::check_batch(g, "TestPool"); }, {"non-decreasing", "offsets[2] = 1"});
  }
  SECTION("edge across graphs") {
    g.offsets = {0, 1, 3};
    require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::check_batch(g, "TestPool"); }, {"block-diagonal", "(0, 1)"});
  }
  SECTION("NaN weight") {
    g.adj.valuePtr()[0] = std::numeric_limits<double>::quiet_NaN();
    require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::check_batch(g, "TestPool"); }, {"non-finite"});
  }
  SECTION("empty batch") {
    g.offsets = {0};
    require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::check_batch(g, "TestPool"); }, {"empty"});
  }
}

TEST_CASE("builders reject out-of-range indices and bad weights", "[core][batch][errors]") {
  require_throws_with<gnnpool::invalid_argument>(
      [] { gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 3}}); }, {"make_graph", "edge target 3", "3 nodes"});
  std::vector<double> neg{-1.0};
  require_throws_with<gnnpool::invalid_argument>(
      [&] { gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 1}}, std::span<const double>(neg)); }, {"negative weight -1"});
  std::vector<double> nan{std::numeric_limits<double>::quiet_NaN()};
  require_throws_with<gnnpool::invalid_argument>(
      [&] { gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 1}}, std::span<const double>(nan)); }, {"non-finite"});
  require_throws_with<gnnpool::invalid_argument>(
      [] { gnnpool::from_edge_index<double>(Matrix<double>::Zero(3, 1), gnnpool::IndexVector{0, 5}); }, {"edge_index[1] entry 5"});
  require_throws_with<gnnpool::invalid_argument>(
      [] { gnnpool::from_edge_index<double>(Matrix<double>::Zero(3, 1), gnnpool::IndexVector{}, gnnpool::IndexVector{1, 0, 0}); }, {"sorted"});
  require_throws_with<gnnpool::shape_error>(
      [] { gnnpool::from_edge_index<double>(Matrix<double>::Zero(3, 1), gnnpool::IndexVector{0, 1, 2}); }, {"2 x E"});
  require_throws_with<gnnpool::invalid_argument>(
      [] { gnnpool::check_symmetric(gnnpool::make_graph<double>(Matrix<double>::Zero(2, 1), EdgeList{{0, 1}}, {}, {false}).adj, "NDP"); }, {"NDP", "symmetric"});
}

}  // namespace gnnpool_test_core_batch
