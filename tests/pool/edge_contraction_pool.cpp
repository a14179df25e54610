// Tests of gnnpool/pool/edge_contraction_pool.hpp and gnnpool/select/edge_contraction.hpp: the
// edge scores and the greedy matching on a worked example, the explicit visiting order, the
// gradient checks (every score method; alone, and on a tape with both lifts), float against
// double, and the errors.

#include <gnnpool/pool/edge_contraction_pool.hpp>
#include <gnnpool/select/edge_contraction.hpp>

#include "pool/hard_test_support.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_edge_contraction_pool {

using namespace gnnpool;

namespace {

template <typename T>
Batch<T> path4() {
  Matrix<T> x(4, 1);
  x << 1, 2, 3, 4;
  return make_graph<T>(x, EdgeList{{0, 1}, {1, 2}, {2, 3}});
}

}  // namespace

TEMPLATE_TEST_CASE("EdgeContractionPool on a path: softmax scores, greedy matching, summed clusters",
                   "[pool][edge_contraction]", float, double) {
  using T = TestType;
  const Batch<T> g = path4<T>();
  ParameterSet<T> params;
  const EdgeContractionPool<T> pool(params, "ec", 1);
  CHECK(pool.name() == "ec (EdgeContractionPool)");
  params.at("ec.selector.lin.weight") << 1, 0;  // raw score = x of the source
  params.at("ec.selector.lin.bias").setZero();
  typename EdgeContractionPool<T>::Output out;
  typename EdgeContractionPool<T>::Cache cache;
  pool.forward(params, g, out, cache);
  // Nodes 0 and 3 have one incoming edge (score 1 + 0.5); 1 -> 0 wins the tie with 2 -> 3 (lower
  // source), then 2 -> 3: clusters {0, 1} (named 1) and {2, 3} (named 2).
  CHECK(out.selection.assignment == IndexVector{0, 0, 1, 1});
  CHECK(out.selection.representative == IndexVector{1, 2});
  CHECK(out.selection.weight.isApprox(Vector<T>::Constant(4, T(1.5))));
  Matrix<T> x(2, 1);
  x << T(4.5), T(10.5);
  CHECK(out.batch.x.isApprox(x));
  Matrix<T> a(2, 2);
  a << 0, 1, 1, 0;
  CHECK(Matrix<T>(out.batch.adj) == a);
  // The softmax of node 1's incoming edges (from 0: raw 1, from 2: raw 3).
  const T p = std::exp(T(3)) / (std::exp(T(1)) + std::exp(T(3)));
  CHECK(cache.select.prob[2] == Approx(p));  // row 0 stores (0, 1); row 1 (1, 0), (1, 2): entry 2 is 2 -> 1
}

TEST_CASE("EdgeContractionSelect's default order is the stable sort an explicit order reproduces",
          "[pool][edge_contraction]") {
  std::vector<Index> sizes{9, 7};
  const Batch<double> g = testing::random_batch<double>(sizes, 2.5, 3, 12, {.weighted = true});
  ParameterSet<double> params;
  const EdgeContractionSelect<double> select(params, "", 3);
  params.initialize(2);
  HardSelection<double> a, b;
  typename EdgeContractionSelect<double>::Cache ca, cb;
  select.forward(params, g, a, ca);
  // The same order, given explicitly: by score, then source, then target.
  EdgeContractionOptions o;
  o.edge_order.resize(static_cast<std::size_t>(g.num_edges()));
  std::iota(o.edge_order.begin(), o.edge_order.end(), Index(0));
  const StorageIndex* inner = g.adj.innerIndexPtr();
  std::stable_sort(o.edge_order.begin(), o.edge_order.end(), [&](Index p, Index q) {
    const double sp = ca.prob[p], sq = ca.prob[q];
    return sp != sq ? sp > sq : (inner[p] != inner[q] ? inner[p] < inner[q] : ca.row[static_cast<std::size_t>(p)] < ca.row[static_cast<std::size_t>(q)]);
  });
  ParameterSet<double> params2;
  const EdgeContractionSelect<double> explicit_order(params2, "", 3, o);
  for (Index s = 0; s < params.size(); ++s) params2[s] = params[s];
  explicit_order.forward(params2, g, b, cb);
  CHECK(a.assignment == b.assignment);
  CHECK(a.weight == b.weight);
  // A reversed order matches other edges.
  std::reverse(o.edge_order.begin(), o.edge_order.end());
  ParameterSet<double> params3;
  const EdgeContractionSelect<double> reversed(params3, "", 3, o);
  for (Index s = 0; s < params.size(); ++s) params3[s] = params[s];
  reversed.forward(params3, g, b, cb);
  CHECK(a.assignment != b.assignment);
}

TEST_CASE("EdgeContractionPool passes the gradient check for every score method, alone and on a tape",
          "[pool][edge_contraction][gradcheck]") {
  for (const auto method : {EdgeScoreMethod::softmax, EdgeScoreMethod::tanh, EdgeScoreMethod::sigmoid}) {
    std::vector<Index> sizes{8, 1, 6};
    Batch<double> g = testing::random_batch<double>(sizes, 2.5, 3, 5, {.weighted = true});
    EdgeContractionPoolOptions o;
    o.select.score = method;
    ParameterSet<double> params;
    const EdgeContractionPool<double> pool(params, "", 3, o);
    params.initialize(7);
    const auto r = testing::check_pool(pool, params, g);
    INFO(r.log);
    CHECK(r.ok);
  }
  for (const auto mode : {LiftWeighting::multiply, LiftWeighting::divide}) {
    std::vector<Index> sizes{7, 6};
    Batch<double> g = testing::random_batch<double>(sizes, 2.5, 3, 6, {.weighted = true});
    const WeightedHardLift<double> lift(mode);
    const auto t = test::check_pool_on_tape(
        [](ParameterSet<double>& p, Index h) { return EdgeContractionPool<double>(p, "pool", h); }, g, &lift);
    INFO(t.log);
    CHECK(t.ok);
  }
}

TEST_CASE("EdgeContractionPool in float matches double", "[pool][edge_contraction][float]") {
  std::vector<Index> sizes{20, 11};
  const Batch<double> g = testing::random_batch<double>(sizes, 3.0, 4, 8, {.weighted = true});
  ParameterSet<double> nd;
  ParameterSet<float> nf;
  const EdgeContractionPool<double> pd(nd, "", 4);
  const EdgeContractionPool<float> pf(nf, "", 4);
  nd.initialize(1);
  test::require_float_matches_double(pd, nd, pf, nf, g);
}

TEST_CASE("EdgeContractionPool rejects bad orders, widths and features", "[pool][edge_contraction][errors]") {
  Batch<double> g = path4<double>();
  ParameterSet<double> params;
  test::require_throws_with<invalid_argument>(
      [&] { EdgeContractionPool<double>(params, "a", 1, {.select = {.edge_order = {0, 1, 1}}}); },
      {"EdgeContractionSelect", "edge_order", "node 1 appears twice"});
  const EdgeContractionPool<double> short_order(params, "b", 1, {.select = {.edge_order = {2, 1, 0}}});
  typename EdgeContractionPool<double>::Output out;
  typename EdgeContractionPool<double>::Cache cache;
  test::require_throws_with<shape_error>([&] { short_order.forward(params, g, out, cache); },
                                         {"EdgeContractionSelect", "edge_order has 3 entries", "stores 6"});
  const EdgeContractionPool<double> pool(params, "c", 2);
  test::require_throws_with<shape_error>([&] { pool.forward(params, g, out, cache); },
                                         {"c (EdgeContractionPool)", "x is 4 x 1", "2 features"});
  const EdgeContractionPool<double> one(params, "d", 1);
  params.at("d.selector.lin.weight").setOnes();
  g.x(2, 0) = std::nan("");
  test::require_throws_with<invalid_argument>([&] { one.forward(params, g, out, cache); },
                                              {"EdgeContractionSelect", "not finite"});
}

}  // namespace gnnpool_test_pool_edge_contraction_pool
