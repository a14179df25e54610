// Tests of gnnpool/pool/diff_pool.hpp: DiffPool (GCN assignment, as in the paper) and
// diff_pool_function: layout, losses, gradients through the GCN and S^T A S, float vs double,
// link-loss options and errors.

#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/pool/diff_pool.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_diff_pool {

using gnnpool::DiffPool;
using gnnpool::DiffPoolOptions;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;

TEMPLATE_TEST_CASE("DiffPool pools with a GCN assignment, raw S^T A S and its two losses", "[pool][diffpool]", float,
                   double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(3, 301);
  ParameterSet<TestType> params;
  const DiffPool<TestType> pool(params, "pool", 3, {.k = 3});
  CHECK(params.find("pool.gnn.lin.weight") >= 0);
  CHECK(pool.name() == "pool (DiffPool)");  // the prefix names the layer in messages
  CHECK(pool.num_clusters() == 3);
  params.initialize(5);
  typename DiffPool<TestType>::Output out;
  typename DiffPool<TestType>::Cache cache;
  pool.forward(params, batch, out, cache);
  CHECK(out.batch.offsets == gnnpool::IndexVector{0, 3, 6, 9, 12});
  REQUIRE(out.losses.size() == 2);
  CHECK(out.losses[0].name == "link_loss");
  CHECK(out.losses[1].name == "ent_loss");
  CHECK(out.loss("link_loss") > TestType(0));
  CHECK(out.loss("ent_loss") > TestType(0));
  CHECK(out.loss("ent_loss") <= std::log(TestType(3)));
  // Raw S^T A S: the sum of graph b's block is the sum of its edge weights (rows of S sum to 1).
  const Matrix<double> pooled = Matrix<TestType>(out.batch.adj).template cast<double>();
  for (Index b = 0; b < batch.num_graphs(); ++b) {
    const Index lo = batch.graph_begin(b), n = batch.graph_size(b);
    const double total = Matrix<TestType>(batch.adj).block(lo, lo, n, n).template cast<double>().sum();
    CHECK(pooled.block(3 * b, 3 * b, 3, 3).sum() == Approx(total).epsilon(gnnpool::numeric<TestType>::compare_tolerance()));
  }
}

TEST_CASE("DiffPool backward matches finite differences (GCN and MLP assignment, every link normalisation)",
          "[pool][diffpool][gradcheck]") {
  auto batch = gnnpool::test::soft_test_batch<double>(3, 311);
  for (const auto norm : {gnnpool::LinkLossNormalization::pyg, gnnpool::LinkLossNormalization::per_graph,
                          gnnpool::LinkLossNormalization::none}) {
    DiffPoolOptions<double> options;
    options.link.normalization = norm;
    options.entropy.reduction = gnnpool::EntropyLossReduction::per_graph;
    options.link_weight = 2.0;
    options.k = 3;
    ParameterSet<double> params;
    const DiffPool<double> pool(params, "", 3, options);
    params.initialize(8);
    const auto r = gnnpool::testing::check_pool(pool, params, batch);
    INFO(r.log);
    CHECK(r.ok);
  }
  ParameterSet<double> params;
  DiffPoolOptions<double> options;
  options.normalization = gnnpool::SoftConnectNormalization::symmetric;  // tgp's post-processing
  const DiffPool<double, gnnpool::MLP<double>> pool(gnnpool::MLP<double>(params, "mlp", {3, 4, 2}), options);
  params.initialize(9);
  const auto r = gnnpool::testing::check_pool(pool, params, batch);
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("DiffPool float matches double", "[pool][diffpool]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 321);
  const double gap = gnnpool::test::pool_float_gap(
      []<typename S>(ParameterSet<S>& params) { return DiffPool<S>(params, "", 3, {.k = 4}); }, batch, 10);
  CHECK(gap < gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("diff_pool_function returns dL/dlogits that match finite differences", "[pool][diffpool][functional]") {
  auto batch = gnnpool::test::soft_test_batch<double>(2, 331);
  Matrix<double> logits = gnnpool::testing::random_features<double>(batch.num_nodes(), 3, 332);
  const auto f = gnnpool::diff_pool_function<double>();
  const auto r = gnnpool::test::check_function(f, batch, logits, false);
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("DiffPool rejects a malformed batch", "[pool][diffpool][errors]") {
  auto batch = gnnpool::test::soft_test_batch<double>(3, 1);
  batch.offsets.back() = 18;
  ParameterSet<double> params;
  const DiffPool<double> pool(params, "", 3, {.k = 2});
  DiffPool<double>::Output out;
  DiffPool<double>::Cache cache;
  gnnpool::test::require_throws_with<gnnpool::shape_error>([&] { pool.forward(params, batch, out, cache); },
                                                           {"DiffPool", "18", "19 nodes"});
}

}  // namespace gnnpool_test_pool_diff_pool
