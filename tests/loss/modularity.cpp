// Tests of gnnpool/loss/modularity.hpp: ModularityLoss (DMoN's spectral loss) against the dense
// PyG formula, gradients, float vs double, edgeless graphs, errors.

#include <gnnpool/loss/modularity.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_loss_modularity {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ModularityLoss;

TEMPLATE_TEST_CASE("ModularityLoss is PyG's -tr(S^T A S - S^T d d^T S / 2m) / 2m per graph", "[loss][modularity]",
                   float, double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(2, 91);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 92);
  double expected = 0;
  for (Index b = 0; b < batch.num_graphs(); ++b) {
    const Index lo = batch.graph_begin(b), n = batch.graph_size(b);
    const Matrix<double> a = Matrix<double>(batch.adj.template cast<double>()).block(lo, lo, n, n);
    const Matrix<double> s = sel.s.middleRows(lo, n).template cast<double>();
    const Eigen::VectorXd d = a.rowwise().sum();
    const double m = d.sum() / 2;
    if (m == 0) continue;
    const Matrix<double> normalizer = (s.transpose() * d) * (d.transpose() * s) / 2.0 / m;
    expected += -(s.transpose() * a * s - normalizer).trace() / 2.0 / m;
  }
  expected /= static_cast<double>(batch.num_graphs());
  const ModularityLoss<TestType> loss;
  CHECK(loss.name() == "spectral_loss");
  CHECK(static_cast<double>(gnnpool::test::loss_value(loss, batch, sel)) ==
        Approx(expected).epsilon(gnnpool::numeric<TestType>::compare_tolerance()));
}

TEST_CASE("ModularityLoss backward matches finite differences, float matches double", "[loss][modularity][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 101);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 102);
  const auto check = gnnpool::test::check_loss_policy([]<typename S>() { return ModularityLoss<S>(S(1.3)); }, batch, sel);
  INFO(check.gradients.log);
  CHECK(check.gradients.ok);
  CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("ModularityLoss gives 0 with zero gradient on an edgeless graph", "[loss][modularity][degenerate]") {
  const auto batch = gnnpool::make_graph<double>(Matrix<double>::Ones(3, 1), gnnpool::EdgeList{});
  const auto sel = gnnpool::test::soft_test_selection(batch, 2, 3);
  const ModularityLoss<double> loss;
  ModularityLoss<double>::Cache cache;
  CHECK(loss.forward(batch, sel, cache) == 0.0);
  gnnpool::BatchGrad<double> din;
  din.adj.setZero(0);
  Matrix<double> ds = Matrix<double>::Zero(3, 2);
  loss.backward(batch, sel, cache, 1.0, din, ds);
  CHECK(ds.isZero(0));
}

TEST_CASE("ModularityLoss rejects a selection of another batch", "[loss][modularity][errors]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 1);
  const auto other = gnnpool::make_graph<double>(Matrix<double>::Ones(3, 1), gnnpool::EdgeList{});
  const auto sel = gnnpool::test::soft_test_selection(other, 2, 3);
  ModularityLoss<double>::Cache cache;
  gnnpool::test::require_throws_with<gnnpool::shape_error>([&] { (void)ModularityLoss<double>().forward(batch, sel, cache); },
                                                           {"ModularityLoss", "3 x 2", "19 nodes"});
}

}  // namespace gnnpool_test_loss_modularity
