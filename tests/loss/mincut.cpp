// Tests of gnnpool/loss/mincut.hpp: MinCutLoss against its definition, its gradients, float vs
// double, the edgeless-graph convention and the errors.

#include <gnnpool/loss/mincut.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_loss_mincut {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::MinCutLoss;

TEMPLATE_TEST_CASE("MinCutLoss is the batch mean of -tr(S^T A S) / tr(S^T D S)", "[loss][mincut]", float, double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(3, 11);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 12);
  // Dense per-graph reference.
  double expected = 0;
  for (Index b = 0; b < batch.num_graphs(); ++b) {
    const Index lo = batch.graph_begin(b), n = batch.graph_size(b);
    const Matrix<double> a = Matrix<double>(batch.adj.template cast<double>()).block(lo, lo, n, n);
    const Matrix<double> s = sel.s.middleRows(lo, n).template cast<double>();
    const Matrix<double> d = a.rowwise().sum().asDiagonal();
    const double den = (s.transpose() * d * s).trace();
    if (den != 0) expected += -(s.transpose() * a * s).trace() / den;
  }
  expected /= static_cast<double>(batch.num_graphs());
  const MinCutLoss<TestType> loss;
  CHECK(loss.name() == "mincut_loss");
  CHECK(loss.weight() == TestType(1));
  CHECK(static_cast<double>(gnnpool::test::loss_value(loss, batch, sel)) ==
        Approx(expected).epsilon(gnnpool::numeric<TestType>::compare_tolerance()));
}

TEST_CASE("MinCutLoss backward matches finite differences, float matches double", "[loss][mincut][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 21);
  const auto sel = gnnpool::test::soft_test_selection(batch, 4, 22);
  const auto check = gnnpool::test::check_loss_policy([]<typename S>() { return MinCutLoss<S>(S(0.5)); }, batch, sel);
  INFO(check.gradients.log);
  CHECK(check.gradients.ok);
  CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("MinCutLoss gives 0 with zero gradient on an edgeless graph where PyG divides 0 by 0",
          "[loss][mincut][degenerate]") {
  auto batch = gnnpool::make_graph<double>(Matrix<double>::Ones(4, 2), gnnpool::EdgeList{});
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 5);
  const MinCutLoss<double> loss;
  MinCutLoss<double>::Cache cache;
  const double value = loss.forward(batch, sel, cache);
  CHECK(value == 0.0);
  gnnpool::BatchGrad<double> din;
  din.x.setZero(4, 2);
  din.adj.setZero(0);
  Matrix<double> ds = Matrix<double>::Zero(4, 3);
  loss.backward(batch, sel, cache, 1.0, din, ds);
  CHECK(ds.isZero(0));
  // What PyG computes: -tr(S^T A S) / tr(S^T D S) = -0 / 0.
  const double zero = 0.0;
  CHECK(std::isnan(-zero / zero));
}

TEST_CASE("MinCutLoss rejects a selection that does not fit the batch", "[loss][mincut][errors]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 1);
  auto sel = gnnpool::test::soft_test_selection(batch, 3, 2);
  sel.s.conservativeResize(sel.s.rows() - 1, 3);
  MinCutLoss<double>::Cache cache;
  gnnpool::test::require_throws_with<gnnpool::shape_error>([&] { (void)MinCutLoss<double>().forward(batch, sel, cache); },
                                                           {"MinCutLoss", "18 x 3", "19 nodes"});
  auto sel2 = gnnpool::test::soft_test_selection(batch, 3, 2);
  sel2.offsets = {0, 19};
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { (void)MinCutLoss<double>().forward(batch, sel2, cache); }, {"MinCutLoss", "offsets", "1 graphs", "4 graphs"});
}

}  // namespace gnnpool_test_loss_mincut
