// Tests of gnnpool/nn/activation.hpp: values, derivatives, float vs double, errors.

#include <gnnpool/nn/activation.hpp>

#include "nn_test_support.hpp"
#include "support/approx.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_nn_activation {

using gnnpool::Activation;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;

namespace {

constexpr Activation all_activations[] = {Activation::identity, Activation::relu, Activation::tanh,
                                          Activation::sigmoid, Activation::selu};
constexpr double selu_alpha = 1.6732632423543772848170429916717;
constexpr double selu_scale = 1.0507009873554804934193349852946;

}  // namespace

TEMPLATE_TEST_CASE("activations have PyTorch's values and derivatives", "[nn][activation]", float, double) {
  using S = TestType;
  Matrix<S> x(1, 4);
  x << S(-1), S(0), S(0.5), S(2);
  const Matrix<S> ones = Matrix<S>::Ones(1, 4);
  Matrix<S> y, dx;
  const double e = std::exp(1.0);
  auto expect = [&](Activation act, std::initializer_list<double> values, std::initializer_list<double> slopes) {
    INFO(gnnpool::activation_name(act));
    gnnpool::activation_forward(act, x, y);  // Scalar deduced from y
    gnnpool::activation_backward<S>(act, x, y, ones, dx);
    Matrix<double> vy(1, 4), vd(1, 4);
    Eigen::Index k = 0;
    for (double v : values) vy(0, k++) = v;
    k = 0;
    for (double v : slopes) vd(0, k++) = v;
    CHECK(gnnpool::test::max_relative_error(y, vy) < 4 * gnnpool::numeric<S>::epsilon());
    CHECK(gnnpool::test::max_relative_error(dx, vd) < 4 * gnnpool::numeric<S>::epsilon());
  };
  expect(Activation::identity, {-1, 0, 0.5, 2}, {1, 1, 1, 1});
  // relu'(0) = 0, as PyTorch's threshold backward.
  expect(Activation::relu, {0, 0, 0.5, 2}, {0, 0, 1, 1});
  const double t1 = std::tanh(1.0), th = std::tanh(0.5), t2 = std::tanh(2.0);
  expect(Activation::tanh, {-t1, 0, th, t2}, {1 - t1 * t1, 1, 1 - th * th, 1 - t2 * t2});
  const double sm = 1 / (1 + e), sh = 1 / (1 + std::exp(-0.5)), s2 = 1 / (1 + std::exp(-2.0));
  expect(Activation::sigmoid, {sm, 0.5, sh, s2}, {sm * (1 - sm), 0.25, sh * (1 - sh), s2 * (1 - s2)});
  expect(Activation::selu, {selu_scale * selu_alpha * (1 / e - 1), 0, selu_scale * 0.5, selu_scale * 2},
         {selu_scale * selu_alpha / e, selu_scale * selu_alpha, selu_scale, selu_scale});
  // SELU(-1) as printed by torch.selu(torch.tensor(-1., dtype=torch.float64)).
  gnnpool::activation_forward<S>(Activation::selu, x, y);
  CHECK(std::abs(static_cast<double>(y(0, 0)) - (-1.1113307378125628)) < 4 * gnnpool::numeric<S>::epsilon());
}

TEST_CASE("activation backward matches finite differences", "[nn][activation][gradcheck]") {
  for (Activation act : all_activations) {
    INFO(gnnpool::activation_name(act));
    ParameterSet<double> none;
    Matrix<double> x = 2.0 * gnnpool::testing::random_features<double>(7, 3, 17);
    Matrix<double> cached_in, cached_out;
    const auto result = gnnpool::test::check_dense_layer(
        none, x,
        [&](Matrix<double>& y) {
          gnnpool::activation_forward<double>(act, x, y);
          cached_in = x;
          cached_out = y;
        },
        [&](const Matrix<double>& dy, Matrix<double>& dx, ParameterSet<double>&) {
          gnnpool::activation_backward<double>(act, cached_in, cached_out, dy, dx);
        });
    INFO(result.log);
    CHECK(result.ok);
  }
}

TEST_CASE("activations of strided views (the non-flat path) match the flat path and finite differences",
          "[nn][activation][gradcheck]") {
  // A column block of a wider row-major matrix is not one flat array: forward and backward take
  // Eigen's strided array path there, which the contiguous cases above never reach.
  for (Activation act : all_activations) {
    INFO(gnnpool::activation_name(act));
    ParameterSet<double> none;
    Matrix<double> x = 2.0 * gnnpool::testing::random_features<double>(7, 3, 29);
    const auto widen = [](const Matrix<double>& m) {
      Matrix<double> w = Matrix<double>::Constant(m.rows(), m.cols() + 3, 5.0);
      w.middleCols(1, m.cols()) = m;
      return w;
    };
    Matrix<double> wide_in, wide_out;
    const auto result = gnnpool::test::check_dense_layer(
        none, x,
        [&](Matrix<double>& y) {
          wide_in = widen(x);
          gnnpool::activation_forward<double>(act, wide_in.middleCols(1, 3), y);
          wide_out = widen(y);
        },
        [&](const Matrix<double>& dy, Matrix<double>& dx, ParameterSet<double>&) {
          const Matrix<double> wide_dy = widen(dy);
          gnnpool::activation_backward<double>(act, wide_in.middleCols(1, 3), wide_out.middleCols(1, 3),
                                               wide_dy.middleCols(1, 3), dx);
        });
    INFO(result.log);
    CHECK(result.ok);
    Matrix<double> flat_y, strided_y, flat_dx, strided_dx;
    const Matrix<double> dy = gnnpool::testing::random_features<double>(7, 3, 31);
    gnnpool::activation_forward<double>(act, x, flat_y);
    gnnpool::activation_backward<double>(act, x, flat_y, dy, flat_dx);
    const Matrix<double> wx = widen(x), wy = widen(flat_y), wdy = widen(dy);
    gnnpool::activation_forward<double>(act, wx.middleCols(1, 3), strided_y);
    gnnpool::activation_backward<double>(act, wx.middleCols(1, 3), wy.middleCols(1, 3), wdy.middleCols(1, 3),
                                         strided_dx);
    CHECK(gnnpool::test::max_relative_error(strided_y, flat_y) < 4 * gnnpool::numeric<double>::epsilon());
    CHECK(gnnpool::test::max_relative_error(strided_dx, flat_dx) < 4 * gnnpool::numeric<double>::epsilon());
  }
}

TEST_CASE("activations in float agree with double, also in place and at extreme inputs", "[nn][activation]") {
  Matrix<double> x = 30.0 * gnnpool::testing::random_features<double>(40, 5, 2);
  x(0, 0) = -800;  // exp overflows in sigmoid's denominator: the limit 0 must come out, not NaN
  x(0, 1) = 800;
  for (Activation act : all_activations) {
    INFO(gnnpool::activation_name(act));
    Matrix<double> y;
    gnnpool::activation_forward<double>(act, x, y);
    CHECK(y.allFinite());
    Matrix<float> yf;
    const Matrix<float> xf = x.cast<float>();
    gnnpool::activation_forward<float>(act, xf, yf);
    CHECK(gnnpool::test::max_relative_error(yf, y) < gnnpool::numeric<float>::compare_tolerance());
    Matrix<double> inplace = x;
    gnnpool::activation_forward<double>(act, inplace, inplace);
    CHECK(inplace == y);
    const Matrix<double> dy = gnnpool::testing::random_features<double>(40, 5, 9);
    Matrix<double> dx;
    Matrix<float> dxf;
    gnnpool::activation_backward<double>(act, x, y, dy, dx);
    gnnpool::activation_backward<float>(act, xf, yf, dy.cast<float>(), dxf);
    CHECK(dx.allFinite());
    CHECK(gnnpool::test::max_relative_error(dxf, dx) < gnnpool::numeric<float>::compare_tolerance());
  }
}

TEMPLATE_TEST_CASE("activations propagate a NaN and keep finite neighbours exact (vectorised paths too)",
                   "[nn][activation]", float, double) {
  using S = TestType;
  // 37 entries: full packets and a scalar tail; NaN at a packet start, inside, and in the tail.
  Matrix<S> x = S(3) * gnnpool::testing::random_features<S>(37, 1, 5);
  const S nan = std::numeric_limits<S>::quiet_NaN();
  for (const Index i : {Index(0), Index(9), Index(35)}) x(i, 0) = nan;
  for (Activation act : all_activations) {
    INFO(gnnpool::activation_name(act));
    Matrix<S> y;
    gnnpool::activation_forward<S>(act, x, y);
    for (Index i = 0; i < x.rows(); ++i) {
      INFO("entry " << i);
      const S v = x(i, 0);
      if (std::isnan(v)) {
        CHECK(std::isnan(y(i, 0)));
        continue;
      }
      if (act != Activation::selu) continue;
      // The two-branch definition, in double.
      const double vd = static_cast<double>(v);
      const double ref = vd > 0 ? selu_scale * vd : selu_scale * selu_alpha * std::expm1(vd);
      CHECK(std::abs(static_cast<double>(y(i, 0)) - ref) <=
            4 * static_cast<double>(std::numeric_limits<S>::epsilon()) * std::max(1.0, std::abs(ref)));
    }
  }
}

TEST_CASE("activation_backward rejects mismatched shapes", "[nn][activation][errors]") {
  using gnnpool::test::require_throws_with;
  const Matrix<double> a = Matrix<double>::Zero(2, 3), b = Matrix<double>::Zero(3, 2);
  Matrix<double> d;
  require_throws_with<gnnpool::shape_error>(
      [&] { gnnpool::activation_backward<double>(Activation::tanh, a, b, a, d); },
      {"activation_backward (tanh)", "out is 3 x 2", "in is 2 x 3"});
  require_throws_with<gnnpool::shape_error>(
      [&] { gnnpool::activation_backward<double>(Activation::relu, a, a, b, d); },
      {"activation_backward (relu)", "dout is 3 x 2", "in is 2 x 3"});
}

}  // namespace gnnpool_test_nn_activation
