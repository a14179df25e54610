// Tests of gnnpool/pool/soft_lift.hpp: SoftLift (X = S X' per graph), its gradients and errors.

#include <gnnpool/core/concepts.hpp>
#include <gnnpool/pool/soft_lift.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_soft_lift {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::SoftLift;

static_assert(gnnpool::LiftPolicy<SoftLift<float>, gnnpool::SoftSelection<float>>);
static_assert(gnnpool::LiftPolicy<SoftLift<double>, gnnpool::SoftSelection<double>>);

TEMPLATE_TEST_CASE("SoftLift gives every node the S-weighted mix of its graph's supernodes", "[pool][soft_lift]", float,
                   double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(1, 501);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 502);
  const Matrix<TestType> xp = gnnpool::testing::random_features<TestType>(12, 2, 503);
  Matrix<TestType> x;
  SoftLift<TestType>().forward(sel, xp, x);
  REQUIRE(x.rows() == 19);
  for (Index b = 0; b < 4; ++b)
    CHECK(gnnpool::test::max_relative_error(x.middleRows(batch.graph_begin(b), batch.graph_size(b)),
                                            sel.s.middleRows(batch.graph_begin(b), batch.graph_size(b)) *
                                                xp.middleRows(3 * b, 3)) < gnnpool::numeric<TestType>::compare_tolerance());
  // A one-hot S copies its supernode's features.
  gnnpool::SoftSelection<TestType> hard{Matrix<TestType>::Zero(19, 3), batch.offsets};
  hard.s.col(1).setOnes();
  SoftLift<TestType>().forward(hard, xp, x);
  CHECK(x.row(0) == xp.row(1));
  CHECK(x.row(18) == xp.row(10));
}

TEST_CASE("SoftLift backward matches finite differences for X' and S", "[pool][soft_lift][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(1, 511);
  auto sel = gnnpool::test::soft_test_selection(batch, 3, 512);
  Matrix<double> xp = gnnpool::testing::random_features<double>(12, 2, 513);
  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"x_pooled", xp.data(), xp.size()});
  problem.variables.push_back({"s", sel.s.data(), sel.s.size()});
  problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
    Matrix<double> x;
    SoftLift<double>().forward(sel, xp, x);
    gnnpool::testing::append(x, out);
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    const Matrix<double> dx = Eigen::Map<const Matrix<double>>(up.data(), 19, 2);
    Matrix<double> dxp = Matrix<double>::Constant(12, 2, std::nan(""));
    Matrix<double> ds = Matrix<double>::Zero(19, 3);
    SoftLift<double>().backward(sel, xp, dx, dxp, ds);
    gnnpool::testing::copy_gradient(dxp, grads[0]);
    gnnpool::testing::copy_gradient(ds, grads[1]);
  };
  const auto r = gnnpool::testing::check_gradients(problem);
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("SoftLift rejects pooled features and gradients of the wrong shape", "[pool][soft_lift][errors]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(1, 1);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 2);
  Matrix<double> x, dxp, ds = Matrix<double>::Zero(19, 3);
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { SoftLift<double>().forward(sel, Matrix<double>::Zero(10, 2), x); }, {"SoftLift", "10 rows", "12 supernodes"});
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { SoftLift<double>().backward(sel, Matrix<double>::Zero(12, 2), Matrix<double>::Zero(19, 3), dxp, ds); },
      {"SoftLift backward", "19 x 3", "19 x 2"});
}

}  // namespace gnnpool_test_pool_soft_lift
