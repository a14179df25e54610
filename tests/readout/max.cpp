// Tests of gnnpool/readout/max.hpp.

#include <gnnpool/readout/max.hpp>

#include "readout/readout_test_support.hpp"

#include <catch2/catch.hpp>

#include <limits>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_readout_max {

using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::MaxReadout;
using gnnpool::ParameterSet;

namespace {
auto make_max = [](auto& params) {
  (void)params;
  return MaxReadout<typename std::remove_cvref_t<decltype(params)>::Scalar>{};
};

template <typename T>
struct MaxRun {
  Matrix<T> out, dx;
  typename MaxReadout<T>::Cache cache;
  MaxRun(const Matrix<T>& x, IndexVector offsets, const Matrix<T>& dout) {
    const auto batch = gnnpool::test::split_rows(x, std::move(offsets));
    ParameterSet<T> params, dparams;
    const MaxReadout<T> readout;
    readout.forward(params, batch, out, cache);
    readout.backward(params, batch, cache, dout, {&dx, nullptr}, dparams);
  }
};
}  // namespace

static_assert(gnnpool::ReadoutPolicy<MaxReadout<float>>);
static_assert(gnnpool::ReadoutPolicy<MaxReadout<double>>);

TEMPLATE_TEST_CASE("MaxReadout takes the channel-wise maximum; empty graph 0, all-negative graph its true max",
                   "[readout][max]", float, double) {
  using T = TestType;
  Matrix<T> x(6, 2);
  x << 1, -2, 3, -4, -5, -6, -7, -8, -0.5, -0.25, 9, -9;
  Matrix<T> dout(4, 2);
  dout << 1, 2, 30, 40, -1, 0.5, 7, 8;
  const MaxRun<T> r(x, {0, 2, 2, 5, 6}, dout);
  Matrix<T> expected(4, 2);
  expected << 3, -2, 0, 0, -0.5, -0.25, 9, -9;
  CHECK(r.out == expected);
  Matrix<T> expected_dx(6, 2);
  expected_dx << 0, 2, 1, 0, 0, 0, 0, 0, -1, 0.5, 7, 8;
  CHECK(r.dx == expected_dx);
  // One node per (graph, channel), graph-major; the empty graph has none.
  CHECK(r.cache.argmax == IndexVector{1, 0, 4, 4, 5, 5});
  CHECK(r.cache.argmax_offsets == IndexVector{0, 1, 2, 2, 2, 3, 4, 5, 6});
}

TEMPLATE_TEST_CASE("MaxReadout splits the gradient evenly among tied maxima", "[readout][max][ties]", float,
                   double) {
  using T = TestType;
  // Graph 0: channel 0 has a three-way tie, channel 1 a two-way tie (-0 == +0), channel 2 none.
  // Graph 1: a single node ties with nothing.
  Matrix<T> x(5, 3);
  x << 2, 0, 1, 2, -1, 5, -3, -0.0, 4, 2, -2, 3, -1, -1, -1;
  Matrix<T> dout(2, 3);
  dout << 3, 1, 7, 4, 5, 6;
  const MaxRun<T> r(x, {0, 4, 5}, dout);
  Matrix<T> expected(2, 3);
  expected << 2, 0, 5, -1, -1, -1;
  CHECK(r.out == expected);
  Matrix<T> expected_dx(5, 3);
  expected_dx << 1, 0.5, 0, 1, 0, 7, 0, 0.5, 0, 1, 0, 0, 4, 5, 6;
  CHECK(r.dx == expected_dx);
  CHECK(r.cache.argmax == IndexVector{0, 1, 3, 0, 2, 1, 4, 4, 4});
  CHECK(r.cache.argmax_offsets == IndexVector{0, 3, 5, 6, 7, 8, 9});
}

TEMPLATE_TEST_CASE("MaxReadout matches a naive reference on wide rows with ties", "[readout][max][ties]", float,
                   double) {
  using T = TestType;
  // 37 channels: whole blocks of columns plus a remainder; values on a coarse grid so that
  // many channels tie.
  auto batch = gnnpool::test::readout_batch<T>({9, 1, 0, 14, 3}, 37, 71);
  batch.x = (batch.x * T(2)).array().round().matrix();
  Matrix<T> dout = gnnpool::testing::random_features<T>(5, 37, 72);
  const MaxRun<T> r(batch.x, batch.offsets, dout);
  Matrix<T> dx = Matrix<T>::Zero(batch.x.rows(), 37);
  IndexVector argmax;
  for (Index g = 0; g < 5; ++g) {
    const Index lo = batch.graph_begin(g), n = batch.graph_size(g);
    for (Index c = 0; c < 37; ++c) {
      const T m = n == 0 ? T(0) : batch.x.col(c).segment(lo, n).maxCoeff();
      CHECK(r.out(g, c) == m);
      Index ties = 0;
      for (Index i = lo; i < lo + n; ++i) ties += batch.x(i, c) == m ? 1 : 0;
      for (Index i = lo; i < lo + n; ++i)
        if (batch.x(i, c) == m) {
          argmax.push_back(i);
          dx(i, c) = dout(g, c) / static_cast<T>(ties);
        }
    }
  }
  CHECK(r.cache.argmax == argmax);
  CHECK(r.dx == dx);
  CHECK(argmax.size() > static_cast<std::size_t>(4 * 37));  // the grid makes ties
}

TEST_CASE("MaxReadout: a NaN propagates to its channel and gets no gradient", "[readout][max]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Matrix<double> x(3, 2);
  x << 1, 2, nan, 5, 3, 4;
  Matrix<double> dout(1, 2);
  dout << 1, 1;
  const MaxRun<double> r(x, {0, 3}, dout);
  CHECK(std::isnan(r.out(0, 0)));
  CHECK(r.out(0, 1) == 5);
  CHECK(r.dx.col(0).isZero(0));
  CHECK(r.dx(1, 1) == 1);
  CHECK(r.dx.col(1).sum() == 1);
}

TEST_CASE("MaxReadout's kink guard sees ties", "[readout][max][gradcheck]") {
  // Exact ties make the check resample x; it must then pass on the resampled values.
  ParameterSet<double> params;
  const MaxReadout<double> readout;
  auto batch = gnnpool::test::split_rows(Matrix<double>(Matrix<double>::Ones(4, 3)), {0, 4});
  const auto r = gnnpool::testing::check_readout(readout, params, batch);
  INFO(r.log);
  CHECK(r.ok);
  CHECK(r.log.find("flips") != std::string::npos);
}

TEST_CASE("MaxReadout satisfies the readout contract", "[readout][max][gradcheck][errors]") {
  gnnpool::test::check_readout_contract(make_max, 4, 31, "MaxReadout");
}

TEST_CASE("MaxReadout backward rejects a cache whose tie sets do not fit the batch", "[readout][max][errors]") {
  Matrix<double> x(5, 2);
  x << 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
  const auto batch = gnnpool::test::split_rows(x, IndexVector{0, 2, 5});
  ParameterSet<double> params, dparams;
  const MaxReadout<double> readout;
  Matrix<double> out, dx;
  MaxReadout<double>::Cache cache;
  readout.forward(params, batch, out, cache);
  const Matrix<double> dout = Matrix<double>::Ones(2, 2);
  // A node of graph 1 in graph 0's tie set (a cache of another batch with the same shapes).
  auto wrong_node = cache;
  wrong_node.argmax[0] = 3;
  CHECK_THROWS_WITH(readout.backward(params, batch, wrong_node, dout, {&dx, nullptr}, dparams),
                    Catch::Contains("MaxReadout") && Catch::Contains("names node 3, outside the graph's nodes [0, 2)"));
  // Tie-set bounds past the node list.
  auto wrong_bounds = cache;
  wrong_bounds.argmax_offsets.back() = 40;
  CHECK_THROWS_WITH(readout.backward(params, batch, wrong_bounds, dout, {&dx, nullptr}, dparams),
                    Catch::Contains("is [3, 40) of 4 entries"));
}

}  // namespace gnnpool_test_readout_max
