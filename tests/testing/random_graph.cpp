// Tests of gnnpool/testing/random_graph.hpp: the seeded generators shared by tests and
// benchmarks (determinism, symmetry, no self loops unless asked, sizes, weights).

#include <gnnpool/testing/random_graph.hpp>

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_testing_random_graph {

using gnnpool::Batch;
using gnnpool::Index;
using gnnpool::Matrix;
namespace testing = gnnpool::testing;

namespace {

template <typename Scalar>
bool same(const Batch<Scalar>& a, const Batch<Scalar>& b) {
  return a.x == b.x && a.offsets == b.offsets && Matrix<Scalar>(a.adj) == Matrix<Scalar>(b.adj);
}

template <typename Scalar>
Index self_loops(const gnnpool::SparseMatrix<Scalar>& adj) {
  Index n = 0;
  for (Index i = 0; i < adj.outerSize(); ++i)
    for (typename gnnpool::SparseMatrix<Scalar>::InnerIterator it(adj, i); it; ++it) n += it.col() == i;
  return n;
}

}  // namespace

TEMPLATE_TEST_CASE("random_features is seeded and uniform in (-1, 1)", "[testing][random_graph]", float, double) {
  const auto a = testing::random_features<TestType>(40, 5, 3);
  CHECK(a.rows() == 40);
  CHECK(a.cols() == 5);
  CHECK(a == testing::random_features<TestType>(40, 5, 3));
  CHECK(a != testing::random_features<TestType>(40, 5, 4));
  CHECK(a.maxCoeff() < TestType(1));
  CHECK(a.minCoeff() >= TestType(-1));
  CHECK(a.maxCoeff() > TestType(0.9));
  CHECK(a.minCoeff() < TestType(-0.9));
  // float and double draw the same numbers.
  CHECK(testing::random_features<float>(4, 3, 9) == testing::random_features<double>(4, 3, 9).cast<float>());
}

TEMPLATE_TEST_CASE("random_graph is deterministic by seed, symmetric and loop-free", "[testing][random_graph]", float, double) {
  const auto g = testing::random_graph<TestType>(30, 60, 4, 17);
  CHECK(same(g, testing::random_graph<TestType>(30, 60, 4, 17)));
  CHECK_FALSE(same(g, testing::random_graph<TestType>(30, 60, 4, 18)));
  CHECK(g.num_nodes() == 30);
  CHECK(g.num_features() == 4);
  CHECK(g.num_graphs() == 1);
  CHECK(g.offsets == gnnpool::IndexVector{0, 30});
  // Up to 60 undirected edges, fewer when a draw repeats or is a rejected loop; stored twice.
  CHECK(g.num_edges() % 2 == 0);
  CHECK(g.num_edges() <= 120);
  CHECK(g.num_edges() >= 100);
  CHECK(self_loops(g.adj) == 0);
  CHECK_NOTHROW(gnnpool::check_symmetric(g.adj, "random_graph"));
  CHECK_NOTHROW(gnnpool::check_batch(g, "random_graph"));
  // Unweighted: every stored weight is 1, duplicates included.
  for (Index e = 0; e < g.num_edges(); ++e) CHECK(g.adj.valuePtr()[e] == TestType(1));
}

TEST_CASE("random_graph options: weights between 0.5 and 1.5 kept symmetric, and self loops", "[testing][random_graph]") {
  testing::RandomGraphOptions weighted;
  weighted.weighted = true;
  const auto w = testing::random_graph<double>(25, 80, 2, 5, weighted);
  CHECK_NOTHROW(gnnpool::check_symmetric(w.adj, "random_graph"));
  CHECK(self_loops(w.adj) == 0);
  const Eigen::Map<const gnnpool::Vector<double>> values(w.adj.valuePtr(), w.num_edges());
  CHECK(values.minCoeff() >= 0.5);
  CHECK(values.maxCoeff() < 1.5);  // duplicates merged, not summed
  CHECK(values.maxCoeff() - values.minCoeff() > 0.5);

  testing::RandomGraphOptions loops;
  loops.self_loops = true;
  const auto l = testing::random_graph<double>(6, 60, 1, 2, loops);
  CHECK(self_loops(l.adj) > 0);
  CHECK_NOTHROW(gnnpool::check_symmetric(l.adj, "random_graph"));
}

TEST_CASE("random_graph handles graphs too small for edges", "[testing][random_graph]") {
  const auto empty = testing::random_graph<double>(0, 10, 3, 1);
  CHECK(empty.num_nodes() == 0);
  CHECK(empty.x.rows() == 0);
  CHECK(empty.x.cols() == 3);
  CHECK(empty.num_edges() == 0);
  const auto single = testing::random_graph<double>(1, 10, 3, 1);
  CHECK(single.num_nodes() == 1);
  CHECK(single.num_edges() == 0);
  const auto no_edges = testing::random_graph<double>(5, 0, 2, 1);
  CHECK(no_edges.num_edges() == 0);
}

TEMPLATE_TEST_CASE("random_batch stacks graphs of the given sizes block-diagonally", "[testing][random_graph]", float, double) {
  const std::vector<Index> sizes{5, 0, 8, 11};
  const auto b = testing::random_batch<TestType>(sizes, 3.0, 4, 7);
  CHECK(b.offsets == gnnpool::IndexVector{0, 5, 5, 13, 24});
  CHECK(b.num_graphs() == 4);
  CHECK(b.num_features() == 4);
  CHECK(b.graph_size(1) == 0);
  CHECK_NOTHROW(gnnpool::check_batch(b, "random_batch"));  // block-diagonal, finite
  CHECK_NOTHROW(gnnpool::check_symmetric(b.adj, "random_batch"));
  CHECK(same(b, testing::random_batch<TestType>(sizes, 3.0, 4, 7)));
  CHECK(b.num_edges() > 0);
  CHECK(b.num_edges() <= 2 * (7 + 12 + 16));  // avg degree 3: m_b = floor(3 n_b / 2)
  // Each graph is the random_graph of its own seed (seed + 7919 b).
  const auto g2 = testing::random_graph<TestType>(8, 12, 4, 7 + 7919 * 2);
  CHECK(b.x.middleRows(5, 8) == g2.x);
}

TEMPLATE_TEST_CASE("grid_graph is the 4-neighbour lattice", "[testing][random_graph]", float, double) {
  const auto g = testing::grid_graph<TestType>(3, 4, 2, 1);
  CHECK(g.num_nodes() == 12);
  CHECK(g.num_edges() == 2 * (3 * 3 + 2 * 4));
  CHECK_NOTHROW(gnnpool::check_symmetric(g.adj, "grid_graph"));
  const gnnpool::Vector<TestType> degree = g.adj * gnnpool::Vector<TestType>::Ones(12);
  CHECK(degree(0) == TestType(2));   // corner
  CHECK(degree(1) == TestType(3));   // border
  CHECK(degree(5) == TestType(4));   // interior (row 1, column 1)
  CHECK(g.adj.coeff(5, 6) == TestType(1));
  CHECK(g.adj.coeff(5, 9) == TestType(1));
  CHECK(g.adj.coeff(3, 4) == TestType(0));  // end of row 0 is not joined to the start of row 1
}

}  // namespace gnnpool_test_testing_random_graph
