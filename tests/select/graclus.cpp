// Tests of gnnpool/select/graclus.hpp: PyG 2.8 CPU-kernel matching rules, visiting orders,
// the normalised-cut weighting, and the errors of bad input.

#include <gnnpool/select/graclus.hpp>
#include <gnnpool/core/concepts.hpp>

#include <gnnpool/testing/random_graph.hpp>

#include "pool/cluster_test_support.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_select_graclus {

using gnnpool::Batch;
using gnnpool::EdgeList;
using gnnpool::GraclusOptions;
using gnnpool::GraclusOrder;
using gnnpool::GraclusSelect;
using gnnpool::GraclusWeighting;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::test::require_throws_with;

namespace {

template <typename Scalar>
HardSelection<Scalar> run(const Batch<Scalar>& g, GraclusOptions options, IndexVector* order = nullptr) {
  const GraclusSelect<Scalar> select(std::move(options));
  HardSelection<Scalar> sel;
  typename GraclusSelect<Scalar>::Cache cache;
  select.forward(ParameterSet<Scalar>{}, g, sel, cache);
  if (order) *order = cache.visit_order;
  return sel;
}

/// PyG's raw cluster ids (the smaller node of each pair).
template <typename Scalar>
IndexVector raw_clusters(const HardSelection<Scalar>& sel) {
  IndexVector raw;
  for (const Index a : sel.assignment) raw.push_back(sel.representative[static_cast<std::size_t>(a)]);
  return raw;
}

GraclusOptions explicit_order(IndexVector order, GraclusWeighting w = GraclusWeighting::unweighted) {
  GraclusOptions o;
  o.visit_order = std::move(order);
  o.weighting = w;
  return o;
}

}  // namespace

static_assert(gnnpool::SelectPolicy<GraclusSelect<float>>);
static_assert(gnnpool::SelectPolicy<GraclusSelect<double>>);

TEMPLATE_TEST_CASE("Graclus unweighted: the first unmatched neighbour in index order, then consecutive ids",
                   "[select][graclus]", float, double) {
  // Path 0-1-2-3-4. Visiting 1 first matches it with 0 (its first neighbour); 3 then takes 2;
  // 4 is left alone. Raw ids min(u, v): {0, 0, 2, 2, 4}; consecutive: {0, 0, 1, 1, 2}.
  const auto g = gnnpool::make_graph<TestType>(Matrix<TestType>::Zero(5, 1), EdgeList{{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  const auto sel = run(g, explicit_order({1, 3, 0, 2, 4}));
  CHECK(sel.assignment == IndexVector{0, 0, 1, 1, 2});
  CHECK(sel.representative == IndexVector{0, 2, 4});
  CHECK(sel.offsets == IndexVector{0, 3});
  CHECK(sel.weight == gnnpool::Vector<TestType>::Ones(5));
  // Visiting 2 first: 2 takes 1 (smaller index than 3); 0 and 4 find no partner; 3 takes 4.
  CHECK(raw_clusters(run(g, explicit_order({2, 0, 3, 1, 4}))) == IndexVector{0, 1, 1, 3, 3});
}

TEMPLATE_TEST_CASE("Graclus unweighted ignores the stored values and self loops", "[select][graclus]", float, double) {
  // Weights would prefer 0-2, but the unweighted kernel takes the first neighbour (1); the self
  // loop on 0 is skipped because 0 is marked before its row is scanned.
  const auto g = gnnpool::test::weighted_graph<TestType>(3, EdgeList{{0, 1}, {0, 2}, {0, 0}}, {0.1, 5.0, 9.0});
  CHECK(raw_clusters(run(g, explicit_order({0, 1, 2}))) == IndexVector{0, 0, 2});
}

TEMPLATE_TEST_CASE("Graclus weighted: heaviest unmatched neighbour, ties to the last, zero may win, negative never",
                   "[select][graclus]", float, double) {
  const auto weighted = [](IndexVector order) { return explicit_order(std::move(order), GraclusWeighting::edge_weight); };
  SECTION("heaviest") {
    const auto g = gnnpool::test::weighted_graph<TestType>(4, EdgeList{{0, 1}, {0, 2}, {0, 3}}, {0.5, 2.0, 1.0});
    CHECK(raw_clusters(run(g, weighted({0, 1, 2, 3}))) == IndexVector{0, 1, 0, 3});
  }
  SECTION("ties go to the last neighbour in index order") {
    const auto g = gnnpool::test::weighted_graph<TestType>(4, EdgeList{{0, 1}, {0, 2}, {0, 3}}, {2.0, 2.0, 1.0});
    CHECK(raw_clusters(run(g, weighted({0, 1, 2, 3}))) == IndexVector{0, 1, 0, 3});
  }
  SECTION("a matched neighbour is skipped even when heavier") {
    const auto g = gnnpool::test::weighted_graph<TestType>(4, EdgeList{{0, 1}, {1, 2}, {2, 3}}, {1.0, 9.0, 0.5});
    // 3 first takes 2; then 1 cannot have 2 and takes 0.
    CHECK(raw_clusters(run(g, weighted({3, 1, 0, 2}))) == IndexVector{0, 0, 2, 2});
  }
  SECTION("zero weight can be chosen, negative weight never") {
    gnnpool::EdgeListOptions allow;
    allow.allow_negative_weights = true;
    std::vector<TestType> w{TestType(0), TestType(-1)};
    const auto g = gnnpool::make_graph<TestType>(Matrix<TestType>::Zero(3, 1), EdgeList{{0, 1}, {0, 2}},
                                                 std::span<const TestType>(w), allow);
    CHECK(raw_clusters(run(g, weighted({0, 1, 2}))) == IndexVector{0, 0, 2});
    CHECK(raw_clusters(run(g, weighted({2, 0, 1}))) == IndexVector{0, 0, 2});
  }
  SECTION("a self loop at least as heavy as the best neighbour makes the node a singleton (PyG 2.8)") {
    const auto g = gnnpool::test::weighted_graph<TestType>(2, EdgeList{{0, 1}, {0, 0}}, {1.0, 1.0});
    // Row 0 is scanned as (0, 0) then (0, 1): the tie goes to the last, so 0 takes 1.
    CHECK(raw_clusters(run(g, weighted({0, 1}))) == IndexVector{0, 0});
    const auto h = gnnpool::test::weighted_graph<TestType>(2, EdgeList{{0, 1}, {1, 1}}, {1.0, 3.0});
    // Row 1 is (1, 0) then (1, 1): the heavier self loop wins and 1 stays alone; 0 then alone too.
    CHECK(raw_clusters(run(h, weighted({1, 0}))) == IndexVector{0, 1});
  }
  SECTION("isolated nodes are singletons") {
    const auto g = gnnpool::test::weighted_graph<TestType>(3, EdgeList{{0, 2}}, {1.0});
    const auto sel = run(g, weighted({1, 0, 2}));
    CHECK(sel.assignment == IndexVector{0, 1, 0});
    CHECK(sel.representative == IndexVector{0, 1});
  }
}

TEMPLATE_TEST_CASE("Graclus normalised cut equals the weighted kernel on w_ij (1/d_i + 1/d_j)", "[select][graclus]",
                   float, double) {
  const auto g = gnnpool::test::random_cluster_batch<TestType>({40, 25}, 4.0, 1, 11);
  for (const auto mode : {GraclusWeighting::normalized_cut, GraclusWeighting::normalized_cut_pyg}) {
    Batch<TestType> h = g;
    std::vector<TestType> inv(static_cast<std::size_t>(g.num_nodes()));
    for (Index i = 0; i < g.num_nodes(); ++i) {
      TestType d = mode == GraclusWeighting::normalized_cut ? g.adj.row(i).sum() : static_cast<TestType>(g.adj.row(i).nonZeros());
      inv[static_cast<std::size_t>(i)] = TestType(1) / d;
    }
    for (Index i = 0; i < g.num_nodes(); ++i)
      for (typename gnnpool::SparseMatrix<TestType>::InnerIterator it(h.adj, i); it; ++it)
        it.valueRef() *= inv[static_cast<std::size_t>(i)] + inv[static_cast<std::size_t>(it.col())];
    for (std::uint64_t seed = 0; seed < 4; ++seed) {
      GraclusOptions o;
      o.seed = seed;
      o.weighting = mode;
      GraclusOptions ref = o;
      ref.weighting = GraclusWeighting::edge_weight;
      CHECK(run(g, o).assignment == run(h, ref).assignment);
    }
  }
  // The normalised cut prefers the low-degree partner where raw weights prefer the heavy edge:
  // 0-1 (1.0) with leaf 1, 0-2 (1.2) with 2 also joined to 3 and 4.
  const auto star = gnnpool::test::weighted_graph<TestType>(5, EdgeList{{0, 1}, {0, 2}, {2, 3}, {2, 4}}, {1.0, 1.2, 1.0, 1.0});
  auto first = [](GraclusWeighting w) { return explicit_order({0, 1, 2, 3, 4}, w); };
  CHECK(raw_clusters(run(star, first(GraclusWeighting::edge_weight)))[0] == 0);
  CHECK(raw_clusters(run(star, first(GraclusWeighting::edge_weight)))[2] == 0);
  CHECK(raw_clusters(run(star, first(GraclusWeighting::normalized_cut)))[1] == 0);
  CHECK(raw_clusters(run(star, first(GraclusWeighting::normalized_cut_pyg)))[1] == 0);
}

TEST_CASE("Graclus visiting orders: seeded permutations per graph, index, ascending degree", "[select][graclus]") {
  const auto g = gnnpool::test::random_cluster_batch<double>({30, 0, 17}, 3.0, 1, 5);
  IndexVector order;
  GraclusOptions o;
  o.seed = 42;
  run(g, o, &order);
  // A permutation of each graph's own nodes, graph after graph.
  for (Index b = 0; b < g.num_graphs(); ++b) {
    IndexVector part(order.begin() + g.graph_begin(b), order.begin() + g.graph_begin(b + 1));
    std::sort(part.begin(), part.end());
    IndexVector expected(static_cast<std::size_t>(g.graph_size(b)));
    std::iota(expected.begin(), expected.end(), g.graph_begin(b));
    CHECK(part == expected);
  }
  IndexVector again, other;
  run(g, o, &again);
  CHECK(again == order);
  o.seed = 43;
  run(g, o, &other);
  CHECK(other != order);

  o.order = GraclusOrder::index;
  run(g, o, &order);
  IndexVector identity(static_cast<std::size_t>(g.num_nodes()));
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(order == identity);

  o.order = GraclusOrder::degree;
  run(g, o, &order);
  for (Index b = 0; b < g.num_graphs(); ++b)
    for (Index k = g.graph_begin(b) + 1; k < g.graph_begin(b + 1); ++k) {
      const Index u = order[static_cast<std::size_t>(k - 1)], v = order[static_cast<std::size_t>(k)];
      const Index du = g.adj.row(u).nonZeros(), dv = g.adj.row(v).nonZeros();
      CHECK((du < dv || (du == dv && u < v)));
    }
}

TEMPLATE_TEST_CASE("Graclus result is a maximal matching of adjacent pairs", "[select][graclus]", float, double) {
  for (const auto mode : {GraclusWeighting::unweighted, GraclusWeighting::edge_weight, GraclusWeighting::normalized_cut}) {
    const auto g = gnnpool::test::random_cluster_batch<TestType>({50, 1, 33}, 3.0, 1, 77);
    GraclusOptions o;
    o.weighting = mode;
    o.seed = 9;
    const auto sel = run(g, o);
    gnnpool::test::check_selection_invariants(g, sel);
    std::vector<Index> size(static_cast<std::size_t>(sel.num_supernodes()), 0);
    for (const Index a : sel.assignment) ++size[static_cast<std::size_t>(a)];
    for (Index i = 0; i < g.num_nodes(); ++i) {
      const Index c = sel.assignment[static_cast<std::size_t>(i)];
      REQUIRE(size[static_cast<std::size_t>(c)] <= 2);
      const Index partner = sel.representative[static_cast<std::size_t>(c)];
      if (partner != i) CHECK(g.adj.coeff(i, partner) != TestType(0));
      // Maximal (positive weights): two adjacent singletons would have been matched.
      for (typename gnnpool::SparseMatrix<TestType>::InnerIterator it(g.adj, i); it; ++it)
        if (it.col() != i) CHECK((size[static_cast<std::size_t>(c)] == 2 || size[static_cast<std::size_t>(sel.assignment[static_cast<std::size_t>(it.col())])] == 2));
    }
  }
}

TEST_CASE("Graclus rejects bad visiting orders, unknown names and non-symmetric graphs", "[select][graclus][errors]") {
  const auto g = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 1}, {1, 2}});
  require_throws_with<gnnpool::shape_error>([&] { run(g, explicit_order({0, 1})); },
                                            {"GraclusSelect", "visit_order has 2 entries", "3 nodes"});
  require_throws_with<gnnpool::invalid_argument>([&] { GraclusSelect<double>(explicit_order({0, 1, 1})); },
                                                 {"GraclusSelect", "not a permutation", "node 1 appears twice"});
  require_throws_with<gnnpool::invalid_argument>([&] { GraclusSelect<double>(explicit_order({0, 5, 1})); },
                                                 {"GraclusSelect", "visit_order[1] = 5", "out of range"});
  require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::parse_graclus_weighting("heavy"); },
                                                 {"GraclusSelect", "unknown weighting 'heavy'", "normalized_cut"});
  require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::parse_graclus_order("bfs"); },
                                                 {"GraclusSelect", "unknown visiting order 'bfs'"});
  CHECK(gnnpool::parse_graclus_weighting("weighted") == GraclusWeighting::edge_weight);
  CHECK(gnnpool::parse_graclus_order("degree") == GraclusOrder::degree);

  gnnpool::EdgeListOptions directed;
  directed.symmetrize = false;
  const auto d = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 1}, {1, 2}}, {}, directed);
  require_throws_with<gnnpool::invalid_argument>([&] { run(d, GraclusOptions{}); }, {"GraclusSelect", "symmetric"});
  // Only the structure must be symmetric: A(0, 1) = 2 and A(1, 0) = 1 is an undirected graph.
  auto v = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 1}, {1, 2}});
  v.adj.coeffRef(0, 1) = 2.0;
  CHECK_NOTHROW(run(v, GraclusOptions{}));
  // A mirror missing in the middle of the rows (row 1 lacks (1, 0)) and at the end.
  gnnpool::EdgeListOptions one_way = directed;
  const auto m = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{1, 0}, {1, 2}, {2, 1}}, {}, one_way);
  require_throws_with<gnnpool::invalid_argument>([&] { run(m, GraclusOptions{}); },
                                                 {"GraclusSelect", "A(0, 1) is stored and A(1, 0) is not"});
  const auto e = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 2}}, {}, one_way);
  require_throws_with<gnnpool::invalid_argument>([&] { run(e, GraclusOptions{}); },
                                                 {"GraclusSelect", "A(2, 0) is stored and A(0, 2) is not"});
  GraclusOptions unchecked;
  unchecked.check_symmetric = false;
  CHECK_NOTHROW(run(d, unchecked));
}

TEST_CASE("The symmetry check finds every kind of missing mirror and passes undirected graphs", "[select][graclus][errors]") {
  // The fast path is a fingerprint (an antisymmetric hash sum over blocks of entries): symmetric
  // patterns must give 0 and asymmetric ones must not, whatever their shape. One missing mirror in a large graph, a
  // directed cycle (each node has one in- and one out-edge), a directed graph where every node
  // has both, and random directed graphs; random undirected graphs pass.
  gnnpool::EdgeListOptions directed;
  directed.symmetrize = false;
  const auto check = [](const Batch<double>& g) { gnnpool::detail::check_symmetric_pattern(g.adj, "test"); };
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const auto u = gnnpool::testing::random_graph<double>(200 + 37 * static_cast<Index>(seed), 1000, 1, seed);
    CHECK_NOTHROW(check(u));
    // The same edges with one mirror removed.
    EdgeList edges;
    for (Index i = 0; i < u.adj.outerSize(); ++i)
      for (Eigen::SparseMatrix<double, Eigen::RowMajor, int>::InnerIterator it(u.adj, i); it; ++it)
        edges.push_back({i, it.col()});
    edges.erase(edges.begin() + static_cast<std::ptrdiff_t>((seed * 7919) % edges.size()));
    const auto one = gnnpool::make_graph<double>(Matrix<double>::Zero(u.num_nodes(), 1), edges, {}, directed);
    CHECK_THROWS_AS(check(one), gnnpool::invalid_argument);
    // Random directed edges.
    EdgeList random_edges;
    for (Index e = 0; e < 30; ++e)
      random_edges.push_back({static_cast<Index>((seed * 31 + 17 * static_cast<std::uint64_t>(e)) % 50),
                              static_cast<Index>((seed * 13 + 29 * static_cast<std::uint64_t>(e) + 1) % 50)});
    const auto r = gnnpool::make_graph<double>(Matrix<double>::Zero(50, 1), random_edges, {}, directed);
    bool symmetric = true;
    for (Index i = 0; i < r.adj.outerSize(); ++i)
      for (Eigen::SparseMatrix<double, Eigen::RowMajor, int>::InnerIterator it(r.adj, i); it; ++it)
        symmetric = symmetric && r.adj.coeff(it.col(), i) != 0.0;
    if (symmetric) CHECK_NOTHROW(check(r));
    else CHECK_THROWS_AS(check(r), gnnpool::invalid_argument);
  }
  // A row longer than the fast path's block of 1024 entries (a star), isolated nodes before and
  // after it (empty rows), and the same star with one mirror missing.
  EdgeList star;
  for (Index leaf = 2; leaf < 3002; ++leaf) star.push_back({1, leaf});
  CHECK_NOTHROW(check(gnnpool::make_graph<double>(Matrix<double>::Zero(3004, 1), star)));
  EdgeList star_one_way = star;
  for (Index leaf = 2; leaf < 3002; ++leaf)
    if (leaf != 2500) star_one_way.push_back({leaf, 1});
  CHECK_THROWS_AS(check(gnnpool::make_graph<double>(Matrix<double>::Zero(3004, 1), star_one_way, {}, directed)),
                  gnnpool::invalid_argument);
  // Rows in several chunks of the parallel pass (16 384 rows each), every edge between two
  // chunks: the mirrors cancel across chunks; one missing mirror is caught whatever the cut.
  {
    constexpr Index n = 40000;
    EdgeList across;
    for (Index i = 0; i < n; ++i) across.push_back({i, (i + 17000) % n});
    const auto both = gnnpool::make_graph<double>(Matrix<double>::Zero(n, 1), across);
    CHECK(gnnpool::detail::mirrored_fingerprint(both.adj, false));
    EdgeList one_missing = across;
    for (Index i = 0; i < n; ++i)
      if (i != 30000) one_missing.push_back({(i + 17000) % n, i});
    const auto skewed = gnnpool::make_graph<double>(Matrix<double>::Zero(n, 1), one_missing, {}, directed);
    CHECK_FALSE(gnnpool::detail::mirrored_fingerprint(skewed.adj, false));
  }
  // Counting only positive entries (NDP's and Kron's edges): A(1, 0) = -1 is no edge, so the
  // edge (0, 1) has no mirror; with A(0, 1) = 0 as well there is no edge at all.
  auto w = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 1}, {1, 2}});
  w.adj.coeffRef(1, 0) = -1.0;
  CHECK(gnnpool::detail::mirrored_fingerprint(w.adj, false));
  CHECK_FALSE(gnnpool::detail::mirrored_fingerprint(w.adj, true));
  w.adj.coeffRef(0, 1) = 0.0;
  CHECK(gnnpool::detail::mirrored_fingerprint(w.adj, true));
  for (const Index n : {Index(4), Index(10), Index(1000)}) {
    EdgeList cycle, both_ways_skewed;
    for (Index i = 0; i < n; ++i) {
      cycle.push_back({i, (i + 1) % n});
      both_ways_skewed.push_back({i, (i + 1) % n});
      both_ways_skewed.push_back({i, (i + 2) % n});
    }
    CHECK_THROWS_AS(check(gnnpool::make_graph<double>(Matrix<double>::Zero(n, 1), cycle, {}, directed)),
                    gnnpool::invalid_argument);
    CHECK_THROWS_AS(check(gnnpool::make_graph<double>(Matrix<double>::Zero(n, 1), both_ways_skewed, {}, directed)),
                    gnnpool::invalid_argument);
  }
}

}  // namespace gnnpool_test_select_graclus
