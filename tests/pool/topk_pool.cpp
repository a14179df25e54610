// Tests of gnnpool/pool/topk_pool.hpp: TopKPool and TopKAugmentedPool end to end (gradient
// check in every mode, float against double, empty graphs), a Graph U-Net level built from
// TopKPool and HardLift, and the errors of bad input.

#include <gnnpool/pool/hard_lift.hpp>
#include <gnnpool/pool/topk_pool.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "select/score_test_support.hpp"
#include "support/approx.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_topk_pool {

using gnnpool::Batch;
using gnnpool::HardLift;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::TopKOptions;
using gnnpool::TopKPool;
using gnnpool::Vector;
using gnnpool::test::require_throws_with;

namespace {

std::vector<TopKOptions> all_modes() {
  std::vector<TopKOptions> modes(4);
  modes[1].nonlinearity = gnnpool::Activation::sigmoid;
  modes[1].multiplier = 2.0;
  modes[1].ratio = 0.7;
  modes[2].min_score = 0.15;
  modes[3].k = 3;
  modes[3].order = gnnpool::NodeOrder::node_index;
  return modes;
}

}  // namespace

TEST_CASE("TopKPool forward: pooled x, adjacency and offsets of a batch with an empty graph", "[pool][topk_pool]") {
  const auto in = gnnpool::test::random_cluster_batch<double>({10, 0, 7}, 4.0, 3, 2, true);
  ParameterSet<double> params;
  TopKOptions o;
  o.multiplier = 3.0;
  const auto pool = gnnpool::TopKPool(params, "pool", 3, o);
  CHECK(params.size() == 1);
  CHECK(params.find("pool.select.weight") == 0);
  params.initialize(1);
  TopKPool<double>::Output out;
  TopKPool<double>::Cache cache;
  pool.forward(params, in, out, cache);
  CHECK(out.batch.offsets == IndexVector{0, 5, 5, 9});
  CHECK(out.selection.offsets == out.batch.offsets);
  CHECK_NOTHROW(gnnpool::check_batch(out.batch, "test"));
  CHECK(out.losses.empty());
  const auto& perm = out.selection.representative;
  for (std::size_t r = 0; r < perm.size(); ++r) {
    const auto row = static_cast<Index>(r);
    CHECK(gnnpool::test::max_relative_error(out.batch.x.row(row), 3.0 * out.selection.weight[perm[r]] * in.x.row(perm[r])) < 1e-15);
    for (std::size_t c = 0; c < perm.size(); ++c)
      CHECK(out.batch.adj.coeff(row, static_cast<Index>(c)) == in.adj.coeff(perm[r], perm[c]));
  }
}

TEST_CASE("TopKPool passes the gradient check (x, edge weights, p) in every mode", "[pool][topk_pool][gradcheck]") {
  for (const auto& o : all_modes()) {
    auto in = gnnpool::test::random_cluster_batch<double>({9, 0, 6, 12}, 3.0, 3, 4, true);
    ParameterSet<double> params;
    const auto pool = gnnpool::TopKPool(params, "", 3, o);
    params.initialize(6);
    const auto r = gnnpool::testing::check_pool(pool, params, in);
    INFO(r.log);
    CHECK(r.ok);
    CHECK(r.entries_checked == in.x.size() + in.adj.nonZeros() + 3);
  }
}

TEST_CASE("TopKAugmentedPool passes the gradient check", "[pool][topk_pool][gradcheck]") {
  auto in = gnnpool::test::random_cluster_batch<double>({10, 8}, 2.5, 2, 3, true);
  ParameterSet<double> params;
  const auto pool = gnnpool::TopKAugmentedPool(params, "", 2, TopKOptions{});
  params.initialize(2);
  const auto r = gnnpool::testing::check_pool(pool, params, in);
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("TopKPool in float matches double, forward and backward", "[pool][topk_pool]") {
  const auto in = gnnpool::test::random_cluster_batch<double>({50, 30}, 5.0, 6, 8, true);
  for (const auto& o : all_modes())
    gnnpool::test::check_pool_float_double([&](auto& params) { return gnnpool::TopKPool(params, "", 6, o); }, in, 3);
  gnnpool::test::check_pool_float_double(
      [](auto& params) { return gnnpool::TopKAugmentedPool(params, "", 6, TopKOptions{}); }, in, 3);
}

TEST_CASE("A Graph U-Net level: TopKPool down, HardLift up, skip connection", "[pool][topk_pool][hard_lift][gradcheck]") {
  // h = x + lift(pool(x).x): the lifted rows are the gated features at kept nodes, 0 elsewhere,
  // and the whole level is differentiable end to end.
  auto in = gnnpool::test::random_cluster_batch<double>({8, 6}, 3.0, 2, 5, false);
  ParameterSet<double> params;
  const auto pool = gnnpool::TopKPool(params, "down", 2, TopKOptions{});
  params.initialize(4);
  const HardLift<double> lift;
  TopKPool<double>::Output out;
  TopKPool<double>::Cache cache;
  pool.forward(params, in, out, cache);
  Matrix<double> up;
  lift.forward(out.selection, out.batch.x, up);
  for (Index i = 0; i < in.num_nodes(); ++i) {
    const Index a = out.selection.assignment[static_cast<std::size_t>(i)];
    if (a < 0) CHECK(up.row(i).isZero(0));
    else CHECK(gnnpool::test::max_relative_error(up.row(i), out.selection.weight[i] * in.x.row(i)) < 1e-15);
  }

  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"x", in.x.data(), in.x.size()});
  gnnpool::testing::add_parameters(problem, params);
  problem.forward = [&](std::vector<double>& outputs, std::vector<Index>& discrete) {
    TopKPool<double>::Output o;
    TopKPool<double>::Cache c;
    pool.forward(params, in, o, c);
    Matrix<double> u;
    lift.forward(o.selection, o.batch.x, u);
    gnnpool::testing::append(Matrix<double>(in.x + u), outputs);
    discrete = o.selection.assignment;
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& upstream, std::vector<std::vector<double>>& grads) {
    TopKPool<double>::Output o;
    TopKPool<double>::Cache c;
    pool.forward(params, in, o, c);
    const Matrix<double> dh = Eigen::Map<const Matrix<double>>(upstream.data(), in.x.rows(), in.x.cols());
    TopKPool<double>::OutputGrad g;
    lift.backward(o.selection, o.batch.x, dh, g.x, g.selection);
    g.selection.resize(0);
    gnnpool::BatchGrad<double> din;
    auto dparams = params.zeros_like();
    pool.backward(params, in, o, c, g, din, dparams);
    gnnpool::testing::copy_gradient(Matrix<double>(din.x + dh), grads[0]);
    gnnpool::testing::copy_gradient(dparams[0], grads[1]);
  };
  problem.resample = [&](std::uint64_t seed) { in.x = gnnpool::testing::random_features<double>(in.x.rows(), 2, seed); };
  const auto r = gnnpool::testing::check_gradients(problem);
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("TopKPool handles a batch of empty graphs and rejects a wrong feature width", "[pool][topk_pool][errors]") {
  ParameterSet<double> params;
  const auto pool = gnnpool::TopKPool(params, "", 3, TopKOptions{});
  params.initialize(1);
  Batch<double> empty;
  empty.x.resize(0, 3);
  empty.adj.resize(0, 0);
  empty.offsets = {0, 0, 0};
  TopKPool<double>::Output out;
  TopKPool<double>::Cache cache;
  pool.forward(params, empty, out, cache);
  CHECK(out.batch.offsets == IndexVector{0, 0, 0});
  CHECK(out.batch.x.rows() == 0);
  TopKPool<double>::OutputGrad g;
  g.x.resize(0, 3);
  gnnpool::BatchGrad<double> din;
  auto dparams = params.zeros_like();
  pool.backward(params, empty, out, cache, g, din, dparams);
  CHECK(dparams[0].isZero(0));

  const auto in = gnnpool::test::random_cluster_batch<double>({6}, 2.0, 4, 1, false);
  require_throws_with<gnnpool::shape_error>([&] { pool.forward(params, in, out, cache); },
                                            {"TopKPool", "x is 6 x 4", "expects 3 features"});
  TopKOptions bad;
  bad.ratio = -1.0;
  require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::TopKPool(params, "p", 3, bad); },
                                                 {"TopKSelect", "ratio", "-1"});
}

}  // namespace gnnpool_test_pool_topk_pool
