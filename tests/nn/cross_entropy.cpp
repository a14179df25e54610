// Tests of gnnpool/nn/cross_entropy.hpp: known losses, gradients, accuracy, errors.

#include <gnnpool/nn/cross_entropy.hpp>

#include "nn_test_support.hpp"
#include "support/approx.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_nn_cross_entropy {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;

TEMPLATE_TEST_CASE("softmax_cross_entropy of known rows", "[nn][cross_entropy]", float, double) {
  using S = TestType;
  Matrix<S> l(2, 3);
  l << S(0), std::log(S(2)), std::log(S(3)),  // softmax (1/6, 1/3, 1/2)
      S(500), S(500), S(500);                  // softmax 1/3 each, no overflow
  const std::vector<Index> labels{2, 0};
  Matrix<S> d;
  const S loss = gnnpool::softmax_cross_entropy(l, labels, &d);
  const double expected = (std::log(2.0) + std::log(3.0)) / 2;
  CHECK(std::abs(static_cast<double>(loss) - expected) < 8 * gnnpool::numeric<S>::epsilon());
  Matrix<double> dexp(2, 3);
  dexp << 1.0 / 12, 1.0 / 6, (0.5 - 1) / 2, (1.0 / 3 - 1) / 2, 1.0 / 6, 1.0 / 6;
  CHECK(gnnpool::test::max_relative_error(d, dexp) < 8 * gnnpool::numeric<S>::epsilon());
  // Without a gradient buffer, and with the explicit-Scalar form: the same loss.
  CHECK(gnnpool::softmax_cross_entropy(l, labels) == loss);
  CHECK(gnnpool::softmax_cross_entropy<S>(l, labels, nullptr) == loss);
  // An expression argument is evaluated once.
  CHECK(std::abs(gnnpool::softmax_cross_entropy(l * S(1), labels) - loss) <= gnnpool::numeric<S>::epsilon());

  CHECK(gnnpool::argmax_accuracy_count(l, labels) == 2);  // row 1: a tie, the lowest column wins
  CHECK(gnnpool::argmax_accuracy_count(l, std::vector<Index>{2, 1}) == 1);
}

TEST_CASE("softmax_cross_entropy gradient matches finite differences", "[nn][cross_entropy][gradcheck]") {
  ParameterSet<double> none;
  Matrix<double> x = 2.0 * gnnpool::testing::random_features<double>(7, 4, 31);
  const std::vector<Index> labels{0, 3, 1, 1, 2, 3, 0};
  const auto result = gnnpool::test::check_dense_layer(
      none, x,
      [&](Matrix<double>& y) {
        y.resize(1, 1);
        y(0, 0) = gnnpool::softmax_cross_entropy(x, labels);
      },
      [&](const Matrix<double>& dy, Matrix<double>& dx, ParameterSet<double>&) {
        gnnpool::softmax_cross_entropy(x, labels, &dx);
        dx *= dy(0, 0);
      });
  INFO(result.log);
  CHECK(result.ok);
}

TEST_CASE("softmax_cross_entropy in float agrees with double", "[nn][cross_entropy]") {
  const Matrix<double> x = 10.0 * gnnpool::testing::random_features<double>(64, 6, 7);
  std::vector<Index> labels(64);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<Index>((i * 7) % 6);
  Matrix<double> d;
  Matrix<float> df;
  const double loss = gnnpool::softmax_cross_entropy(x, labels, &d);
  const Matrix<float> xf = x.cast<float>();
  const float lossf = gnnpool::softmax_cross_entropy(xf, labels, &df);
  CHECK(std::abs(static_cast<double>(lossf) - loss) / std::max(1.0, loss) < gnnpool::numeric<float>::compare_tolerance());
  CHECK(gnnpool::test::max_relative_error(df, d) < gnnpool::numeric<float>::compare_tolerance());
  // Rows of the gradient sum to 0, the label entry is the only negative one.
  CHECK(d.rowwise().sum().cwiseAbs().maxCoeff() < 1e-15);
}

TEST_CASE("softmax_cross_entropy rejects bad labels and undefined rows", "[nn][cross_entropy][errors]") {
  using gnnpool::test::require_throws_with;
  Matrix<double> l = Matrix<double>::Zero(3, 4);
  require_throws_with<gnnpool::invalid_argument>(
      [&] { gnnpool::softmax_cross_entropy(l, std::vector<Index>{0, 4, 1}); },
      {"softmax_cross_entropy", "label 4 of row 1", "[0, 4)"});
  require_throws_with<gnnpool::invalid_argument>(
      [&] { gnnpool::softmax_cross_entropy(l, std::vector<Index>{0, -1, 1}); }, {"label -1 of row 1"});
  require_throws_with<gnnpool::shape_error>([&] { gnnpool::softmax_cross_entropy(l, std::vector<Index>{0, 1}); },
                                            {"softmax_cross_entropy", "3 rows", "2 labels"});
  require_throws_with<gnnpool::shape_error>([&] { gnnpool::argmax_accuracy_count(l, std::vector<Index>{0}); },
                                            {"argmax_accuracy_count", "3 rows", "1 labels"});
  require_throws_with<gnnpool::invalid_argument>(
      [&] { gnnpool::softmax_cross_entropy(Matrix<double>(0, 4), std::vector<Index>{}); }, {"no rows"});
  l(1, 2) = std::numeric_limits<double>::quiet_NaN();
  require_throws_with<gnnpool::invalid_argument>(
      [&] { gnnpool::softmax_cross_entropy(l, std::vector<Index>{0, 0, 0}); }, {"row 1", "NaN"});
}

}  // namespace gnnpool_test_nn_cross_entropy
