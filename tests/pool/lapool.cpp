// Tests of gnnpool/pool/lapool.hpp and gnnpool/select/lapool.hpp: LaPool's leaders (local maxima
// of the Laplacian-smoothed signal), its cosine-softmax assignment and one-hot leader rows, the
// padded cluster dimension, gradients (x, A), a model around it, float vs double, errors.

#include <gnnpool/core/parallel.hpp>
#include <gnnpool/pool/lapool.hpp>
#include <gnnpool/select/lapool.hpp>

#include "support/model_check.hpp"
#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_lapool {

using gnnpool::Index;
using gnnpool::LaPool;
using gnnpool::Matrix;
using gnnpool::ParameterSet;

static_assert(gnnpool::PoolLayer<LaPool<double>>);

TEST_CASE("LaPoolSelect: leaders are the local maxima of |D x - A x|, the others softmax their cosines to them",
          "[pool][lapool]") {
  // A path 0 - 1 - 2 - 3 with a pendant 4 on 3; features chosen so that the signal peaks at 1 and 3.
  Matrix<double> x(5, 2);
  x << 1, 0, -2, 1, 0.5, 0.5, 3, -1, 0.2, 0.1;
  auto batch = gnnpool::make_graph<double>(x, gnnpool::EdgeList{{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  // Reference: v and leaders by hand.
  const Matrix<double> a(batch.adj);
  const Matrix<double> lx = a.rowwise().sum().asDiagonal() * x - a * x;
  std::vector<Index> leaders;
  for (Index i = 0; i < 5; ++i) {
    bool leader = true;
    for (Index j = 0; j < 5; ++j)
      if (a(i, j) != 0 && lx.row(j).norm() > lx.row(i).norm()) leader = false;
    if (leader) leaders.push_back(i);
  }
  const gnnpool::LaPoolSelect<double> select;
  gnnpool::SoftSelection<double> sel;
  gnnpool::LaPoolSelect<double>::Cache cache;
  const ParameterSet<double> none;
  select.forward(none, batch, sel, cache);
  REQUIRE(std::vector<Index>(cache.leaders.begin(), cache.leaders.end()) == leaders);
  REQUIRE(sel.s.cols() == static_cast<Index>(leaders.size()));
  for (Index i = 0; i < 5; ++i) {
    const auto it = std::find(leaders.begin(), leaders.end(), i);
    if (it != leaders.end()) {
      CHECK(sel.s(i, it - leaders.begin()) == 1.0);
      CHECK(sel.s.row(i).sum() == 1.0);
      continue;
    }
    Eigen::VectorXd c(static_cast<Index>(leaders.size()));
    for (std::size_t l = 0; l < leaders.size(); ++l)
      c[static_cast<Index>(l)] = x.row(i).dot(x.row(leaders[l])) / (x.row(i).norm() * x.row(leaders[l]).norm() + 1e-8);
    const Eigen::VectorXd e = (c.array() - c.maxCoeff()).exp();
    CHECK(gnnpool::test::max_relative_error(Matrix<double>(sel.s.row(i)), Matrix<double>((e / e.sum()).transpose())) < 1e-14);
  }
}

TEST_CASE("LaPool pads the cluster dimension to the largest number of leaders of the batch", "[pool][lapool]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 701);
  ParameterSet<double> params;
  const LaPool<double> pool(params, "lap", 3);
  CHECK(pool.name() == "lap (LaPool)");
  CHECK(params.size() == 0);
  LaPool<double>::Output out;
  LaPool<double>::Cache cache;
  pool.forward(params, batch, out, cache);
  const Index k = out.selection.s.cols();
  const auto& leaders = cache.select;
  Index most = 0;
  for (Index b = 0; b < batch.num_graphs(); ++b) {
    const Index l = leaders.leader_offsets[static_cast<std::size_t>(b) + 1] - leaders.leader_offsets[static_cast<std::size_t>(b)];
    most = std::max(most, l);
    // Columns past the graph's own leaders are 0: empty supernodes.
    CHECK(out.selection.s.block(batch.graph_begin(b), l, batch.graph_size(b), k - l).isZero(0));
    CHECK(out.batch.x.middleRows(b * k + l, k - l).isZero(0));
  }
  CHECK(k == most);
  CHECK(out.losses.empty());
  CHECK(out.selection.s.rowwise().sum().isOnes(1e-12));
  gnnpool::check_batch(out.batch, "test");
}

TEST_CASE("LaPool backward matches finite differences for x and A", "[pool][lapool][gradcheck]") {
  // The leaders depend on A's values through v, and LaPool is discontinuous where two neighbours
  // tie (v_i = v_j). An isolated edge always ties (v_i = v_j = w |x_i - x_j|), so these graphs
  // have none: a weighted wheel and a weighted path with a triangle. The leaders are reported as
  // discrete decisions, so a flip elsewhere makes the checker resample instead of failing.
  const std::vector<double> w1{0.7, 1.2, 0.9, 1.4, 0.6, 1.1, 0.8, 1.3, 1.0, 0.55};
  const std::vector<double> w2{1.25, 0.75, 0.95, 1.35, 0.65};
  std::vector<gnnpool::Batch<double>> graphs{
      gnnpool::make_graph<double>(gnnpool::testing::random_features<double>(6, 3, 711),
                                  gnnpool::EdgeList{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 0}, {5, 0}, {5, 1}, {5, 2}, {5, 3}, {5, 4}},
                                  w1),
      gnnpool::make_graph<double>(gnnpool::testing::random_features<double>(5, 3, 712),
                                  gnnpool::EdgeList{{0, 1}, {1, 2}, {2, 3}, {3, 1}, {3, 4}}, w2)};
  auto batch = gnnpool::concatenate<double>(graphs);
  ParameterSet<double> params;
  for (const auto norm : {gnnpool::SoftConnectNormalization::clamped_column_degree,
                          gnnpool::SoftConnectNormalization::symmetric}) {
    const LaPool<double> pool(params, "", 3, {.normalization = norm});
    const auto r = gnnpool::testing::check_pool(pool, params, batch);
    INFO(r.log);
    CHECK(r.ok);
  }
}

TEST_CASE("LaPool float matches double", "[pool][lapool]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 721);
  CHECK(gnnpool::test::pool_float_gap([]<typename S>(ParameterSet<S>& params) { return LaPool<S>(params, "", 3); },
                                      batch, 1) < gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("A model with LaPool passes the whole-model gradient check", "[pool][lapool][model]") {
  const auto r = gnnpool::test::check_conv_after_pool(
      [](ParameterSet<double>& params, Index width) { return LaPool<double>(params, "pool", width); },
      /*with_inputs=*/true);
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("LaPool rejects x of the wrong width; a batch without nodes pools to one empty supernode per graph",
          "[pool][lapool][errors]") {
  ParameterSet<double> params;
  const LaPool<double> pool(params, "lap", 3);
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 1);
  LaPool<double>::Output out;
  LaPool<double>::Cache cache;
  gnnpool::test::require_throws_with<gnnpool::shape_error>([&] { pool.forward(params, batch, out, cache); },
                                                           {"lap (LaPool)", "x is 19 x 2", "expects 3 features"});
  // No node, no leader: K = 1 (as an empty graph keeps its K supernodes in the other soft poolers).
  const auto empty = gnnpool::concatenate<double>(
      std::vector<gnnpool::Batch<double>>(2, gnnpool::make_graph<double>(Matrix<double>(0, 3), gnnpool::EdgeList{})));
  pool.forward(params, empty, out, cache);
  CHECK(out.selection.s.rows() == 0);
  CHECK(out.selection.s.cols() == 1);
  CHECK(out.batch.x == Matrix<double>::Zero(2, 3));
  CHECK(out.batch.offsets == gnnpool::IndexVector{0, 1, 2});
  LaPool<double>::OutputGrad grad;
  grad.x = Matrix<double>::Ones(2, 3);
  grad.adj = gnnpool::Vector<double>::Ones(out.batch.adj.nonZeros());
  gnnpool::BatchGrad<double> din;
  ParameterSet<double> dparams;
  pool.backward(params, empty, out, cache, grad, din, dparams);
  CHECK(din.x.rows() == 0);
}

}  // namespace gnnpool_test_pool_lapool

namespace gnnpool_test_pool_lapool {

TEST_CASE("LaPoolSelect's chunked GEMM backward equals the entry-by-entry formula on a graph of several chunks; a "
          "cache of another batch is rejected",
          "[pool][lapool]") {
  // 700 nodes: three row chunks of 256 in both passes.
  const gnnpool::Batch<double> g = gnnpool::testing::random_graph<double>(700, 2800, 5, 741, {.weighted = true});
  const gnnpool::BatchRef<double> in(g);
  const gnnpool::LaPoolSelect<double> select;
  ParameterSet<double> params, dparams;
  gnnpool::SoftSelection<double> sel;
  gnnpool::LaPoolSelect<double>::Cache cache;
  select.forward(params, in, sel, cache);
  const Index leaders = static_cast<Index>(cache.leaders.size());
  REQUIRE(leaders >= 2);
  REQUIRE(sel.s.cols() == leaders);
  // Forward: the softmax of the cosines, entry by entry.
  const double eps = gnnpool::tgp_constants::eps;
  for (Index i = 0; i < 700; i += 37) {
    if (cache.is_leader[static_cast<std::size_t>(i)]) continue;
    Eigen::VectorXd c(leaders);
    for (Index q = 0; q < leaders; ++q) {
      const Index l = cache.leaders[static_cast<std::size_t>(q)];
      c[q] = g.x.row(i).dot(g.x.row(l)) / (g.x.row(i).norm() * g.x.row(l).norm() + eps);
    }
    const Eigen::VectorXd e = (c.array() - c.maxCoeff()).exp();
    CHECK((sel.s.row(i).transpose() - e / e.sum()).cwiseAbs().maxCoeff() < 1e-14);
  }
  // Backward against the per-entry formula of the class comment.
  const Matrix<double> ds = gnnpool::testing::random_features<double>(700, leaders, 742);
  gnnpool::BatchGrad<double> din;
  din.x.setZero(700, 5);
  select.backward(params, in, sel, cache, ds, din, dparams);
  Matrix<double> expected = Matrix<double>::Zero(700, 5);
  for (Index i = 0; i < 700; ++i) {
    if (cache.is_leader[static_cast<std::size_t>(i)]) continue;
    const double dot = sel.s.row(i).dot(ds.row(i));
    const double ni = g.x.row(i).norm();
    for (Index q = 0; q < leaders; ++q) {
      const Index l = cache.leaders[static_cast<std::size_t>(q)];
      const double dc = sel.s(i, q) * (ds(i, q) - dot), nl = g.x.row(l).norm(), d = ni * nl + eps;
      const double num = g.x.row(i).dot(g.x.row(l));
      expected.row(i) += dc * (g.x.row(l) / d - num * nl / (ni * d * d) * g.x.row(i));
      expected.row(l) += dc * (g.x.row(i) / d - num * ni / (nl * d * d) * g.x.row(l));
    }
  }
  CHECK((din.x - expected).cwiseAbs().maxCoeff() < 1e-12 * (1 + expected.cwiseAbs().maxCoeff()));
  // The chunks and the order of their partials are fixed: the same values at 1, 2 and 3 threads.
  const int saved = gnnpool::num_threads();
  for (const int threads : {1, 2, 3}) {
    gnnpool::set_num_threads(threads);
    gnnpool::SoftSelection<double> sel_t;
    gnnpool::LaPoolSelect<double>::Cache cache_t;
    select.forward(params, in, sel_t, cache_t);
    gnnpool::BatchGrad<double> din_t;
    din_t.x.setZero(700, 5);
    select.backward(params, in, sel_t, cache_t, ds, din_t, dparams);
    CHECK(sel_t.s == sel.s);
    CHECK(din_t.x == din.x);
  }
  gnnpool::set_num_threads(saved);
  // A cache whose leader lies outside its graph (or of another batch) is refused, not followed.
  auto tampered = cache;
  tampered.leaders.back() = 700;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { select.backward(params, in, sel, tampered, ds, din, dparams); },
      {"LaPoolSelect backward", "does not belong to this batch of 700 nodes"});
  tampered = cache;
  tampered.norm.resize(10);
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { select.backward(params, in, sel, tampered, ds, din, dparams); }, {"LaPoolSelect backward"});
}

}  // namespace gnnpool_test_pool_lapool
