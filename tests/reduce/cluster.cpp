// Tests of gnnpool/reduce/cluster.hpp: values of max / mean / sum / representative with the
// weight applied before or after, the even split of max ties, gradients, float against double,
// and the errors of bad selections.

#include <gnnpool/reduce/cluster.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/testing/gradcheck.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "support/approx.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <random>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_reduce_cluster {

using gnnpool::Batch;
using gnnpool::BatchGrad;
using gnnpool::ClusterAggregation;
using gnnpool::ClusterReduce;
using gnnpool::ClusterReduceOptions;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::ScorePassthrough;
using gnnpool::Vector;
using gnnpool::test::require_throws_with;

namespace {

/// 6 nodes in 3 clusters {0, 2}, {1, 3, 4}, {5}... plus node 4 dropped in `with_dropped`.
template <typename Scalar>
HardSelection<Scalar> selection(bool with_dropped = false) {
  HardSelection<Scalar> s;
  s.assignment = {0, 1, 0, 1, with_dropped ? -1 : 1, 2};
  s.representative = {0, 1, 5};
  s.weight.resize(6);
  s.weight << Scalar(0.5), Scalar(2), Scalar(-1), Scalar(1.5), Scalar(3), Scalar(0.25);
  s.offsets = {0, 3};
  return s;
}

template <typename Scalar>
Batch<Scalar> features() {
  Batch<Scalar> b;
  b.x.resize(6, 2);
  b.x << 1, -2, 4, 0, 3, 5, -1, 7, 2, -3, 6, 1;
  b.adj.resize(6, 6);
  b.offsets = {0, 6};
  return b;
}

template <typename Scalar>
struct Out {
  Matrix<Scalar> x;
  Matrix<Scalar> dx;
  Vector<Scalar> dw;
};

template <typename Scalar>
Out<Scalar> run(const Batch<Scalar>& in, const HardSelection<Scalar>& sel, ClusterReduceOptions o,
                const Matrix<Scalar>& g) {
  const ClusterReduce<Scalar> reduce(o);
  typename ClusterReduce<Scalar>::Cache cache;
  Out<Scalar> out;
  reduce.forward(in, sel, out.x, cache);
  BatchGrad<Scalar> din;
  din.x.setZero(in.x.rows(), in.x.cols());
  out.dw.setZero(in.x.rows());
  if (g.size()) reduce.backward(in, sel, cache, g, din, out.dw);
  out.dx = din.x;
  return out;
}

}  // namespace

static_assert(gnnpool::ReducePolicy<ClusterReduce<double>, HardSelection<double>>);
static_assert(gnnpool::ReducePolicy<ClusterReduce<float>, HardSelection<float>>);

TEMPLATE_TEST_CASE("ClusterReduce values: max, mean, sum, representative; weight before and after", "[reduce][cluster]",
                   float, double) {
  using T = TestType;
  const auto in = features<T>();
  const auto sel = selection<T>();
  const Matrix<T> none;
  Matrix<T> e(3, 2);
  e << 3, 5, 4, 7, 6, 1;
  CHECK(run(in, sel, {ClusterAggregation::max, ScorePassthrough::none}, none).x == e);
  e << 2, 1.5, T(5) / 3, T(4) / 3, 6, 1;
  CHECK(gnnpool::test::max_relative_error(run(in, sel, {ClusterAggregation::mean, ScorePassthrough::none}, none).x, e) < 1e-6);
  e << 4, 3, 5, 4, 6, 1;
  CHECK(run(in, sel, {ClusterAggregation::sum, ScorePassthrough::none}, none).x == e);
  e << 1, -2, 4, 0, 6, 1;
  CHECK(run(in, sel, {ClusterAggregation::representative, ScorePassthrough::none}, none).x == e);
  // before: rows scaled by w = (0.5, 2, -1, 1.5, 3, 0.25) first.
  e << 0.5, -1, 8, 10.5, 1.5, 0.25;
  CHECK(run(in, sel, {ClusterAggregation::max, ScorePassthrough::before}, none).x == e);
  e << -2.5, -6, 12.5, 1.5, 1.5, 0.25;
  CHECK(run(in, sel, {ClusterAggregation::sum, ScorePassthrough::before}, none).x == e);
  // after: the aggregate times the representative's weight (0.5, 2, 0.25).
  e << 2, 1.5, 10, 8, 1.5, 0.25;
  CHECK(run(in, sel, {ClusterAggregation::sum, ScorePassthrough::after}, none).x == e);
  e << 0.5, -1, 8, 0, 1.5, 0.25;
  CHECK(run(in, sel, {ClusterAggregation::representative, ScorePassthrough::after}, none).x == e);
}

TEMPLATE_TEST_CASE("ClusterReduce skips dropped nodes; an empty cluster reads 0 under max and mean", "[reduce][cluster]",
                   float, double) {
  using T = TestType;
  const auto in = features<T>();
  auto sel = selection<T>(true);
  sel.assignment[5] = -1;  // supernode 2 keeps its representative entry but has no member
  Matrix<T> e(3, 2);
  e << 3, 5, 4, 7, 0, 0;
  CHECK(run(in, sel, {ClusterAggregation::max, ScorePassthrough::none}, Matrix<T>()).x == e);
  e << 2, 1.5, 1.5, 3.5, 0, 0;
  CHECK(run(in, sel, {ClusterAggregation::mean, ScorePassthrough::none}, Matrix<T>()).x == e);
}

TEMPLATE_TEST_CASE("ClusterReduce max splits the gradient evenly among tied maxima", "[reduce][cluster][ties]", float,
                   double) {
  using T = TestType;
  Batch<T> in = features<T>();
  in.x << 1, 2, 4, 2, 1, 2, 4, 0, 4, -3, 6, 1;  // cluster 0: column 0 ties 2-way, column 1 too; cluster 1: col 0 3-way
  const auto sel = selection<T>();
  Matrix<T> g(3, 2);
  g << 2, 4, 3, 5, 7, 8;
  const auto r = run(in, sel, {ClusterAggregation::max, ScorePassthrough::none}, g);
  Matrix<T> e(6, 2);
  e << 1, 2, 1, 5, 1, 2, 1, 0, 1, 0, 7, 8;
  CHECK(r.dx == e);
}

TEMPLATE_TEST_CASE("ClusterReduce reads x through its row stride (a view of some columns of a wider matrix)",
                   "[reduce][cluster][ties]", float, double) {
  // The tie count of max re-reads x_j in backward: with x = the left 2 columns of a 6 x 3 matrix,
  // row j starts at 3 j, not 2 j. The third column holds values that would change the ties.
  using T = TestType;
  Batch<T> in = features<T>();
  in.x << 1, 2, 4, 2, 1, 2, 4, 0, 4, -3, 6, 1;
  Matrix<T> wide(6, 3);
  wide.leftCols(2) = in.x;
  wide.col(2) << 9, -9, 4, 9, -9, 4;
  const gnnpool::BatchRef<T> view(wide.leftCols(2), in.adj, in.offsets);
  REQUIRE(view.x.outerStride() == 3);
  const auto sel = selection<T>();
  Matrix<T> g(3, 2);
  g << 2, 4, 3, 5, 7, 8;
  for (const auto pt : {ScorePassthrough::none, ScorePassthrough::before}) {
    const ClusterReduce<T> reduce({ClusterAggregation::max, pt});
    typename ClusterReduce<T>::Cache cache;
    Matrix<T> y;
    reduce.forward(view, sel, y, cache);
    BatchGrad<T> din;
    din.x.setZero(6, 2);
    Vector<T> dw = Vector<T>::Zero(6);
    reduce.backward(view, sel, cache, g, din, dw);
    const auto expected = run(in, sel, {ClusterAggregation::max, pt}, g);  // contiguous x
    CHECK(y == expected.x);
    CHECK(din.x == expected.dx);
    CHECK(dw == expected.dw);
  }
}

TEST_CASE("ClusterReduce backward passes the gradient check for every aggregation and passthrough",
          "[reduce][cluster][gradcheck]") {
  auto in = features<double>();
  in.x = gnnpool::testing::random_features<double>(6, 2, 3);
  auto sel = selection<double>(true);
  for (const auto agg : {ClusterAggregation::max, ClusterAggregation::mean, ClusterAggregation::sum, ClusterAggregation::representative})
    for (const auto pt : {ScorePassthrough::none, ScorePassthrough::before, ScorePassthrough::after}) {
      const ClusterReduce<double> reduce({agg, pt});
      gnnpool::testing::GradCheckProblem problem;
      problem.variables.push_back({"x", in.x.data(), in.x.size()});
      problem.variables.push_back({"w", sel.weight.data(), sel.weight.size()});
      problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
        Matrix<double> y;
        ClusterReduce<double>::Cache cache;
        reduce.forward(in, sel, y, cache);
        gnnpool::testing::append(y, out);
        return 0.0;
      };
      problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
        Matrix<double> y;
        ClusterReduce<double>::Cache cache;
        reduce.forward(in, sel, y, cache);
        Matrix<double> g = Eigen::Map<const Matrix<double>>(up.data(), y.rows(), y.cols());
        BatchGrad<double> din;
        din.x.setZero(6, 2);
        Vector<double> dw = Vector<double>::Zero(6);
        reduce.backward(in, sel, cache, g, din, dw);
        gnnpool::testing::copy_gradient(din.x, grads[0]);
        gnnpool::testing::copy_gradient(dw, grads[1]);
      };
      const auto result = gnnpool::testing::check_gradients(problem);
      INFO("aggregation " << static_cast<int>(agg) << ", passthrough " << static_cast<int>(pt) << "\n" << result.log);
      CHECK(result.ok);
    }
}

TEST_CASE("ClusterReduce in float matches double", "[reduce][cluster][float]") {
  auto in = features<double>();
  in.x = gnnpool::testing::random_features<double>(6, 2, 5);
  const auto sel = selection<double>();
  Batch<float> inf = features<float>();
  inf.x = in.x.cast<float>();
  const auto self = selection<float>();
  const Matrix<double> g = gnnpool::testing::random_features<double>(3, 2, 6);
  for (const auto agg : {ClusterAggregation::max, ClusterAggregation::mean, ClusterAggregation::sum, ClusterAggregation::representative})
    for (const auto pt : {ScorePassthrough::none, ScorePassthrough::before, ScorePassthrough::after}) {
      const auto d = run(in, sel, {agg, pt}, g);
      const auto f = run(inf, self, {agg, pt}, Matrix<float>(g.cast<float>()));
      CHECK(gnnpool::test::max_relative_error(f.x, d.x) < 1e-5);
      CHECK(gnnpool::test::max_relative_error(f.dx, d.dx) < 1e-5);
      CHECK(gnnpool::test::max_relative_error(f.dw, d.dw) < 1e-5);
    }
}

TEST_CASE("ClusterReduce rejects selections that do not fit x and unknown names", "[reduce][cluster][errors]") {
  const auto in = features<double>();
  const ClusterReduce<double> reduce({ClusterAggregation::sum, ScorePassthrough::before});
  Matrix<double> y;
  ClusterReduce<double>::Cache cache;
  auto sel = selection<double>();
  sel.assignment.pop_back();
  require_throws_with<gnnpool::shape_error>([&] { reduce.forward(in, sel, y, cache); },
                                            {"ClusterReduce", "5 assignments", "6 rows"});
  sel = selection<double>();
  sel.weight.resize(2);
  require_throws_with<gnnpool::shape_error>([&] { reduce.forward(in, sel, y, cache); }, {"ClusterReduce", "2 weights"});
  sel = selection<double>();
  sel.assignment[3] = 7;
  require_throws_with<gnnpool::invalid_argument>([&] { reduce.forward(in, sel, y, cache); },
                                                 {"ClusterReduce", "assignment[3] = 7", "3 supernodes"});
  sel = selection<double>();
  sel.representative[1] = 9;
  require_throws_with<gnnpool::invalid_argument>([&] { reduce.forward(in, sel, y, cache); },
                                                 {"ClusterReduce", "representative 9", "6 nodes"});
  sel = selection<double>();
  reduce.forward(in, sel, y, cache);
  BatchGrad<double> din;
  din.x.setZero(6, 2);
  Vector<double> dw = Vector<double>::Zero(6);
  require_throws_with<gnnpool::shape_error>([&] { reduce.backward(in, sel, cache, Matrix<double>::Zero(2, 2), din, dw); },
                                            {"ClusterReduce", "2 x 2", "3 x 2"});
  require_throws_with<gnnpool::invalid_argument>([] { gnnpool::parse_cluster_aggregation("median"); },
                                                 {"ClusterReduce", "unknown aggregation 'median'"});
  require_throws_with<gnnpool::invalid_argument>([] { gnnpool::parse_score_passthrough("during"); },
                                                 {"ClusterReduce", "unknown score passthrough 'during'"});
  CHECK(gnnpool::parse_cluster_aggregation("avg") == ClusterAggregation::mean);
}

}  // namespace gnnpool_test_reduce_cluster
