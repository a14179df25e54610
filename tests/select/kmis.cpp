// Tests of gnnpool/select/kmis.hpp: scorers, heuristics, the k-MIS and its clusters against a
// brute-force oracle (PR #6488's round algorithm on hop distances), gradients of the linear
// scorer, and the errors of bad input.

#include <gnnpool/select/kmis.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "pool/cluster_test_support.hpp"
#include "support/approx.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_select_kmis {

using gnnpool::Batch;
using gnnpool::EdgeList;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::KMISHeuristic;
using gnnpool::KMISOptions;
using gnnpool::KMISScorer;
using gnnpool::KMISSelect;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::Vector;
using gnnpool::test::require_throws_with;

namespace {

KMISOptions fixed(Index k, KMISScorer scorer = KMISScorer::constant, KMISHeuristic h = KMISHeuristic::plain) {
  KMISOptions o;
  o.k = k;
  o.scorer = scorer;
  o.heuristic = h;
  return o;
}

template <typename Scalar>
struct Run {
  HardSelection<Scalar> sel;
  typename KMISSelect<Scalar>::Cache cache;
};

template <typename Scalar>
Run<Scalar> run(const Batch<Scalar>& g, const KMISOptions& o) {
  Run<Scalar> r;
  KMISSelect<Scalar>(o).forward(ParameterSet<Scalar>{}, g, r.sel, r.cache);
  return r;
}

/// PR #6488's parallel rounds, literally, on hop distances: a node joins when its rank is the
/// minimum among the unmasked nodes within k hops; then everything within k hops of the set is
/// masked. Cluster = the member of smallest rank within k hops, numbered by member index.
template <typename Scalar>
std::pair<std::vector<bool>, IndexVector> rounds_oracle(const Batch<Scalar>& g, const IndexVector& order, Index k) {
  const Index n = g.num_nodes();
  const auto d = gnnpool::test::hop_distances(g.adj);
  IndexVector rank(static_cast<std::size_t>(n));
  for (Index p = 0; p < n; ++p) rank[static_cast<std::size_t>(order[static_cast<std::size_t>(p)])] = p;
  std::vector<bool> mis(static_cast<std::size_t>(n), false), mask(static_cast<std::size_t>(n), false);
  auto near = [&](Index u, Index v) { return d[static_cast<std::size_t>(u)][static_cast<std::size_t>(v)] <= k; };
  while (std::find(mask.begin(), mask.end(), false) != mask.end()) {
    std::vector<bool> joins(static_cast<std::size_t>(n), false);
    for (Index v = 0; v < n; ++v) {
      if (mask[static_cast<std::size_t>(v)]) continue;
      bool best = true;
      for (Index u = 0; u < n; ++u)
        if (!mask[static_cast<std::size_t>(u)] && near(u, v) && rank[static_cast<std::size_t>(u)] < rank[static_cast<std::size_t>(v)]) best = false;
      joins[static_cast<std::size_t>(v)] = best;
    }
    for (Index v = 0; v < n; ++v)
      if (joins[static_cast<std::size_t>(v)]) mis[static_cast<std::size_t>(v)] = true;
    for (Index v = 0; v < n; ++v)
      for (Index u = 0; u < n; ++u)
        if (mis[static_cast<std::size_t>(u)] && near(u, v)) mask[static_cast<std::size_t>(v)] = true;
  }
  IndexVector id(static_cast<std::size_t>(n), -1);
  Index next = 0;
  for (Index v = 0; v < n; ++v)
    if (mis[static_cast<std::size_t>(v)]) id[static_cast<std::size_t>(v)] = next++;
  IndexVector cluster(static_cast<std::size_t>(n), -1);
  for (Index v = 0; v < n; ++v) {
    Index best = -1;
    for (Index u = 0; u < n; ++u)
      if (mis[static_cast<std::size_t>(u)] && near(u, v) &&
          (best < 0 || rank[static_cast<std::size_t>(u)] < rank[static_cast<std::size_t>(best)]))
        best = u;
    cluster[static_cast<std::size_t>(v)] = id[static_cast<std::size_t>(best)];
  }
  return {mis, cluster};
}

}  // namespace

static_assert(gnnpool::SelectPolicy<KMISSelect<float>>);
static_assert(gnnpool::SelectPolicy<KMISSelect<double>>);

TEMPLATE_TEST_CASE("k-MIS on a path: the set, its clusters and the numbering by member index", "[select][kmis]",
                   float, double) {
  const auto path = gnnpool::make_graph<TestType>(Matrix<TestType>::Zero(5, 1), EdgeList{{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  // Constant scores, no heuristic: ranks follow the index.
  auto k1 = run(path, fixed(1));
  CHECK(k1.sel.representative == IndexVector{0, 2, 4});
  CHECK(k1.sel.assignment == IndexVector{0, 0, 1, 1, 2});  // 1 and 3 join their best-ranked member
  CHECK(k1.sel.offsets == IndexVector{0, 3});
  auto k2 = run(path, fixed(2));
  CHECK(k2.sel.representative == IndexVector{0, 3});
  CHECK(k2.sel.assignment == IndexVector{0, 0, 0, 1, 1});  // 2 is 2 hops from 0 and 1 from 3: rank wins
  auto k4 = run(path, fixed(4));
  CHECK(k4.sel.representative == IndexVector{0});
  // The weight of every node is its score.
  CHECK(k1.sel.weight == Vector<TestType>::Ones(5));
}

TEMPLATE_TEST_CASE("k-MIS heuristics: s / A^k 1, s / A^k s, (A + I)^k, isolated nodes first", "[select][kmis]",
                   float, double) {
  // Star 0-{1,2,3} plus an isolated node 4 and a self loop on 1 (ignored by the heuristic).
  const auto g = gnnpool::make_graph<TestType>(Matrix<TestType>::Zero(5, 1), EdgeList{{0, 1}, {0, 2}, {0, 3}, {1, 1}});
  const TestType inf = std::numeric_limits<TestType>::infinity();
  auto greedy = run(g, fixed(1, KMISScorer::constant, KMISHeuristic::greedy));
  Vector<TestType> expected(5);
  expected << TestType(1) / 3, 1, 1, 1, inf;
  CHECK(greedy.cache.updated == expected);
  CHECK(greedy.cache.visit_order == IndexVector{4, 1, 2, 3, 0});
  CHECK(greedy.sel.representative == IndexVector{1, 2, 3, 4});
  CHECK(greedy.sel.assignment == IndexVector{0, 0, 1, 2, 3});  // the centre joins leaf 1 (best rank)
  // k = 2: A^2 1 = (3, 3, 3, 3, 0) for the centre's 3 two-hop walks back, leaves 1 + 2.
  auto greedy2 = run(g, fixed(2, KMISScorer::constant, KMISHeuristic::greedy));
  expected << TestType(1) / 3, TestType(1) / 3, TestType(1) / 3, TestType(1) / 3, inf;
  CHECK(gnnpool::test::max_relative_error(greedy2.cache.updated.head(4), expected.head(4)) == 0);
  // (A + I)^1 1 = degree + 1.
  auto tgp = fixed(1, KMISScorer::constant, KMISHeuristic::greedy);
  tgp.heuristic_self_loops = true;
  expected << TestType(1) / 4, TestType(1) / 2, TestType(1) / 2, TestType(1) / 2, 1;
  CHECK(run(g, tgp).cache.updated == expected);
  // w-greedy with degree scores s = (3, 2, 1, 1, 0) (the self loop counts in the degree):
  // A s = (4, 3, 3, 3, 0) -> s' = (3/4, 2/3, 1/3, 1/3, +inf).
  auto wg = run(g, fixed(1, KMISScorer::degree, KMISHeuristic::w_greedy));
  Vector<TestType> s(5);
  s << 3, 2, 1, 1, 0;
  CHECK(wg.cache.score == s);
  expected << TestType(3) / 4, TestType(2) / 3, TestType(1) / 3, TestType(1) / 3, inf;
  CHECK(gnnpool::test::max_relative_error(wg.cache.updated.head(4), expected.head(4)) < 1e-6);
  CHECK(wg.cache.updated[4] == inf);
  CHECK(wg.cache.visit_order == IndexVector{4, 0, 1, 2, 3});
  CHECK(wg.sel.representative == IndexVector{0, 4});
}

TEST_CASE("k-MIS scorers: linear = sigmoid(x w + b), random seeded per graph in [0, 1), degree = row sums",
          "[select][kmis]") {
  auto g = gnnpool::test::random_cluster_batch<double>({12, 9}, 3.0, 3, 4);
  ParameterSet<double> params;
  KMISOptions o;
  const KMISSelect<double> lin(params, "pool", 3, o);
  CHECK(params.find("pool.lin.weight") >= 0);
  CHECK(params.at("pool.lin.weight").cols() == 3);
  params.initialize(3);
  HardSelection<double> sel;
  KMISSelect<double>::Cache cache;
  lin.forward(params, g, sel, cache);
  for (Index i = 0; i < g.num_nodes(); ++i) {
    const double z = g.x.row(i).dot(params.at("pool.lin.weight").row(0)) + params.at("pool.lin.bias")(0, 0);
    CHECK(cache.score[i] == Approx(1 / (1 + std::exp(-z))).epsilon(1e-14));
  }
  CHECK(sel.weight == cache.score);

  auto rnd = fixed(1, KMISScorer::random);
  rnd.seed = 5;
  const auto a = run(g, rnd), b = run(g, rnd);
  CHECK(a.cache.score == b.cache.score);
  CHECK(a.cache.score.minCoeff() >= 0);
  CHECK(a.cache.score.maxCoeff() < 1);
  // Graph 1 (9 nodes) draws the start of the same stream as graph 0: same seed, own size.
  CHECK(a.cache.score.segment(12, 9) == a.cache.score.head(9));
  rnd.seed = 6;
  CHECK(run(g, rnd).cache.score != a.cache.score);

  const auto deg = run(g, fixed(1, KMISScorer::degree));
  for (Index i = 0; i < g.num_nodes(); ++i) CHECK(deg.cache.score[i] == Approx(g.adj.row(i).sum()));
}

TEMPLATE_TEST_CASE("k-MIS equals PR #6488's round algorithm on random graphs, k = 1 .. 3", "[select][kmis]",
                   float, double) {
  for (std::uint64_t seed = 0; seed < 6; ++seed) {
    const auto g = gnnpool::test::random_cluster_batch<TestType>({23, 1, 15}, 2.5, 1, seed);
    for (Index k = 1; k <= 3; ++k) {
      for (const auto h : {KMISHeuristic::plain, KMISHeuristic::greedy, KMISHeuristic::w_greedy}) {
        auto o = fixed(k, KMISScorer::random, h);
        o.seed = seed;
        const auto r = run(g, o);
        gnnpool::test::check_selection_invariants(g, r.sel);
        const auto [mis, cluster] = rounds_oracle(g, r.cache.visit_order, k);
        IndexVector members;
        for (Index v = 0; v < g.num_nodes(); ++v)
          if (mis[static_cast<std::size_t>(v)]) members.push_back(v);
        CHECK(r.sel.representative == members);
        CHECK(r.sel.assignment == cluster);
      }
    }
  }
}

TEST_CASE("k-MIS backward: gradient of the linear scorer through the weights", "[select][kmis][gradcheck]") {
  auto g = gnnpool::test::random_cluster_batch<double>({10, 7}, 3.0, 4, 8);
  ParameterSet<double> params;
  const KMISSelect<double> select(params, "", 4, KMISOptions{});
  params.initialize(1);
  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"x", g.x.data(), g.x.size()});
  gnnpool::testing::add_parameters(problem, params);
  problem.forward = [&](std::vector<double>& out, std::vector<Index>& discrete) {
    HardSelection<double> sel;
    KMISSelect<double>::Cache cache;
    select.forward(params, g, sel, cache);
    gnnpool::testing::append(sel.weight, out);
    discrete = sel.assignment;
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    HardSelection<double> sel;
    KMISSelect<double>::Cache cache;
    select.forward(params, g, sel, cache);
    Vector<double> dsel = Eigen::Map<const Vector<double>>(up.data(), static_cast<Index>(up.size()));
    gnnpool::BatchGrad<double> din;
    din.x.setZero(g.x.rows(), g.x.cols());  // select ADDS into din
    ParameterSet<double> dparams = params.zeros_like();
    gnnpool::testing::poison(dparams);
    select.backward(params, g, sel, cache, dsel, din, dparams);
    gnnpool::testing::copy_gradient(din.x, grads[0]);
    for (Index s = 0; s < dparams.size(); ++s) gnnpool::testing::copy_gradient(dparams[s], grads[static_cast<std::size_t>(s) + 1]);
  };
  const auto result = gnnpool::testing::check_gradients(problem);
  INFO(result.log);
  CHECK(result.ok);
}

TEST_CASE("k-MIS rejects k < 1, unknown names, a linear scorer without parameters, bad graphs",
          "[select][kmis][errors]") {
  require_throws_with<gnnpool::invalid_argument>([] { KMISSelect<double>(fixed(0)); }, {"KMISSelect", "k must be >= 1, got 0"});
  require_throws_with<gnnpool::invalid_argument>([] { KMISSelect<double>(KMISOptions{}); },
                                                 {"KMISSelect", "linear scorer has parameters"});
  require_throws_with<gnnpool::invalid_argument>([] { gnnpool::parse_kmis_scorer("pagerank"); },
                                                 {"KMISSelect", "unknown scorer 'pagerank'"});
  require_throws_with<gnnpool::invalid_argument>([] { gnnpool::parse_kmis_heuristic("lazy"); },
                                                 {"KMISSelect", "unknown score heuristic 'lazy'"});
  CHECK(gnnpool::parse_kmis_heuristic("w-greedy") == KMISHeuristic::w_greedy);
  CHECK(gnnpool::parse_kmis_heuristic("none") == KMISHeuristic::plain);

  gnnpool::EdgeListOptions directed;
  directed.symmetrize = false;
  const auto d = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 1}, {1, 2}}, {}, directed);
  require_throws_with<gnnpool::invalid_argument>([&] { run(d, fixed(1)); }, {"KMISSelect", "symmetric"});

  auto g = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 2), EdgeList{{0, 1}, {1, 2}});
  g.x(1, 0) = std::numeric_limits<double>::quiet_NaN();
  ParameterSet<double> params;
  const KMISSelect<double> lin(params, "", 2, KMISOptions{});
  HardSelection<double> sel;
  KMISSelect<double>::Cache cache;
  require_throws_with<gnnpool::invalid_argument>([&] { lin.forward(params, g, sel, cache); },
                                                 {"KMISSelect", "score of node 1 is NaN"});
  require_throws_with<gnnpool::shape_error>(
      [&] { lin.forward(params, gnnpool::make_graph<double>(Matrix<double>::Zero(3, 5), EdgeList{{0, 1}}), sel, cache); },
      {"Linear", "3 x 5", "2 input features"});
}

}  // namespace gnnpool_test_select_kmis
