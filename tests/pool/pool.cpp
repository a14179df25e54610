// Tests of gnnpool/pool/pool.hpp: the Select-Reduce-Connect composition, driven by the small
// custom policies of test_policies.hpp (hard and soft), gradient-checked end to end.

#include <gnnpool/pool/pool.hpp>
#include <gnnpool/testing/gradcheck.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "pool/test_policies.hpp"
#include "support/approx.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_pool {

using gnnpool::Batch;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::test::require_throws_with;
namespace testing = gnnpool::testing;

template <typename Scalar>
using HardPool = gnnpool::Pool<example::EveryOtherSelect<Scalar>, example::ScaledGatherReduce<Scalar>,
                               example::KeptEdgesConnect<Scalar>, example::EdgeAgreementLoss<Scalar>>;
template <typename Scalar>
using SoftPool = gnnpool::Pool<example::SoftmaxSelect<Scalar>, example::SoftSumReduce<Scalar>,
                               example::SoftQuadraticConnect<Scalar>>;

static_assert(gnnpool::SelectPolicy<example::EveryOtherSelect<double>>);
static_assert(gnnpool::ReducePolicy<example::ScaledGatherReduce<double>, gnnpool::HardSelection<double>>);
static_assert(gnnpool::ConnectPolicy<example::KeptEdgesConnect<double>, gnnpool::HardSelection<double>>);
static_assert(gnnpool::LossPolicy<example::EdgeAgreementLoss<double>, gnnpool::HardSelection<double>>);
static_assert(gnnpool::SelectPolicy<example::SoftmaxSelect<float>>);
static_assert(std::is_same_v<HardPool<float>::Scalar, float>);
static_assert(std::is_same_v<HardPool<double>::Selection, gnnpool::HardSelection<double>>);
static_assert(std::is_same_v<SoftPool<double>::Selection, gnnpool::SoftSelection<double>>);

namespace {

const std::vector<Index> kSizes{5, 0, 8, 1, 11};  // an empty graph and a single node included

template <typename Scalar>
Batch<Scalar> test_batch(std::uint64_t seed = 3) {
  testing::RandomGraphOptions weighted;
  weighted.weighted = true;
  return testing::random_batch<Scalar>(kSizes, 3.0, 4, seed, weighted);
}

template <typename Scalar>
HardPool<Scalar> make_hard_pool(ParameterSet<Scalar>& params, Scalar loss_weight) {
  return HardPool<Scalar>("EveryOtherPool", example::EveryOtherSelect<Scalar>(params, "pool.select", 4),
                          example::ScaledGatherReduce<Scalar>{}, example::KeptEdgesConnect<Scalar>{},
                          example::EdgeAgreementLoss<Scalar>(loss_weight));
}

template <typename Scalar>
SoftPool<Scalar> make_soft_pool(ParameterSet<Scalar>& params, Index clusters) {
  return SoftPool<Scalar>("SoftPool", example::SoftmaxSelect<Scalar>(params, "pool.select", 4, clusters),
                          example::SoftSumReduce<Scalar>{}, example::SoftQuadraticConnect<Scalar>{});
}

}  // namespace

TEMPLATE_TEST_CASE("Pool runs select, reduce, connect and the losses in order", "[pool][pool]", float, double) {
  using T = TestType;
  ParameterSet<T> params;
  const auto pool = make_hard_pool<T>(params, T(0.5));
  params.initialize(1);
  CHECK(pool.name() == "EveryOtherPool");
  CHECK(params.find("pool.select.weight") == 0);

  const auto in = test_batch<T>();
  typename HardPool<T>::Output out;
  typename HardPool<T>::Cache cache;
  pool.forward(params, in, out, cache);

  // ceil(n_b / 2) supernodes per graph, graph-major.
  CHECK(out.batch.offsets == gnnpool::IndexVector{0, 3, 3, 7, 8, 14});
  CHECK(out.selection.offsets == out.batch.offsets);
  REQUIRE(out.batch.x.rows() == 14);
  REQUIRE(out.batch.x.cols() == 4);
  CHECK(out.selection.representative[3] == 5);  // first node of the third graph (5 + 0 + 0)
  CHECK_NOTHROW(gnnpool::check_batch(out.batch, "test"));  // the output chains into the next layer

  const Matrix<T> dense_in(in.adj), dense_out(out.batch.adj);
  for (Index s = 0; s < 14; ++s) {
    const Index r = out.selection.representative[static_cast<std::size_t>(s)];
    const T w = std::tanh(in.x.row(r).dot(params[0].row(0)));
    CHECK(out.selection.weight[r] == Approx(w).epsilon(1e-6));
    CHECK(gnnpool::test::max_relative_error(out.batch.x.row(s), (w * in.x.row(r)).eval()) < 1e-6);
    for (Index t = 0; t < 14; ++t)
      CHECK(dense_out(s, t) == dense_in(r, out.selection.representative[static_cast<std::size_t>(t)]));
  }

  REQUIRE(out.losses.size() == 1);
  CHECK(out.losses[0].name == "edge_agreement");
  CHECK(out.losses[0].weight == T(0.5));
  T expected(0);
  for (Index i = 0; i < in.adj.outerSize(); ++i)
    for (typename gnnpool::SparseMatrix<T>::InnerIterator it(in.adj, i); it; ++it)
      expected += it.value() * out.selection.weight[i] * out.selection.weight[it.col()];
  CHECK(out.loss("edge_agreement") == Approx(expected).epsilon(1e-5));
  CHECK(out.weighted_loss() == Approx(T(0.5) * expected).epsilon(1e-5));
  require_throws_with<gnnpool::invalid_argument>([&] { (void)out.loss("mincut_loss"); },
                                                 {"no auxiliary loss named 'mincut_loss'"});

  // A second forward into the same output replaces it (no stale losses or rows).
  pool.forward(params, in, out, cache);
  CHECK(out.losses.size() == 1);
  CHECK(out.batch.x.rows() == 14);
}

TEST_CASE("Pool with hard policies passes the gradient check end to end", "[pool][pool][gradcheck]") {
  for (double loss_weight : {0.7, 0.0}) {
    ParameterSet<double> params;
    const auto pool = make_hard_pool<double>(params, loss_weight);
    params.initialize(2);
    auto in = test_batch<double>(5);
    const auto r = testing::check_pool(pool, params, in);
    INFO("loss weight " << loss_weight << "\n" << r.log);
    CHECK(r.ok);
    CHECK(r.entries_checked == in.x.size() + in.adj.nonZeros() + 4);
  }
}

TEST_CASE("Pool with soft policies passes the gradient check and numbers K supernodes per graph", "[pool][pool][gradcheck]") {
  ParameterSet<double> params;
  const auto pool = make_soft_pool<double>(params, 3);
  params.initialize(4);
  auto in = test_batch<double>(6);
  // Asymmetric weights (same pattern), so that A and A^T differ in the connect backward.
  for (Index e = 0; e < in.adj.nonZeros(); ++e) in.adj.valuePtr()[e] *= 1.0 + 0.1 * static_cast<double>(e % 7);

  SoftPool<double>::Output out;
  SoftPool<double>::Cache cache;
  pool.forward(params, in, out, cache);
  CHECK(out.batch.offsets == gnnpool::IndexVector{0, 3, 6, 9, 12, 15});
  CHECK(out.batch.x.rows() == 15);
  CHECK(out.batch.adj.nonZeros() == 5 * 9);
  CHECK(out.losses.empty());
  CHECK(out.weighted_loss() == 0.0);
  CHECK_NOTHROW(gnnpool::check_batch(out.batch, "test"));
  // The empty graph pools to zero rows, never NaN.
  CHECK(out.batch.x.middleRows(3, 3).isZero(0));
  CHECK(out.batch.x.allFinite());
  // Graph 2 (nodes 5..12): X' = S^T X.
  const Matrix<double> expected = out.selection.s.middleRows(5, 8).transpose() * in.x.middleRows(5, 8);
  CHECK(gnnpool::test::max_relative_error(out.batch.x.middleRows(6, 3), expected) < 1e-14);

  const auto r = testing::check_pool(pool, params, in);
  INFO(r.log);
  CHECK(r.ok);
  CHECK(r.entries_checked == in.x.size() + in.adj.nonZeros() + 12);
}

TEST_CASE("Pool::backward assigns its outputs and accepts empty adj / selection gradients", "[pool][pool]") {
  ParameterSet<double> params;
  const auto pool = make_hard_pool<double>(params, 0.0);
  params.initialize(3);
  const auto in = test_batch<double>();
  HardPool<double>::Output out;
  HardPool<double>::Cache cache;
  pool.forward(params, in, out, cache);

  HardPool<double>::OutputGrad g;
  g.x = Matrix<double>::Ones(out.batch.x.rows(), out.batch.x.cols());  // adj and selection empty: zero
  gnnpool::BatchGrad<double> din;
  din.x = Matrix<double>::Constant(3, 3, 42.0);  // wrong shape and stale values: overwritten
  din.adj = gnnpool::Vector<double>::Constant(2, 42.0);
  ParameterSet<double> dparams = params.zeros_like();
  dparams[0].setConstant(42.0);
  pool.backward(params, in, out, cache, g, din, dparams);
  CHECK(din.x.rows() == in.x.rows());
  CHECK(din.adj.size() == in.adj.nonZeros());
  CHECK(din.adj.isZero(0));  // no adjacency gradient flows without G_A' or a weighted loss
  const Matrix<double> dx_first = din.x;
  const Matrix<double> dp_first = dparams[0];
  pool.backward(params, in, out, cache, g, din, dparams);
  CHECK(din.x == dx_first);
  CHECK(dparams[0] == dp_first);
  // Dropped nodes get no gradient through the reduce, only through their (unused) weight: 0.
  CHECK(din.x.row(1).isZero(0));
}

TEST_CASE("Pool checks its input batch and the upstream gradient shapes", "[pool][pool][errors]") {
  ParameterSet<double> params;
  const auto pool = make_hard_pool<double>(params, 1.0);
  params.initialize(3);
  auto in = test_batch<double>();
  HardPool<double>::Output out;
  HardPool<double>::Cache cache;

  auto bad = in;
  bad.offsets = {0, 3};
  require_throws_with<gnnpool::shape_error>([&] { pool.forward(params, bad, out, cache); },
                                            {"EveryOtherPool", "offsets end at 3", "25 nodes"});
  auto narrow = in;
  narrow.x = Matrix<double>::Zero(25, 3);
  require_throws_with<gnnpool::shape_error>([&] { pool.forward(params, narrow, out, cache); },
                                            {"EveryOtherSelect", "25 x 3", "4 features"});

  pool.forward(params, in, out, cache);
  gnnpool::BatchGrad<double> din;
  ParameterSet<double> dparams = params.zeros_like();
  HardPool<double>::OutputGrad g;
  g.x = Matrix<double>::Zero(13, 4);
  require_throws_with<gnnpool::shape_error>([&] { pool.backward(params, in, out, cache, g, din, dparams); },
                                            {"EveryOtherPool", "gradient of x is 13 x 4", "pooled x is 14 x 4"});
  g.x = Matrix<double>::Zero(14, 4);
  g.adj = gnnpool::Vector<double>::Zero(out.batch.adj.nonZeros() + 1);
  require_throws_with<gnnpool::shape_error>([&] { pool.backward(params, in, out, cache, g, din, dparams); },
                                            {"gradient of adj has", "pooled adjacency stores"});
  g.adj.resize(0);
  g.selection = gnnpool::Vector<double>::Zero(24);
  require_throws_with<gnnpool::shape_error>([&] { pool.backward(params, in, out, cache, g, din, dparams); },
                                            {"gradient of the selection is 24 x 1", "expected 25 x 1"});
}

TEST_CASE("Pool in float matches Pool in double", "[pool][pool]") {
  ParameterSet<double> pd;
  const auto hard_d = make_hard_pool<double>(pd, 0.5);
  pd.initialize(8);
  ParameterSet<float> pf;
  const auto hard_f = make_hard_pool<float>(pf, 0.5f);
  pf = pd.cast<float>();
  const auto in_d = test_batch<double>();
  const auto in_f = test_batch<float>();
  HardPool<double>::Output od;
  HardPool<double>::Cache cd;
  HardPool<float>::Output of;
  HardPool<float>::Cache cf;
  hard_d.forward(pd, in_d, od, cd);
  hard_f.forward(pf, in_f, of, cf);
  const double tol = gnnpool::numeric<float>::compare_tolerance();
  CHECK(gnnpool::test::max_relative_error(of.batch.x, od.batch.x) < tol);
  CHECK(std::abs(static_cast<double>(of.weighted_loss()) - od.weighted_loss()) < tol * std::max(1.0, std::abs(od.weighted_loss())));

  HardPool<double>::OutputGrad gd;
  gd.x = testing::random_features<double>(od.batch.x.rows(), 4, 1);
  HardPool<float>::OutputGrad gf;
  gf.x = gd.x.cast<float>();
  gnnpool::BatchGrad<double> dind;
  gnnpool::BatchGrad<float> dinf;
  auto dpd = pd.zeros_like();
  auto dpf = pf.zeros_like();
  hard_d.backward(pd, in_d, od, cd, gd, dind, dpd);
  hard_f.backward(pf, in_f, of, cf, gf, dinf, dpf);
  CHECK(gnnpool::test::max_relative_error(dinf.x, dind.x) < tol);
  CHECK(gnnpool::test::max_relative_error(dinf.adj, dind.adj) < tol);
  CHECK(gnnpool::test::max_relative_error(dpf[0], dpd[0]) < tol);
}

}  // namespace gnnpool_test_pool_pool
