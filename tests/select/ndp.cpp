// Tests of gnnpool/select/ndp.hpp: the sign convention on bipartite graphs, zero entries
// (isolated nodes, non-carrying components), the three eigensolver paths against each other,
// the cut check and its random / explicit fallback, degenerate graphs and errors.

#include <gnnpool/select/ndp.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_select_ndp {

using gnnpool::Batch;
using gnnpool::EdgeList;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::NDPEigenMethod;
using gnnpool::NDPRandomSplit;
using gnnpool::NDPSelect;
using gnnpool::NDPSelectOptions;
using gnnpool::test::require_throws_with;

namespace {

template <typename Scalar>
Batch<Scalar> graph(Index n, const EdgeList& edges) {
  return gnnpool::make_graph<Scalar>(Matrix<Scalar>::Zero(n, 1), edges);
}

EdgeList path_edges(Index n) {
  EdgeList e;
  for (Index i = 0; i + 1 < n; ++i) e.emplace_back(i, i + 1);
  return e;
}

EdgeList clique_edges(Index first, Index n) {
  EdgeList e;
  for (Index i = 0; i < n; ++i)
    for (Index j = i + 1; j < n; ++j) e.emplace_back(first + i, first + j);
  return e;
}

template <typename Scalar>
struct Run {
  gnnpool::HardSelection<Scalar> sel;
  typename NDPSelect<Scalar>::Cache cache;
};

template <typename Scalar>
Run<Scalar> run(const Batch<Scalar>& g, NDPSelectOptions options = {}) {
  Run<Scalar> r;
  NDPSelect<Scalar>(std::move(options)).forward({}, g, r.sel, r.cache);
  return r;
}

}  // namespace

TEMPLATE_TEST_CASE("Bipartite graphs split by colour, the first node's class kept", "[select][ndp]", float, double) {
  using S = TestType;
  auto path = run(graph<S>(7, path_edges(7)));
  CHECK(path.sel.representative == IndexVector{0, 2, 4, 6});
  CHECK(path.sel.assignment == IndexVector{0, -1, 1, -1, 2, -1, 3});
  CHECK(path.sel.offsets == IndexVector{0, 4});
  CHECK((path.sel.weight.array() == S(1)).all());
  CHECK(path.cache.graphs[0].eigenvalue == 2.0);
  CHECK(path.cache.graphs[0].cut == 1.0);
  CHECK(path.cache.graphs[0].method == NDPEigenMethod::bipartite);
  // v_i = +-sqrt(d_i) / sqrt(sum d): ends 1/sqrt(12), inner nodes sqrt(2/12).
  CHECK(path.cache.eigenvector[0] == Approx(1 / std::sqrt(12.0)));
  CHECK(path.cache.eigenvector[1] == Approx(-std::sqrt(2 / 12.0)));

  // Star with centre 3 keeps the leaves; with centre 0 it keeps the centre only.
  auto star3 = run(graph<S>(7, EdgeList{{3, 0}, {3, 1}, {3, 2}, {3, 4}, {3, 5}, {3, 6}}));
  CHECK(star3.sel.representative == IndexVector{0, 1, 2, 4, 5, 6});
  auto star0 = run(graph<S>(7, EdgeList{{0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}, {0, 6}}));
  CHECK(star0.sel.representative == IndexVector{0});
  CHECK(star0.cache.eigenvector[0] == Approx(std::sqrt(0.5)));

  // Grid: r + c even.
  auto grid = run(gnnpool::testing::grid_graph<S>(4, 5, 1, 1));
  IndexVector even;
  for (Index r = 0; r < 4; ++r)
    for (Index c = 0; c < 5; ++c)
      if ((r + c) % 2 == 0) even.push_back(r * 5 + c);
  CHECK(grid.sel.representative == even);
}

TEST_CASE("The closed form, the dense solver and Lanczos give the same eigenvector", "[select][ndp]") {
  gnnpool::testing::RandomGraphOptions weighted;
  weighted.weighted = true;
  // A weighted bipartite graph: closed form vs dense.
  EdgeList bip;
  std::vector<double> w;
  for (Index i = 0; i < 10; ++i)
    for (Index j = 10; j < 20; ++j)
      if ((i * 7 + j * 3) % 4 == 0) {
        bip.emplace_back(i, j);
        w.push_back(0.5 + static_cast<double>((i + j) % 5) / 4.0);
      }
  bip.emplace_back(0, 10);
  w.push_back(1.0);
  auto g = gnnpool::make_graph<double>(Matrix<double>::Zero(20, 1), bip, std::span<const double>(w));
  NDPSelectOptions dense;
  dense.bipartite_closed_form = false;
  auto a = run(g), b = run(g, dense);
  REQUIRE(a.cache.graphs[0].method == NDPEigenMethod::bipartite);
  REQUIRE(b.cache.graphs[0].method == NDPEigenMethod::dense);
  CHECK(b.cache.graphs[0].eigenvalue == Approx(2.0).epsilon(1e-13));
  for (std::size_t i = 0; i < 20; ++i) CHECK(a.cache.eigenvector[i] == Approx(b.cache.eigenvector[i]).margin(1e-12));
  CHECK(a.sel.representative == b.sel.representative);

  // A non-bipartite random graph of 300 nodes: dense vs Lanczos.
  auto r = gnnpool::testing::random_graph<double>(300, 900, 1, 42, weighted);
  NDPSelectOptions big_dense, lanczos;
  big_dense.dense_limit = 1000;
  lanczos.dense_limit = 8;
  auto d = run(r, big_dense), l = run(r, lanczos);
  REQUIRE(d.cache.graphs[0].method == NDPEigenMethod::dense);
  REQUIRE(l.cache.graphs[0].method == NDPEigenMethod::lanczos);
  CHECK(l.cache.graphs[0].matrix_products > 0);
  CHECK(l.cache.graphs[0].eigenvalue == Approx(d.cache.graphs[0].eigenvalue).epsilon(1e-12));
  CHECK(d.cache.graphs[0].gap > 1e-4);
  double worst = 0;
  for (std::size_t i = 0; i < 300; ++i) worst = std::max(worst, std::abs(l.cache.eigenvector[i] - d.cache.eigenvector[i]));
  CHECK(worst < 1e-8);
  CHECK(l.sel.representative == d.sel.representative);
}

TEST_CASE("Isolated nodes and non-carrying components have v = 0 and are kept", "[select][ndp]") {
  // Component {0..4}: a 5-cycle with a chord (non-bipartite); component {5, 6, 7}: a triangle;
  // node 8 isolated. The cycle has the larger lambda_max, so the triangle and node 8 pass.
  EdgeList e{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 0}, {0, 2}, {5, 6}, {6, 7}, {7, 5}};
  NDPSelectOptions no_fallback;
  no_fallback.cut_threshold = 0;
  auto r = run(graph<double>(9, e), no_fallback);
  CHECK(r.cache.graphs[0].eigenvalue > 1.5);  // the triangle's lambda_max
  for (std::size_t i = 5; i < 9; ++i) CHECK(r.cache.eigenvector[i] == 0.0);
  for (Index i = 5; i < 9; ++i) CHECK(r.sel.assignment[static_cast<std::size_t>(i)] >= 0);
  CHECK(r.cache.graphs[0].components == 2);
  CHECK_FALSE(r.cache.graphs[0].tie);
}

TEST_CASE("Tied components: the one with the lowest node carries the eigenvector", "[select][ndp]") {
  // Two paths (both lambda = 2) and a big clique making the cut small enough to stay spectral.
  EdgeList e = path_edges(4);
  for (auto [u, v] : path_edges(4)) e.emplace_back(u + 4, v + 4);
  NDPSelectOptions no_fallback;
  no_fallback.cut_threshold = 0;
  auto r = run(graph<double>(8, e), no_fallback);
  CHECK(r.cache.graphs[0].tie);
  CHECK(r.sel.representative == IndexVector{0, 2, 4, 5, 6, 7});
}

TEST_CASE("The cut check falls back to a seeded or explicit random split", "[select][ndp]") {
  // A path 0-1-2 carries v (lambda = 2); the clique 3..8 (15 edges) has v = 0: the cut is 2/17.
  EdgeList e = path_edges(3);
  for (const auto& c : clique_edges(3, 6)) e.push_back(c);
  auto g = graph<double>(9, e);
  NDPSelectOptions spectral;
  spectral.cut_threshold = 0.1;
  auto s = run(g, spectral);
  CHECK_FALSE(s.cache.graphs[0].random_split);
  CHECK(s.cache.graphs[0].cut == Approx(2.0 / 17.0));
  CHECK(s.sel.representative == IndexVector{0, 2, 3, 4, 5, 6, 7, 8});

  // tgp rule: node 0 +1, node 1 -1, the rest from the seed; same seed, same split.
  NDPSelectOptions seeded;
  seeded.seed = 5;
  auto a = run(g, seeded), b = run(g, seeded);
  CHECK(a.cache.graphs[0].random_split);
  CHECK(a.cache.graphs[0].cut == Approx(2.0 / 17.0));
  CHECK(a.cache.partition[0] == 1);
  CHECK(a.cache.partition[1] == -1);
  CHECK(a.cache.partition == b.cache.partition);
  CHECK(a.sel.representative == b.sel.representative);
  bool differs = false;
  for (std::uint64_t seed = 6; seed < 16 && !differs; ++seed) {
    seeded.seed = seed;
    differs = run(g, seeded).cache.partition != a.cache.partition;
  }
  CHECK(differs);

  // Explicit partition (a reference run's draw).
  NDPSelectOptions explicit_split;
  explicit_split.fallback_partition = {1, 1, -1, -1, 1, -1, 1, -1, 1};
  auto x = run(g, explicit_split);
  CHECK(x.sel.representative == IndexVector{0, 1, 4, 6, 8});

  // All on the V- side: SRC keeps the first node only.
  explicit_split.fallback_partition.assign(9, -1);
  CHECK(run(g, explicit_split).sel.representative == IndexVector{0});
  // The fallback is per graph: in a batch, the explicit entries of that graph are used.
  std::vector<Batch<double>> two{graph<double>(7, path_edges(7)), g};
  auto batch = gnnpool::concatenate<double>(two);
  NDPSelectOptions bx;
  bx.fallback_partition.assign(16, -1);
  bx.fallback_partition[7] = 1;
  bx.fallback_partition[9] = 1;
  auto rb = run(batch, bx);
  CHECK(rb.sel.representative == IndexVector{0, 2, 4, 6, 7, 9});
  CHECK(rb.sel.offsets == IndexVector{0, 4, 6});
}

TEST_CASE("The numpy split reproduces SRC's np.random.choice draws", "[select][ndp]") {
  // debug_partition_l1 / _l2 of tests/data/conformance/ndp/ndp_l2__disconnected.json, drawn by
  // np.random.seed(879298012) / np.random.seed(1029723717); np.random.choice([-1, 1], size=N).
  const std::vector<signed char> l1{1, -1, -1, 1, 1, -1, 1, -1, -1, 1, -1};
  const std::vector<signed char> l2{1, 1, -1, 1, 1};
  EdgeList e = path_edges(3);
  for (const auto& c : clique_edges(3, 8)) e.push_back(c);
  NDPSelectOptions o;
  o.random_split = NDPRandomSplit::numpy;
  o.seed = 879298012;
  auto a = run(graph<double>(11, e), o);
  REQUIRE(a.cache.graphs[0].random_split);
  CHECK(a.cache.partition == l1);
  EdgeList e5 = path_edges(2);
  for (const auto& c : clique_edges(2, 3)) e5.push_back(c);
  o.seed = 1029723717;
  auto b = run(graph<double>(5, e5), o);
  REQUIRE(b.cache.graphs[0].random_split);
  CHECK(b.cache.partition == l2);
}

TEST_CASE("Degenerate graphs: one node, no edges, self loops, a complete graph", "[select][ndp]") {
  auto one = run(graph<double>(1, {}));
  CHECK(one.sel.representative == IndexVector{0});
  CHECK(one.cache.graphs[0].method == NDPEigenMethod::none);
  CHECK(one.cache.graphs[0].eigenvalue == 0.0);

  // No edges: every v_i = 0, so the graph passes through (cut 0, no fallback).
  auto empty = run(graph<double>(4, {}));
  CHECK(empty.sel.representative == IndexVector{0, 1, 2, 3});
  CHECK_FALSE(empty.cache.graphs[0].random_split);

  // Self loops are ignored.
  EdgeList loops = path_edges(5);
  loops.emplace_back(2, 2);
  loops.emplace_back(4, 4);
  auto with_loops = run(graph<double>(5, loops));
  CHECK(with_loops.sel.representative == IndexVector{0, 2, 4});
  CHECK(with_loops.cache.eigenvector == run(graph<double>(5, path_edges(5))).cache.eigenvector);

  // K5: lambda_max = 5/4 with multiplicity 4; the dense path reports the zero gap.
  auto k5 = run(graph<double>(5, clique_edges(0, 5)));
  CHECK(k5.cache.graphs[0].eigenvalue == Approx(1.25));
  CHECK(k5.cache.graphs[0].gap < 1e-12);

  // Empty graphs inside a batch.
  std::vector<Batch<double>> parts{graph<double>(3, path_edges(3)), graph<double>(1, {}), graph<double>(2, {})};
  auto b = run(gnnpool::concatenate<double>(parts));
  CHECK(b.sel.representative == IndexVector{0, 2, 3, 4, 5});
  CHECK(b.sel.offsets == IndexVector{0, 2, 3, 5});
}

TEST_CASE("A batch selects every graph as it would alone; float equals double", "[select][ndp]") {
  gnnpool::testing::RandomGraphOptions weighted;
  weighted.weighted = true;
  std::vector<Batch<double>> graphs{gnnpool::testing::random_graph<double>(40, 100, 1, 1, weighted),
                                    gnnpool::testing::grid_graph<double>(3, 3, 1, 2),
                                    gnnpool::testing::random_graph<double>(200, 600, 1, 3, weighted),
                                    gnnpool::testing::random_graph<double>(25, 30, 1, 4)};
  NDPSelectOptions o;
  o.dense_limit = 64;  // the 200-node graph goes through Lanczos
  auto batch = run(gnnpool::concatenate<double>(graphs), o);
  IndexVector expected;
  Index offset = 0;
  for (const auto& g : graphs) {
    auto one = run(g, o);
    for (Index v : one.sel.representative) expected.push_back(v + offset);
    offset += g.num_nodes();
  }
  CHECK(batch.sel.representative == expected);

  std::vector<Batch<float>> graphs_f{gnnpool::testing::random_graph<float>(40, 100, 1, 1, weighted),
                                     gnnpool::testing::grid_graph<float>(3, 3, 1, 2),
                                     gnnpool::testing::random_graph<float>(200, 600, 1, 3, weighted),
                                     gnnpool::testing::random_graph<float>(25, 30, 1, 4)};
  auto batch_f = run(gnnpool::concatenate<float>(graphs_f), o);
  CHECK(batch_f.sel.representative == batch.sel.representative);
  CHECK(batch_f.sel.assignment == batch.sel.assignment);
}

TEST_CASE("NDPSelect backward adds nothing", "[select][ndp]") {
  auto g = graph<double>(5, path_edges(5));
  NDPSelect<double> select;
  gnnpool::HardSelection<double> sel;
  NDPSelect<double>::Cache cache;
  gnnpool::ParameterSet<double> params, dparams;
  select.forward(params, g, sel, cache);
  gnnpool::BatchGrad<double> din;
  din.x = Matrix<double>::Constant(5, 1, 3.0);
  din.adj = gnnpool::Vector<double>::Constant(g.num_edges(), 3.0);
  select.backward(params, g, sel, cache, gnnpool::Vector<double>::Ones(5), din, dparams);
  CHECK((din.x.array() == 3.0).all());
  CHECK((din.adj.array() == 3.0).all());
  CHECK(select.feature_independent());
  CHECK(select(g).representative == sel.representative);
}

TEST_CASE("NDPSelect rejects bad input with sentences naming the problem", "[select][ndp][errors]") {
  SECTION("asymmetric adjacency") {
    auto d = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), path_edges(3), {}, {false});
    require_throws_with<gnnpool::invalid_argument>([&] { NDPSelect<double>{}(d); }, {"NDPSelect", "symmetric"});
  }
  SECTION("negative weight") {
    std::vector<double> w{1.0, -0.5};
    gnnpool::EdgeListOptions o;
    o.allow_negative_weights = true;
    auto d = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), path_edges(3), std::span<const double>(w), o);
    require_throws_with<gnnpool::invalid_argument>([&] { NDPSelect<double>{}(d); }, {"NDPSelect", "negative weight -0.5"});
  }
  SECTION("fallback partition of the wrong size or values") {
    NDPSelectOptions o;
    o.fallback_partition = {1, -1};
    require_throws_with<gnnpool::shape_error>([&] { NDPSelect<double>{o}(graph<double>(3, path_edges(3))); },
                                              {"NDPSelect", "fallback_partition has 2", "3 nodes"});
    o.fallback_partition = {1, 0, -1};
    require_throws_with<gnnpool::invalid_argument>([&] { NDPSelect<double>{o}; }, {"fallback_partition[1] = 0"});
  }
  SECTION("options") {
    NDPSelectOptions o;
    o.lanczos_ncv = 2;
    require_throws_with<gnnpool::invalid_argument>([&] { NDPSelect<double>{o}; }, {"lanczos_ncv", "2"});
    o = {};
    o.cut_threshold = std::nan("");
    require_throws_with<gnnpool::invalid_argument>([&] { NDPSelect<double>{o}; }, {"cut_threshold"});
    o = {};
    o.zero_tolerance = -1;
    require_throws_with<gnnpool::invalid_argument>([&] { NDPSelect<double>{o}; }, {"zero_tolerance"});
  }
  SECTION("malformed batch") {
    auto g = graph<double>(3, path_edges(3));
    g.offsets = {0, 2};
    require_throws_with<gnnpool::shape_error>([&] { NDPSelect<double>{}(g); }, {"NDPSelect", "3 nodes"});
  }
}

}  // namespace gnnpool_test_select_ndp
