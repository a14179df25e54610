// Tests of gnnpool/nn/softmax.hpp: known rows, stability, gradients, float vs double, errors.

#include <gnnpool/nn/softmax.hpp>

#include "nn_test_support.hpp"
#include "support/approx.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_nn_softmax {

using gnnpool::Matrix;
using gnnpool::ParameterSet;

TEMPLATE_TEST_CASE("row_softmax of known rows", "[nn][softmax]", float, double) {
  using S = TestType;
  const S inf = std::numeric_limits<S>::infinity();
  Matrix<S> l(3, 3);
  l << S(0), std::log(S(2)), std::log(S(3)),  // exp: 1, 2, 3
      S(1000), S(1000), -inf,                  // no overflow; -inf gets 0
      S(-5), S(-5), S(-5);
  Matrix<S> s;
  gnnpool::row_softmax(l, s);
  Matrix<double> expected(3, 3);
  expected << 1.0 / 6, 2.0 / 6, 3.0 / 6, 0.5, 0.5, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3;
  CHECK(gnnpool::test::max_relative_error(s, expected) < 4 * gnnpool::numeric<S>::epsilon());

  // Backward by hand on the row (0.5, 0.5, 0) with ds = (1, 0, 7): <ds, s> = 0.5.
  Matrix<S> ds = Matrix<S>::Zero(3, 3);
  ds.row(1) << S(1), S(0), S(7);
  Matrix<S> dl;
  gnnpool::row_softmax_backward(s, ds, dl);
  CHECK(std::abs(dl(1, 0) - S(0.25)) < 4 * gnnpool::numeric<S>::epsilon());
  CHECK(std::abs(dl(1, 1) + S(0.25)) < 4 * gnnpool::numeric<S>::epsilon());
  CHECK(std::abs(dl(1, 2)) < S(1e-30));  // Eigen's vectorised exp(-inf) is a denormal, not 0
  CHECK(dl.row(0).isZero());

  // Zero columns: an empty result, no error.
  Matrix<S> empty(2, 0), se;
  gnnpool::row_softmax(empty, se);
  CHECK(se.rows() == 2);
  CHECK(se.cols() == 0);
}

TEST_CASE("row_softmax backward matches finite differences", "[nn][softmax][gradcheck]") {
  ParameterSet<double> none;
  Matrix<double> x = 3.0 * gnnpool::testing::random_features<double>(6, 4, 21);
  Matrix<double> cached;
  const auto result = gnnpool::test::check_dense_layer(
      none, x,
      [&](Matrix<double>& y) {
        gnnpool::row_softmax<double>(x, y);
        cached = y;
      },
      [&](const Matrix<double>& dy, Matrix<double>& dx, ParameterSet<double>&) {
        gnnpool::row_softmax_backward<double>(cached, dy, dx);
      });
  INFO(result.log);
  CHECK(result.ok);
}

TEST_CASE("row_softmax in float agrees with double; in place gives the same", "[nn][softmax]") {
  const Matrix<double> x = 20.0 * gnnpool::testing::random_features<double>(50, 7, 4);
  Matrix<double> s;
  gnnpool::row_softmax<double>(x, s);
  CHECK((s.rowwise().sum().array() - 1.0).abs().maxCoeff() < 1e-14);
  Matrix<float> sf;
  gnnpool::row_softmax<float>(x.cast<float>(), sf);
  CHECK(gnnpool::test::max_relative_error(sf, s) < gnnpool::numeric<float>::compare_tolerance());
  Matrix<double> inplace = x;
  gnnpool::row_softmax<double>(inplace, inplace);
  CHECK(inplace == s);
  const Matrix<double> ds = gnnpool::testing::random_features<double>(50, 7, 5);
  Matrix<double> dl;
  Matrix<float> dlf;
  gnnpool::row_softmax_backward<double>(s, ds, dl);
  gnnpool::row_softmax_backward<float>(sf, ds.cast<float>(), dlf);
  CHECK(gnnpool::test::max_relative_error(dlf, dl) < gnnpool::numeric<float>::compare_tolerance());
  // Each row of the gradient sums to 0 (softmax is invariant to adding a constant to a row).
  CHECK(dl.rowwise().sum().cwiseAbs().maxCoeff() < 1e-14);
}

TEST_CASE("row_softmax rejects undefined rows and mismatched shapes", "[nn][softmax][errors]") {
  using gnnpool::test::require_throws_with;
  const double inf = std::numeric_limits<double>::infinity();
  Matrix<double> l = Matrix<double>::Zero(3, 2), s;
  l(2, 1) = std::numeric_limits<double>::quiet_NaN();
  require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::row_softmax<double>(l, s); },
                                                 {"row_softmax", "row 2"});
  l(2, 1) = inf;
  require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::row_softmax<double>(l, s); }, {"row 2"});
  l.row(2).setConstant(-inf);
  require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::row_softmax<double>(l, s); }, {"only -inf"});
  Matrix<double> d;
  require_throws_with<gnnpool::shape_error>(
      [&] { gnnpool::row_softmax_backward<double>(Matrix<double>::Zero(3, 2), Matrix<double>::Zero(2, 3), d); },
      {"row_softmax_backward", "ds is 2 x 3", "s is 3 x 2"});
}

TEST_CASE("row_softmax over several row chunks: the same bytes and the same error for 1 and 3 threads",
          "[nn][softmax][parallel]") {
  using gnnpool::test::require_throws_with;
  const int saved = gnnpool::num_threads();
  // 2 500 rows of 7: three chunks of whole rows (1 024, 1 024, 452), the last with a scalar tail.
  Matrix<float> l = gnnpool::testing::random_features<float>(2500, 7, 5) * 6.0f;
  Matrix<float> one, three;
  gnnpool::set_num_threads(1);
  gnnpool::row_softmax<float>(l, one);
  gnnpool::set_num_threads(3);
  gnnpool::row_softmax<float>(l, three);
  CHECK(one == three);
  CHECK(((one.rowwise().sum().array() - 1.0f).abs() < 1e-6f).all());
  // Bad rows in the second and third chunks: the lowest is named, whatever the thread count.
  l(2400, 3) = std::numeric_limits<float>::quiet_NaN();
  l(1500, 0) = std::numeric_limits<float>::infinity();
  for (const int threads : {1, 3}) {
    gnnpool::set_num_threads(threads);
    require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::row_softmax<float>(l, one); }, {"row 1500"});
  }
  gnnpool::set_num_threads(saved);
}

}  // namespace gnnpool_test_nn_softmax
