// Tests of gnnpool/pool/dmon_pool.hpp: DMoNPool and dmon_pool_function: PyG's parameter names,
// SELU output, three losses, gradients, float vs double, options and errors.

#include <gnnpool/pool/dmon_pool.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_dmon_pool {

using gnnpool::DMoNPool;
using gnnpool::DMoNPoolOptions;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;

TEMPLATE_TEST_CASE("DMoNPool has PyG's parameters, SELU features and three losses", "[pool][dmon]", float, double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(3, 401);
  ParameterSet<TestType> params;
  const DMoNPool<TestType> pool(params, "", 3, {.k = 4});
  CHECK(params.find("mlp.lins.0.weight") >= 0);
  CHECK(params.find("mlp.lins.0.bias") >= 0);
  CHECK(params.size() == 2);
  CHECK(pool.name() == "DMoNPool");
  params.initialize(11);
  typename DMoNPool<TestType>::Output out;
  typename DMoNPool<TestType>::Cache cache;
  pool.forward(params, batch, out, cache);
  REQUIRE(out.losses.size() == 3);
  CHECK(out.losses[0].name == "spectral_loss");
  CHECK(out.losses[1].name == "ortho_loss");
  CHECK(out.losses[2].name == "cluster_loss");
  // SELU is bounded below by -scale * alpha.
  CHECK(out.batch.x.minCoeff() > TestType(-1.7581));
  CHECK(out.batch.offsets.back() == 16);
}

TEST_CASE("DMoNPool backward matches finite differences (PyG defaults, cluster mean, hidden layer)",
          "[pool][dmon][gradcheck]") {
  auto batch = gnnpool::test::soft_test_batch<double>(3, 411);
  {
    ParameterSet<double> params;
    const DMoNPool<double> pool(params, "", 3, {.k = 3});
    params.initialize(12);
    const auto r = gnnpool::testing::check_pool(pool, params, batch);
    INFO(r.log);
    CHECK(r.ok);
  }
  {
    DMoNPoolOptions<double> options;
    options.cluster_mean = true;
    options.cluster_weight = 0.1;
    options.normalization = gnnpool::SoftConnectNormalization::none;
    options.temperature = 1.5;
    options.k = 3;
    options.hidden = {4};
    ParameterSet<double> params;
    const DMoNPool<double> pool(params, "", 3, options);
    params.initialize(13);
    const auto r = gnnpool::testing::check_pool(pool, params, batch);
    INFO(r.log);
    CHECK(r.ok);
  }
}

TEST_CASE("DMoNPool float matches double", "[pool][dmon]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 421);
  const double gap = gnnpool::test::pool_float_gap(
      []<typename S>(ParameterSet<S>& params) { return DMoNPool<S>(params, "", 3, {.k = 4}); }, batch, 14);
  CHECK(gap < gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("dmon_pool_function equals DMoNPool on the MLP's logits, losses with weight 0 give no gradient",
          "[pool][dmon][functional]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 431);
  ParameterSet<double> params;
  DMoNPoolOptions<double> off;
  off.spectral_weight = off.ortho_weight = off.cluster_weight = 0;
  off.k = 2;
  const DMoNPool<double> pool(params, "", 3, off);
  params.initialize(15);
  DMoNPool<double>::Output a;
  DMoNPool<double>::Cache ca;
  pool.forward(params, batch, a, ca);
  Matrix<double> logits;
  gnnpool::MLP<double>::Cache mc;
  pool.select().scorer().forward(params, batch.x, logits, mc);
  const auto f = gnnpool::dmon_pool_function<double>(off);
  gnnpool::DMoNPoolFunction<double>::Output b;
  gnnpool::DMoNPoolFunction<double>::Cache cb;
  f.forward(batch, logits, b, cb);
  CHECK(gnnpool::test::max_relative_error(a.batch.x, b.batch.x) < 1e-14);
  CHECK(a.loss("spectral_loss") == Approx(b.loss("spectral_loss")).epsilon(1e-14));
  CHECK(a.loss("cluster_loss") == Approx(b.loss("cluster_loss")).epsilon(1e-14));
  CHECK(a.weighted_loss() == 0.0);
  // With zero weights and zero upstream, every gradient is zero.
  gnnpool::DMoNPoolFunction<double>::OutputGrad g;
  g.x.setZero(b.batch.x.rows(), b.batch.x.cols());
  gnnpool::BatchGrad<double> din;
  Matrix<double> dlogits;
  f.backward(batch, b, cb, g, din, dlogits);
  CHECK(dlogits.isZero(0));
  CHECK(din.x.isZero(0));
  CHECK(din.adj.isZero(0));
}

TEST_CASE("DMoNPool rejects a gradient of the wrong shape", "[pool][dmon][errors]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 1);
  ParameterSet<double> params;
  const DMoNPool<double> pool(params, "", 3, {.k = 2});
  params.initialize(1);
  DMoNPool<double>::Output out;
  DMoNPool<double>::Cache cache;
  pool.forward(params, batch, out, cache);
  DMoNPool<double>::OutputGrad g;
  g.x.setZero(3, 3);
  gnnpool::BatchGrad<double> din;
  ParameterSet<double> dparams = params.zeros_like();
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { pool.backward(params, batch, out, cache, g, din, dparams); }, {"DMoNPool", "3 x 3", "8 x 3"});
}

}  // namespace gnnpool_test_pool_dmon_pool
