// Tests of gnnpool/pool/mincut_pool.hpp: MinCutPool and mincut_pool_function: output layout,
// losses, gradients of x, A and the MLP, float vs double, options and errors.

#include <gnnpool/nn/linear.hpp>
#include <gnnpool/pool/mincut_pool.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_mincut_pool {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::MinCutPool;
using gnnpool::MinCutPoolOptions;
using gnnpool::ParameterSet;

TEMPLATE_TEST_CASE("MinCutPool pools every graph to K supernodes with its two losses", "[pool][mincut]", float, double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(3, 201);
  ParameterSet<TestType> params;
  const MinCutPool<TestType> pool(params, "pool", 3, {.k = 4, .hidden = {6}});
  CHECK(params.find("pool.mlp.lins.0.weight") >= 0);
  CHECK(params.find("pool.mlp.lins.1.bias") >= 0);
  CHECK(pool.num_clusters() == 4);
  CHECK(pool.name() == "pool (MinCutPool)");
  params.initialize(3);
  typename MinCutPool<TestType>::Output out;
  typename MinCutPool<TestType>::Cache cache;
  pool.forward(params, batch, out, cache);
  CHECK(out.batch.offsets == gnnpool::IndexVector{0, 4, 8, 12, 16});
  CHECK(out.batch.x.rows() == 16);
  CHECK(out.batch.adj.nonZeros() == 4 * 16);
  gnnpool::check_batch(out.batch, "test");
  REQUIRE(out.losses.size() == 2);
  CHECK(out.losses[0].name == "mincut_loss");
  CHECK(out.losses[1].name == "ortho_loss");
  CHECK(out.loss("mincut_loss") <= TestType(0));
  CHECK(out.loss("mincut_loss") >= TestType(-1) - TestType(1e-5));
  CHECK(out.selection.s.rowwise().sum().isOnes(gnnpool::numeric<TestType>::compare_tolerance()));
  // The normalised pooled adjacency has a zero diagonal.
  for (Index r = 0; r < 16; ++r) CHECK(out.batch.adj.coeff(r, r) == TestType(0));
}

TEST_CASE("MinCutPool backward matches finite differences for x, A and the MLP", "[pool][mincut][gradcheck]") {
  auto batch = gnnpool::test::soft_test_batch<double>(3, 211);
  for (const auto norm : {gnnpool::SoftConnectNormalization::symmetric, gnnpool::SoftConnectNormalization::none}) {
    ParameterSet<double> params;
    MinCutPoolOptions<double> options;
    options.temperature = 0.8;
    options.cut_weight = 0.7;
    options.ortho_weight = 1.3;
    options.normalization = norm;
    options.k = 3;
    options.hidden = {5};
    const MinCutPool<double> pool(params, "", 3, options);
    params.initialize(7);
    const auto r = gnnpool::testing::check_pool(pool, params, batch);
    INFO(r.log);
    CHECK(r.ok);
  }
}

TEST_CASE("MinCutPool float matches double", "[pool][mincut]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 221);
  const double gap = gnnpool::test::pool_float_gap(
      []<typename S>(ParameterSet<S>& params) { return MinCutPool<S>(params, "", 3, {.k = 4, .hidden = {5}}); }, batch, 9);
  CHECK(gap < gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("mincut_pool_function equals MinCutPool with the same logits", "[pool][mincut][functional]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 231);
  ParameterSet<double> params;
  gnnpool::Linear<double> lin(params, "assign", 3, 4);
  params.initialize(4);
  const MinCutPool<double, gnnpool::Linear<double>> pool(lin);
  MinCutPool<double, gnnpool::Linear<double>>::Output a;
  MinCutPool<double, gnnpool::Linear<double>>::Cache ca;
  pool.forward(params, batch, a, ca);
  Matrix<double> logits;
  gnnpool::Linear<double>::Cache lin_cache;
  lin.forward(params, batch.x, logits, lin_cache);
  const auto f = gnnpool::mincut_pool_function<double>();
  gnnpool::MinCutPoolFunction<double>::Output b;
  gnnpool::MinCutPoolFunction<double>::Cache cb;
  f.forward(batch, logits, b, cb);
  CHECK(gnnpool::test::max_relative_error(a.batch.x, b.batch.x) < 1e-14);
  CHECK(gnnpool::test::max_relative_error(Matrix<double>(a.batch.adj), Matrix<double>(b.batch.adj)) < 1e-14);
  CHECK(a.loss("mincut_loss") == Approx(b.loss("mincut_loss")).epsilon(1e-14));
  CHECK(a.loss("ortho_loss") == Approx(b.loss("ortho_loss")).epsilon(1e-14));
}

TEST_CASE("MinCutPool rejects inputs with the wrong feature count", "[pool][mincut][errors]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 1);
  ParameterSet<double> params;
  const MinCutPool<double> pool(params, "", 3, {.k = 2});
  MinCutPool<double>::Output out;
  MinCutPool<double>::Cache cache;
  gnnpool::test::require_throws_with<gnnpool::shape_error>([&] { pool.forward(params, batch, out, cache); },
                                                           {"MinCutPool", "x is 19 x 2", "expects 3 features"});
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] {
        MinCutPoolOptions<double> bad;
        bad.temperature = -1;
        bad.k = 2;
        (void)MinCutPool<double>(params, "other", 3, bad);
      },
      {"SoftAssignSelect", "temperature", "-1"});
}

}  // namespace gnnpool_test_pool_mincut_pool
