// Tests of gnnpool/pool/weighted_lift.hpp: tgp's lift x = S x' (weights included) and PyG's
// EdgePooling unpool x = x' / w, their backward (pooled rows and selection weights) by finite
// differences, and the errors.

#include <gnnpool/core/concepts.hpp>
#include <gnnpool/pool/weighted_lift.hpp>
#include <gnnpool/testing/gradcheck.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_weighted_lift {

using namespace gnnpool;

static_assert(LiftPolicy<WeightedHardLift<float>, HardSelection<float>>);
static_assert(LiftPolicy<WeightedHardLift<double>, HardSelection<double>>);

namespace {

/// 5 nodes into supernodes {0, 2}, {3}, node 1 and 4 dropped; weights 0.5 .. 2.5.
template <typename Scalar>
HardSelection<Scalar> selection() {
  HardSelection<Scalar> sel;
  sel.assignment = {0, -1, 0, 1, -1};
  sel.representative = {0, 3};
  sel.weight.resize(5);
  sel.weight << Scalar(0.5), Scalar(1.0), Scalar(1.5), Scalar(2.0), Scalar(2.5);
  sel.offsets = {0, 2};
  return sel;
}

}  // namespace

TEMPLATE_TEST_CASE("WeightedHardLift multiplies (tgp) or divides (PyG unpool) by the node's weight", "[pool][weighted_lift]",
                   float, double) {
  using T = TestType;
  const auto sel = selection<T>();
  Matrix<T> xp(2, 2);
  xp << 1, 2, 3, 4;
  Matrix<T> x;
  WeightedHardLift<T>().forward(sel, xp, x);
  Matrix<T> expected(5, 2);
  expected << T(0.5), 1, 0, 0, T(1.5), 3, 6, 8, 0, 0;
  CHECK(x == expected);
  WeightedHardLift<T>(LiftWeighting::divide).forward(sel, xp, x);
  expected << 2, 4, 0, 0, T(1) / T(1.5), T(2) / T(1.5), T(1.5), 2, 0, 0;
  CHECK(x.isApprox(expected));
}

TEST_CASE("WeightedHardLift backward passes the gradient check for the pooled rows and the weights",
          "[pool][weighted_lift][gradcheck]") {
  for (const auto mode : {LiftWeighting::multiply, LiftWeighting::divide}) {
    auto sel = selection<double>();
    Matrix<double> xp = testing::random_features<double>(2, 3, 5);
    const WeightedHardLift<double> lift(mode);
    testing::GradCheckProblem problem;
    problem.variables.push_back({"x_pooled", xp.data(), xp.size()});
    problem.variables.push_back({"weight", sel.weight.data(), sel.weight.size()});
    problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
      Matrix<double> x;
      lift.forward(sel, xp, x);
      testing::append(x, out);
      return 0.0;
    };
    problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
      const Matrix<double> dx = Eigen::Map<const Matrix<double>>(up.data(), sel.num_nodes(), 3);
      Matrix<double> dxp;
      Vector<double> dsel = Vector<double>::Zero(sel.num_nodes());
      lift.backward(sel, xp, dx, dxp, dsel);
      testing::copy_gradient(dxp, grads[0]);
      testing::copy_gradient(dsel, grads[1]);
    };
    const auto result = testing::check_gradients(problem);
    INFO(result.log);
    CHECK(result.ok);
  }
}

TEST_CASE("WeightedHardLift rejects rows, gradients and weights that do not fit", "[pool][weighted_lift][errors]") {
  const auto sel = selection<double>();
  Matrix<double> x, dxp;
  Vector<double> dsel = Vector<double>::Zero(5);
  test::require_throws_with<shape_error>([&] { WeightedHardLift<double>().forward(sel, Matrix<double>::Zero(3, 2), x); },
                                         {"WeightedHardLift", "x_pooled has 3 rows", "2 supernodes"});
  test::require_throws_with<shape_error>(
      [&] { WeightedHardLift<double>().backward(sel, Matrix<double>::Zero(2, 2), Matrix<double>::Zero(4, 2), dxp, dsel); },
      {"WeightedHardLift", "dx_out is 4 x 2", "5 x 2"});
  auto zero = sel;
  zero.weight[3] = 0;
  test::require_throws_with<invalid_argument>(
      [&] { WeightedHardLift<double>(LiftWeighting::divide).forward(zero, Matrix<double>::Zero(2, 2), x); },
      {"WeightedHardLift", "node 3 has weight 0"});
  auto bad = sel;
  bad.assignment[1] = 7;
  test::require_throws_with<invalid_argument>([&] { WeightedHardLift<double>().forward(bad, Matrix<double>::Zero(2, 2), x); },
                                              {"WeightedHardLift", "node 1", "supernode 7"});
}

}  // namespace gnnpool_test_pool_weighted_lift
