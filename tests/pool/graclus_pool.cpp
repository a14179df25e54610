// Tests of gnnpool/pool/graclus_pool.hpp: the composed pooler on a worked example, the
// gradient check (features and edge weights) for max / mean / sum, float against double, and
// the lift back to the input nodes (pool/hard_lift.hpp).

#include <gnnpool/pool/graclus_pool.hpp>
#include <gnnpool/pool/hard_lift.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "pool/cluster_test_support.hpp"
#include "support/approx.hpp"

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_graclus_pool {

using gnnpool::Batch;
using gnnpool::ClusterAggregation;
using gnnpool::EdgeList;
using gnnpool::GraclusPool;
using gnnpool::GraclusPoolOptions;
using gnnpool::GraclusWeighting;
using gnnpool::HardLift;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::ParameterSet;

namespace {

template <typename Scalar>
typename GraclusPool<Scalar>::Output pool_once(const GraclusPool<Scalar>& pool, const Batch<Scalar>& g) {
  typename GraclusPool<Scalar>::Output out;
  typename GraclusPool<Scalar>::Cache cache;
  pool.forward(ParameterSet<Scalar>{}, g, out, cache);
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("GraclusPool on a square with a tail: pairs, max features, summed edges", "[pool][graclus]", float,
                   double) {
  using T = TestType;
  // Square 0-1-2-3-0 plus tail 3-4, weights: 0-1 3, 1-2 1, 2-3 2, 3-0 1, 3-4 5.
  auto g = gnnpool::test::weighted_graph<T>(5, EdgeList{{0, 1}, {1, 2}, {2, 3}, {3, 0}, {3, 4}}, {3, 1, 2, 1, 5});
  g.x.resize(5, 2);
  g.x << 1, 0, 2, -1, 0, 4, -3, 2, 5, 5;
  GraclusPoolOptions o;
  o.select.weighting = GraclusWeighting::edge_weight;
  o.select.visit_order = {3, 0, 1, 2, 4};
  ParameterSet<T> none;
  const auto out = pool_once(GraclusPool<T>(none, "", 2, o), g);
  // 3 takes 4 (weight 5); 0 takes 1 (3); 2 is left alone. Clusters {0, 1}, {2}, {3, 4}.
  CHECK(out.selection.assignment == IndexVector{0, 0, 1, 2, 2});
  CHECK(out.selection.representative == IndexVector{0, 2, 3});
  Matrix<T> x(3, 2);
  x << 2, 0, 0, 4, 5, 5;
  CHECK(out.batch.x == x);
  Matrix<T> a(3, 3);
  a << 0, 1, 1, 1, 0, 2, 1, 2, 0;  // {0,1}-{2}: 1-2; {0,1}-{3,4}: 0-3; {2}-{3,4}: 2-3
  CHECK(Matrix<T>(out.batch.adj) == a);
  CHECK(out.batch.offsets == IndexVector{0, 3});
  CHECK(out.losses.empty());

  // Lift: every member gets its supernode's row; backward sums the members.
  Matrix<T> lifted;
  HardLift<T>().forward(out.selection, out.batch.x, lifted);
  Matrix<T> expected(5, 2);
  expected << 2, 0, 2, 0, 0, 4, 5, 5, 5, 5;
  CHECK(lifted == expected);
  Matrix<T> dpooled;
  gnnpool::Vector<T> dweight;
  HardLift<T>().backward(out.selection, out.batch.x, Matrix<T>::Ones(5, 2), dpooled, dweight);
  CHECK(dpooled.col(0) == gnnpool::Vector<T>((gnnpool::Vector<T>(3) << 2, 1, 2).finished()));
}

TEST_CASE("GraclusPool backward passes the gradient check (x and edge weights) for max, mean and sum",
          "[pool][graclus][gradcheck]") {
  for (const auto agg : {ClusterAggregation::max, ClusterAggregation::mean, ClusterAggregation::sum}) {
    for (const auto w : {GraclusWeighting::unweighted, GraclusWeighting::normalized_cut}) {
      auto g = gnnpool::test::random_cluster_batch<double>({14, 1, 9}, 3.0, 3, 21);
      GraclusPoolOptions o;
      o.aggregation = agg;
      o.select.weighting = w;
      o.select.seed = 5;
      ParameterSet<double> params;
      const GraclusPool<double> pool(params, "", 3, o);
      const auto result = gnnpool::testing::check_pool(pool, params, g);
      INFO(result.log);
      CHECK(result.ok);
    }
  }
}

TEST_CASE("GraclusPool in float matches double", "[pool][graclus][float]") {
  const auto gd = gnnpool::test::random_cluster_batch<double>({30, 12}, 4.0, 5, 2);
  const auto gf = gnnpool::test::random_cluster_batch<float>({30, 12}, 4.0, 5, 2);
  for (const auto agg : {ClusterAggregation::max, ClusterAggregation::mean, ClusterAggregation::sum}) {
    GraclusPoolOptions o;
    o.aggregation = agg;
    o.select.weighting = GraclusWeighting::edge_weight;
    ParameterSet<double> nd;
    ParameterSet<float> nf;
    const GraclusPool<double> pd(nd, "", 5, o);
    const GraclusPool<float> pf(nf, "", 5, o);
    typename GraclusPool<double>::Output od;
    typename GraclusPool<double>::Cache cd;
    typename GraclusPool<float>::Output of;
    typename GraclusPool<float>::Cache cf;
    pd.forward({}, gd, od, cd);
    pf.forward({}, gf, of, cf);
    REQUIRE(od.selection.assignment == of.selection.assignment);
    CHECK(gnnpool::test::max_relative_error(of.batch.x, od.batch.x) < 1e-5);
    CHECK(gnnpool::test::max_relative_error(Matrix<float>(of.batch.adj), Matrix<double>(od.batch.adj)) < 1e-5);
    typename GraclusPool<double>::OutputGrad gdd;
    gdd.x = gnnpool::testing::random_features<double>(od.batch.x.rows(), 5, 9);
    gdd.adj = gnnpool::testing::random_features<double>(od.batch.adj.nonZeros(), 1, 10);
    typename GraclusPool<float>::OutputGrad gff;
    gff.x = gdd.x.cast<float>();
    gff.adj = gdd.adj.cast<float>();
    gnnpool::BatchGrad<double> dd;
    gnnpool::BatchGrad<float> df;
    ParameterSet<double> pdd;
    ParameterSet<float> pff;
    pd.backward({}, gd, od, cd, gdd, dd, pdd);
    pf.backward({}, gf, of, cf, gff, df, pff);
    CHECK(gnnpool::test::max_relative_error(df.x, dd.x) < 1e-5);
    CHECK(gnnpool::test::max_relative_error(df.adj, dd.adj) < 1e-5);
  }
}

}  // namespace gnnpool_test_pool_graclus_pool
