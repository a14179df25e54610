// Tests of gnnpool/pool/ndp_pool.hpp: gradient of the feature path (one and two levels),
// float vs double, determinism, sparsification timing of the multi-level pooler, and errors.

#include <gnnpool/pool/ndp_pool.hpp>
#include <gnnpool/pool/pyramid.hpp>
#include <gnnpool/testing/gradcheck.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "support/approx.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_ndp_pool {

using gnnpool::Batch;
using gnnpool::EdgeList;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::NDPMultiLevelPool;
using gnnpool::NDPPool;
using gnnpool::NDPPoolOptions;
using gnnpool::NDPSparsify;
using gnnpool::test::require_throws_with;

namespace {

template <typename Scalar>
Batch<Scalar> sample_batch() {
  gnnpool::testing::RandomGraphOptions weighted;
  weighted.weighted = true;
  std::vector<Batch<Scalar>> graphs{gnnpool::testing::random_graph<Scalar>(14, 30, 3, 1, weighted),
                                    gnnpool::testing::grid_graph<Scalar>(3, 4, 3, 2),
                                    gnnpool::testing::random_graph<Scalar>(1, 0, 3, 3),
                                    gnnpool::testing::random_graph<Scalar>(20, 25, 3, 4)};
  return gnnpool::concatenate<Scalar>(graphs);
}

}  // namespace

TEST_CASE("NDPPool: X' = X[kept], dL/dX scattered into the kept rows (gradient check)", "[pool][ndp]") {
  auto batch = sample_batch<double>();
  gnnpool::ParameterSet<double> params;
  NDPPool<double> pool(params, "", batch.num_features());
  NDPPool<double>::Output out;
  NDPPool<double>::Cache cache;
  pool.forward(params, batch, out, cache);
  REQUIRE(out.batch.num_graphs() == 4);
  for (Index s = 0; s < out.selection.num_supernodes(); ++s)
    CHECK(out.batch.x.row(s) == batch.x.row(out.selection.representative[static_cast<std::size_t>(s)]));

  gnnpool::testing::PoolCheckOptions check;
  check.adjacency = false;  // NDP treats the Kron weights as constants w.r.t. A
  const auto result = gnnpool::testing::check_pool(pool, params, batch, check);
  INFO(result.log);
  CHECK(result.ok);

  // The adjacency gradient is assigned, and zero.
  NDPPool<double>::OutputGrad g;
  g.x = Matrix<double>::Ones(out.batch.x.rows(), out.batch.x.cols());
  g.adj = gnnpool::Vector<double>::Ones(out.batch.adj.nonZeros());
  gnnpool::BatchGrad<double> din;
  din.adj = gnnpool::Vector<double>::Constant(batch.adj.nonZeros(), std::numeric_limits<double>::quiet_NaN());
  gnnpool::ParameterSet<double> dparams;
  pool.backward(params, batch, out, cache, g, din, dparams);
  CHECK(din.adj.size() == batch.adj.nonZeros());
  CHECK((din.adj.array() == 0.0).all());
  CHECK(din.x.sum() == Approx(static_cast<double>(out.batch.x.size())));
}

TEST_CASE("NDPMultiLevelPool: two levels compose, gradient check through both", "[pool][ndp]") {
  auto batch = sample_batch<double>();
  NDPMultiLevelPool<double> pool(2);
  NDPMultiLevelPool<double>::Output out;
  NDPMultiLevelPool<double>::Cache cache;
  pool.forward(batch, out, cache);
  REQUIRE(out.size() == 2);
  const IndexVector kept = pool.kept_nodes(out);
  REQUIRE(static_cast<Index>(kept.size()) == out[1].batch.num_nodes());
  for (std::size_t s = 0; s < kept.size(); ++s) CHECK(out[1].batch.x.row(static_cast<Index>(s)) == batch.x.row(kept[s]));

  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"x", batch.x.data(), batch.x.size()});
  problem.forward = [&](std::vector<double>& outputs, std::vector<Index>& discrete) {
    NDPMultiLevelPool<double>::Output o;
    NDPMultiLevelPool<double>::Cache c;
    pool.forward(batch, o, c);
    gnnpool::testing::append(o.back().batch.x, outputs);
    const IndexVector k = pool.kept_nodes(o);
    discrete.insert(discrete.end(), k.begin(), k.end());
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& upstream, std::vector<std::vector<double>>& grads) {
    NDPMultiLevelPool<double>::Output o;
    NDPMultiLevelPool<double>::Cache c;
    pool.forward(batch, o, c);
    Matrix<double> g(o.back().batch.x.rows(), o.back().batch.x.cols());
    for (Index i = 0; i < g.size(); ++i) g.data()[i] = upstream[static_cast<std::size_t>(i)];
    Matrix<double> dx;
    pool.backward(batch, o, c, g, dx);
    gnnpool::testing::copy_gradient(dx, grads[0]);
  };
  const auto result = gnnpool::testing::check_gradients(problem);
  INFO(result.log);
  CHECK(result.ok);
}

TEST_CASE("Sparsification every level (tgp) or once at the end (SRC)", "[pool][ndp]") {
  auto g = gnnpool::testing::random_graph<double>(120, 355, 2, 9);
  NDPMultiLevelPool<double> every(2), at_end(2, {}, NDPSparsify::at_end);
  CHECK(every.level(0).connect().options().threshold == 1e-2);
  CHECK(at_end.level(0).connect().options().threshold == 0.0);
  CHECK(at_end.level(1).connect().options().threshold == 1e-2);
  NDPMultiLevelPool<double>::Output oe, oa;
  NDPMultiLevelPool<double>::Cache ce, ca;
  every.forward(g, oe, ce);
  at_end.forward(g, oa, ca);
  // Same first split; the first level keeps its small weights only at_end.
  CHECK(oe[0].selection.representative == oa[0].selection.representative);
  CHECK(oa[0].batch.num_edges() >= oe[0].batch.num_edges());
  const auto& w1 = oe[0].batch.adj;
  CHECK(Eigen::Map<const gnnpool::Vector<double>>(w1.valuePtr(), w1.nonZeros()).minCoeff() > 1e-2);
  const auto& w2 = oa[1].batch.adj;
  if (w2.nonZeros() > 0) CHECK(Eigen::Map<const gnnpool::Vector<double>>(w2.valuePtr(), w2.nonZeros()).minCoeff() > 1e-2);
}

TEST_CASE("NDPPool float matches double; the same seed gives the same result", "[pool][ndp]") {
  auto bd = sample_batch<double>();
  auto bf = sample_batch<float>();
  NDPPoolOptions o;
  o.select.seed = 77;
  gnnpool::ParameterSet<double> nd;
  gnnpool::ParameterSet<float> nf;
  NDPPool<double> pd(nd, "", bd.num_features(), o);
  NDPPool<float> pf(nf, "", bf.num_features(), o);
  NDPPool<double>::Output od, od2;
  NDPPool<double>::Cache cd, cd2;
  NDPPool<float>::Output of;
  NDPPool<float>::Cache cf;
  pd.forward({}, bd, od, cd);
  pd.forward({}, bd, od2, cd2);
  pf.forward({}, bf, of, cf);
  CHECK(od.selection.representative == of.selection.representative);
  CHECK(od.batch.offsets == of.batch.offsets);
  CHECK(gnnpool::test::max_relative_error(of.batch.x, od.batch.x) < gnnpool::numeric<float>::compare_tolerance());
  REQUIRE(od.batch.adj.nonZeros() == of.batch.adj.nonZeros());
  CHECK(gnnpool::test::max_relative_error(Matrix<float>(of.batch.adj), Matrix<double>(od.batch.adj)) <
        gnnpool::numeric<float>::compare_tolerance());
  // Determinism: a second run is bit-identical, including any random split.
  CHECK(od2.selection.representative == od.selection.representative);
  CHECK(Matrix<double>(od2.batch.adj) == Matrix<double>(od.batch.adj));
  CHECK(cd2.select.partition == cd.select.partition);
}

TEST_CASE("NDPPool on a grid halves it and keeps a connected coarse grid", "[pool][ndp]") {
  auto grid = gnnpool::testing::grid_graph<double>(8, 8, 4, 5);
  NDPPool<double>::Output out;
  NDPPool<double>::Cache cache;
  gnnpool::ParameterSet<double> none;
  NDPPool<double>(none, "", 4).forward(none, grid, out, cache);
  CHECK(out.batch.num_nodes() == 32);
  CHECK(cache.select.graphs[0].method == gnnpool::NDPEigenMethod::bipartite);
  CHECK(cache.connect.stats.factor_nonzeros == 0);  // the eliminated colour class is independent
  for (Index i = 0; i < out.batch.num_nodes(); ++i) CHECK(out.batch.adj.outerIndexPtr()[i + 1] > out.batch.adj.outerIndexPtr()[i]);
}

TEST_CASE("NDPPool rejects bad input with sentences naming the problem", "[pool][ndp][errors]") {
  auto d = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 2), EdgeList{{0, 1}, {1, 2}}, {}, {false});
  gnnpool::ParameterSet<double> none;
  NDPPool<double> pool(none, "", 2);
  NDPPool<double>::Output out;
  NDPPool<double>::Cache cache;
  require_throws_with<gnnpool::invalid_argument>([&] { pool.forward({}, d, out, cache); }, {"NDPSelect", "symmetric"});
  std::vector<double> w{1.0, -1.0};
  gnnpool::EdgeListOptions negative;
  negative.allow_negative_weights = true;
  auto n = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 2), EdgeList{{0, 1}, {1, 2}}, std::span<const double>(w), negative);
  require_throws_with<gnnpool::invalid_argument>([&] { pool.forward({}, n, out, cache); }, {"NDPSelect", "negative weight -1"});

  auto g = gnnpool::make_graph<double>(Matrix<double>::Zero(5, 2), EdgeList{{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  pool.forward({}, g, out, cache);
  NDPPool<double>::OutputGrad grad;
  grad.x = Matrix<double>::Zero(2, 2);
  gnnpool::BatchGrad<double> din;
  gnnpool::ParameterSet<double> dparams;
  require_throws_with<gnnpool::shape_error>([&] { pool.backward({}, g, out, cache, grad, din, dparams); },
                                            {"NDPPool", "2 x 2", "3 x 2"});
  NDPMultiLevelPool<double> two(2);
  NDPMultiLevelPool<double>::Output o;
  NDPMultiLevelPool<double>::Cache c;
  Matrix<double> dx;
  require_throws_with<gnnpool::invalid_argument>([&] { two.backward(g, o, c, grad.x, dx); },
                                                 {"NDPMultiLevelPool", "2 levels"});
  require_throws_with<gnnpool::invalid_argument>([] { NDPMultiLevelPool<double>(0); }, {"levels must be >= 1"});
}

TEST_CASE("NDPSelect + KronConnect plug into a precomputed pyramid", "[pool][ndp]") {
  auto batch = sample_batch<double>();
  NDPPoolOptions o;
  o.select.cut_threshold = 0;  // no random split: the pyramid reuses one seed at every level
  auto pyramid = gnnpool::build_pyramid(
      batch, 2, gnnpool::make_coarsener(gnnpool::NDPSelect<double>(o.select), gnnpool::KronConnect<double>(o.connect)));
  NDPMultiLevelPool<double> pool(2, o);
  NDPMultiLevelPool<double>::Output out;
  NDPMultiLevelPool<double>::Cache cache;
  pool.forward(batch, out, cache);
  for (std::size_t l = 0; l < 2; ++l) {
    CHECK(pyramid.levels[l].selection.assignment == out[l].selection.assignment);
    CHECK(Matrix<double>(pyramid.levels[l].adj) == Matrix<double>(out[l].batch.adj));
  }
}

}  // namespace gnnpool_test_pool_ndp_pool
