// Tests of gnnpool/pool/hard_lift.hpp: unpooling of node selections (TopK) and of clusterings
// (every member receives its supernode's row), the scatter-add backward, errors.

#include <gnnpool/pool/hard_lift.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_hard_lift {

using gnnpool::HardLift;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::Vector;
using gnnpool::test::require_throws_with;

static_assert(gnnpool::LiftPolicy<HardLift<float>, HardSelection<float>>);
static_assert(gnnpool::LiftPolicy<HardLift<double>, HardSelection<double>>);

namespace {

/// Node selection of 5 nodes keeping 3 then 0 (TopK-like).
template <typename Scalar>
HardSelection<Scalar> topk_like() {
  HardSelection<Scalar> sel;
  sel.assignment = {1, -1, -1, 0, -1};
  sel.representative = {3, 0};
  sel.weight = Vector<Scalar>::Constant(5, Scalar(0.5));
  sel.offsets = {0, 2};
  return sel;
}

/// Clustering of 6 nodes into 3 supernodes {0, 2}, {1, 4, 5}, {3} (Graclus / k-MIS-like).
template <typename Scalar>
HardSelection<Scalar> clusters() {
  HardSelection<Scalar> sel;
  sel.assignment = {0, 1, 0, 2, 1, 1};
  sel.representative = {0, 1, 3};
  sel.weight = Vector<Scalar>::Ones(6);
  sel.offsets = {0, 3};
  return sel;
}

}  // namespace

TEMPLATE_TEST_CASE("HardLift scatters pooled rows back, zeros for dropped nodes", "[pool][hard_lift]", float, double) {
  Matrix<TestType> xp(2, 2);
  xp << 1, 2, 3, 4;
  Matrix<TestType> x;
  HardLift<TestType>().forward(topk_like<TestType>(), xp, x);
  Matrix<TestType> expected(5, 2);
  expected << 3, 4, 0, 0, 0, 0, 1, 2, 0, 0;
  CHECK(x == expected);

  Matrix<TestType> dx(5, 2);
  dx << 1, 1, 9, 9, 9, 9, 2, 3, 9, 9;
  Matrix<TestType> dxp;
  Vector<TestType> dsel = Vector<TestType>::Zero(5);
  HardLift<TestType>().backward(topk_like<TestType>(), xp, dx, dxp, dsel);
  Matrix<TestType> dexp(2, 2);
  dexp << 2, 3, 1, 1;
  CHECK(dxp == dexp);
  CHECK(dsel.isZero());  // the lift does not read the weights
}

TEMPLATE_TEST_CASE("HardLift copies a supernode's row to every member of its cluster", "[pool][hard_lift]", float, double) {
  Matrix<TestType> xp(3, 1);
  xp << 10, 20, 30;
  Matrix<TestType> x;
  HardLift<TestType>().forward(clusters<TestType>(), xp, x);
  Matrix<TestType> expected(6, 1);
  expected << 10, 20, 10, 30, 20, 20;
  CHECK(x == expected);
  Matrix<TestType> dx(6, 1);
  dx << 1, 2, 3, 4, 5, 6;
  Matrix<TestType> dxp;
  gnnpool::Vector<TestType> dsel;
  HardLift<TestType>().backward(clusters<TestType>(), xp, dx, dxp, dsel);
  Matrix<TestType> dexp(3, 1);
  dexp << 4, 13, 4;
  CHECK(dxp == dexp);
}

TEST_CASE("HardLift backward passes the gradient check", "[pool][hard_lift][gradcheck]") {
  for (const auto& sel : {topk_like<double>(), clusters<double>()}) {
    Matrix<double> xp = Matrix<double>::Random(sel.num_supernodes(), 3);
    gnnpool::testing::GradCheckProblem problem;
    problem.variables.push_back({"x_pooled", xp.data(), xp.size()});
    problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
      Matrix<double> x;
      HardLift<double>().forward(sel, xp, x);
      gnnpool::testing::append(x, out);
      return 0.0;
    };
    problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
      const Matrix<double> dx = Eigen::Map<const Matrix<double>>(up.data(), sel.num_nodes(), 3);
      Matrix<double> dxp;
      gnnpool::Vector<double> dsel;
      HardLift<double>().backward(sel, xp, dx, dxp, dsel);
      gnnpool::testing::copy_gradient(dxp, grads[0]);
    };
    const auto result = gnnpool::testing::check_gradients(problem);
    INFO(result.log);
    CHECK(result.ok);
  }
}

TEST_CASE("HardLift rejects pooled rows or gradients that do not fit the selection", "[pool][hard_lift][errors]") {
  Matrix<double> x, dxp;
  require_throws_with<gnnpool::shape_error>([&] { HardLift<double>().forward(topk_like<double>(), Matrix<double>::Zero(3, 2), x); },
                                            {"HardLift", "x_pooled has 3 rows", "2 supernodes"});
  gnnpool::Vector<double> dsel;
  require_throws_with<gnnpool::shape_error>([&] { HardLift<double>().backward(topk_like<double>(), Matrix<double>::Zero(2, 2), Matrix<double>::Zero(4, 2), dxp, dsel); },
                                            {"HardLift", "dx_out has 4 rows", "covers 5 nodes"});
  auto bad = topk_like<double>();
  bad.assignment[1] = 7;
  require_throws_with<gnnpool::invalid_argument>([&] { HardLift<double>().forward(bad, Matrix<double>::Zero(2, 2), x); },
                                                 {"HardLift", "node 1", "supernode 7", "2 supernodes"});
}

}  // namespace gnnpool_test_pool_hard_lift
