// Tests of gnnpool/pool/kmis_pool.hpp: a worked example, the gradient check (x, edge weights
// and the linear scorer) for every aggregation and passthrough, k = 1 and 2, float against
// double, non-trainable scorers, the lift, and the errors of bad options.

#include <gnnpool/pool/hard_lift.hpp>
#include <gnnpool/pool/kmis_pool.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "pool/cluster_test_support.hpp"
#include "support/approx.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_kmis_pool {

using gnnpool::Batch;
using gnnpool::ClusterAggregation;
using gnnpool::EdgeList;
using gnnpool::HardLift;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::KMISHeuristic;
using gnnpool::KMISPool;
using gnnpool::KMISPoolOptions;
using gnnpool::KMISScorer;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::ScorePassthrough;

TEMPLATE_TEST_CASE("KMISPool on a path: x[mis] times the score, unit edges between clusters", "[pool][kmis]", float,
                   double) {
  using T = TestType;
  auto g = gnnpool::make_graph<T>(Matrix<T>::Zero(5, 2), EdgeList{{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  g.x << 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
  ParameterSet<T> params;
  KMISPoolOptions o;  // linear scorer, greedy, representative, before
  const KMISPool<T> pool(params, "kmis", 2, o);
  params.at("kmis.lin.weight").setZero();
  params.at("kmis.lin.bias").setZero();  // s = 1/2 everywhere: s' = 1/2 / degree, ends first
  typename KMISPool<T>::Output out;
  typename KMISPool<T>::Cache cache;
  pool.forward(params, g, out, cache);
  CHECK(cache.select.visit_order == IndexVector{0, 4, 1, 2, 3});
  CHECK(out.selection.representative == IndexVector{0, 2, 4});
  CHECK(out.selection.assignment == IndexVector{0, 0, 1, 2, 2});  // 3 is next to 4 (rank 1) and 2 (rank 3)
  Matrix<T> x(3, 2);
  x << 0.5, 1, 2.5, 3, 4.5, 5;
  CHECK(out.batch.x == x);
  Matrix<T> a(3, 3);
  a << 0, 1, 0, 1, 0, 1, 0, 1, 0;  // 1-2 and 2-3 join clusters; 0-1 and 3-4 lie inside one
  CHECK(Matrix<T>(out.batch.adj) == a);

  Matrix<T> lifted;
  HardLift<T>().forward(out.selection, out.batch.x, lifted);
  CHECK(lifted.row(3) == x.row(2));
  CHECK(lifted.row(1) == x.row(0));
}

TEST_CASE("KMISPool backward passes the gradient check for every aggregation and passthrough, k = 1, 2",
          "[pool][kmis][gradcheck]") {
  for (const Index k : {1, 2})
    for (const auto agg : {ClusterAggregation::representative, ClusterAggregation::max, ClusterAggregation::mean,
                           ClusterAggregation::sum})
      for (const auto pt : {ScorePassthrough::before, ScorePassthrough::after}) {
        auto g = gnnpool::test::random_cluster_batch<double>({13, 1, 8}, 3.0, 3, 31);
        ParameterSet<double> params;
        KMISPoolOptions o;
        o.select.k = k;
        o.select.heuristic = k == 1 ? KMISHeuristic::greedy : KMISHeuristic::w_greedy;
        o.aggregation = agg;
        o.passthrough = pt;
        const KMISPool<double> pool(params, "pool", 3, o);
        params.initialize(static_cast<std::uint64_t>(k * 7 + 1));
        const auto result = gnnpool::testing::check_pool(pool, params, g);
        INFO("k " << k << ", aggregation " << static_cast<int>(agg) << ", passthrough " << static_cast<int>(pt) << "\n"
                  << result.log);
        CHECK(result.ok);
      }
}

TEST_CASE("KMISPool with a non-trainable scorer has no parameters and passes the gradient check",
          "[pool][kmis][gradcheck]") {
  for (const auto scorer : {KMISScorer::random, KMISScorer::constant, KMISScorer::degree}) {
    auto g = gnnpool::test::random_cluster_batch<double>({12, 10}, 3.0, 2, 41);
    ParameterSet<double> params;
    KMISPoolOptions o;
    o.select.scorer = scorer;
    o.aggregation = ClusterAggregation::mean;
    o.passthrough = ScorePassthrough::none;
    const KMISPool<double> pool(params, "pool", 2, o);
    CHECK(params.size() == 0);
    CHECK(pool.select().feature_independent());
    const auto result = gnnpool::testing::check_pool(pool, params, g);
    INFO(result.log);
    CHECK(result.ok);
  }
}

TEST_CASE("KMISPool in float matches double", "[pool][kmis][float]") {
  const auto gd = gnnpool::test::random_cluster_batch<double>({40, 25}, 4.0, 6, 12);
  const auto gf = gnnpool::test::random_cluster_batch<float>({40, 25}, 4.0, 6, 12);
  for (const auto agg : {ClusterAggregation::representative, ClusterAggregation::max, ClusterAggregation::sum}) {
    ParameterSet<double> pd;
    ParameterSet<float> pf;
    KMISPoolOptions o;
    o.aggregation = agg;
    o.passthrough = ScorePassthrough::after;
    const KMISPool<double> ld(pd, "", 6, o);
    const KMISPool<float> lf(pf, "", 6, o);
    pd.initialize(4);
    pf = pd.cast<float>();
    typename KMISPool<double>::Output od;
    typename KMISPool<double>::Cache cd;
    typename KMISPool<float>::Output of;
    typename KMISPool<float>::Cache cf;
    ld.forward(pd, gd, od, cd);
    lf.forward(pf, gf, of, cf);
    REQUIRE(od.selection.assignment == of.selection.assignment);
    CHECK(gnnpool::test::max_relative_error(of.batch.x, od.batch.x) < 1e-5);
    typename KMISPool<double>::OutputGrad gdd;
    gdd.x = gnnpool::testing::random_features<double>(od.batch.x.rows(), 6, 9);
    typename KMISPool<float>::OutputGrad gff;
    gff.x = gdd.x.cast<float>();
    gnnpool::BatchGrad<double> dd;
    gnnpool::BatchGrad<float> df;
    ParameterSet<double> dpd = pd.zeros_like();
    ParameterSet<float> dpf = pf.zeros_like();
    ld.backward(pd, gd, od, cd, gdd, dd, dpd);
    lf.backward(pf, gf, of, cf, gff, df, dpf);
    CHECK(gnnpool::test::max_relative_error(df.x, dd.x) < 1e-5);
    for (Index s = 0; s < dpd.size(); ++s) CHECK(gnnpool::test::max_relative_error(dpf[s], dpd[s]) < 1e-4);
  }
}

TEST_CASE("KMISPool rejects a linear scorer without passthrough", "[pool][kmis][errors]") {
  ParameterSet<double> params;
  KMISPoolOptions o;
  o.passthrough = ScorePassthrough::none;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([&] { KMISPool<double>(params, "", 3, o); },
                                                                {"KMISPool", "linear scorer needs a score passthrough"});
  o.select.k = 0;
  o.passthrough = ScorePassthrough::before;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([&] { KMISPool<double>(params, "", 3, o); },
                                                                {"KMISSelect", "k must be >= 1"});
}

}  // namespace gnnpool_test_pool_kmis_pool
