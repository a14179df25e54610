// Tests of gnnpool/nn/linear.hpp: values, gradients, float vs double, errors.

#include <gnnpool/nn/linear.hpp>

#include "nn_test_support.hpp"
#include "support/approx.hpp"

#include <catch2/catch.hpp>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_nn_linear {

using gnnpool::Index;
using gnnpool::Linear;
using gnnpool::Matrix;
using gnnpool::ParameterSet;

TEMPLATE_TEST_CASE("Linear computes x W^T + b with PyTorch's parameter names", "[nn][linear]", float, double) {
  using S = TestType;
  ParameterSet<S> params;
  Linear<S> lin(params, "head", 2, 3);
  REQUIRE(params.size() == 2);
  CHECK(params.name(0) == "head.weight");
  CHECK(params.name(1) == "head.bias");
  CHECK(params[0].rows() == 3);
  CHECK(params[0].cols() == 2);
  CHECK(params[1].rows() == 1);
  CHECK(params[1].cols() == 3);
  Matrix<S> w(3, 2);
  w << 1, 2, 3, 4, 5, 6;
  Matrix<S> b(1, 3);
  b << S(0.5), S(-1), S(2);
  params.set("head.weight", w);
  params.set("head.bias", b);
  Matrix<S> x(2, 2);
  x << 1, -1, 2, 0.5;
  Matrix<S> y;
  typename Linear<S>::Cache cache;
  lin.forward(params, x, y, cache);
  Matrix<S> expected(2, 3);
  expected << S(1 - 2 + 0.5), S(3 - 4 - 1), S(5 - 6 + 2), S(2 + 1 + 0.5), S(6 + 2 - 1), S(10 + 3 + 2);
  CHECK(gnnpool::test::max_relative_error(y, expected) == 0.0);

  // Backward by hand: dx = dy W, dW = dy^T x, db = column sums of dy.
  Matrix<S> dy(2, 3);
  dy << 1, 0, -1, 2, 1, 0;
  Matrix<S> dx;
  ParameterSet<S> grads = params.zeros_like();
  lin.backward(params, x, cache, dy, &dx, grads);
  Matrix<S> dx_expected(2, 2);
  dx_expected << S(1 - 5), S(2 - 6), S(2 + 3), S(4 + 4);
  CHECK(gnnpool::test::max_relative_error(dx, dx_expected) == 0.0);
  Matrix<S> dw_expected(3, 2);
  dw_expected << S(1 + 4), S(-1 + 1), S(2), S(0.5), S(-1), S(1);
  CHECK(gnnpool::test::max_relative_error(grads[0], dw_expected) == 0.0);
  Matrix<S> db_expected(1, 3);
  db_expected << 3, 1, -1;
  CHECK(gnnpool::test::max_relative_error(grads[1], db_expected) == 0.0);

  ParameterSet<S> nb;
  Linear<S> no_bias(nb, "", 2, 3, false);
  CHECK(nb.size() == 1);
  CHECK(nb.name(0) == "weight");
  CHECK_FALSE(no_bias.has_bias());
  CHECK(no_bias.bias_slot() == -1);
}

TEST_CASE("Linear backward matches finite differences", "[nn][linear][gradcheck]") {
  for (bool bias : {true, false}) {
    ParameterSet<double> params;
    Linear<double> lin(params, "lin", 4, 3, bias);
    gnnpool::test::randomize(params, 11);
    Matrix<double> x = gnnpool::testing::random_features<double>(6, 4, 3);
    const auto result = gnnpool::testing::check_feature_layer(lin, params, x);
    INFO(result.log);
    CHECK(result.ok);
  }
}

TEST_CASE("Linear in float agrees with double", "[nn][linear]") {
  ParameterSet<double> params;
  Linear<double> lin(params, "lin", 5, 4);
  params.initialize(5);
  const Matrix<double> x = gnnpool::testing::random_features<double>(20, 5, 8);
  Matrix<double> y;
  Linear<double>::Cache cache;
  lin.forward(params, x, y, cache);
  ParameterSet<float> pf;
  Linear<float> linf(pf, "lin", 5, 4);
  pf = params.cast<float>();  // same layout, the double values rounded
  Matrix<float> yf;
  Linear<float>::Cache cachef;
  linf.forward(pf, x.cast<float>(), yf, cachef);
  CHECK(gnnpool::test::max_relative_error(yf, y) < gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("Linear rejects bad sizes with sentences", "[nn][linear][errors]") {
  ParameterSet<double> params;
  using gnnpool::test::require_throws_with;
  require_throws_with<gnnpool::invalid_argument>([&] { Linear<double>(params, "bad", 0, 3); },
                                                 {"Linear 'bad'", "0 and 3"});
  Linear<double> lin(params, "lin", 3, 2);
  Matrix<double> y, dx;
  Linear<double>::Cache cache;
  require_throws_with<gnnpool::shape_error>([&] { lin.forward(params, Matrix<double>::Zero(4, 2), y, cache); },
                                            {"lin (Linear)", "4 x 2", "3 input features"});
  ParameterSet<double> grads = params.zeros_like();
  require_throws_with<gnnpool::shape_error>(
      [&] { lin.backward(params, Matrix<double>::Zero(4, 3), cache, Matrix<double>::Zero(4, 3), &dx, grads); },
      {"lin (Linear)", "dy is 4 x 3", "4 x 2"});
}

}  // namespace gnnpool_test_nn_linear
