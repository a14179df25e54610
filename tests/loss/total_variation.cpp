// Tests of gnnpool/loss/total_variation.hpp: TotalVariationLoss against its definition and
// analytic values, zero-weight entries, its gradients, float vs double.

#include <gnnpool/loss/total_variation.hpp>

#include "support/soft.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_loss_total_variation {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::TotalVariationLoss;

TEMPLATE_TEST_CASE("TotalVariationLoss is sum_ij A_ij |S_i - S_j|_1 / (2 E_b), mean over graphs", "[loss][total_variation]",
                   float, double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(3, 71);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 72);
  double expected = 0;
  for (Index b = 0; b < batch.num_graphs(); ++b) {
    const Index lo = batch.graph_begin(b), n = batch.graph_size(b);
    const Matrix<double> a = Matrix<double>(batch.adj.template cast<double>()).block(lo, lo, n, n);
    const Matrix<double> s = sel.s.middleRows(lo, n).template cast<double>();
    double sum = 0;
    Index edges = 0;
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j)
        if (a(i, j) != 0) {
          sum += a(i, j) * (s.row(i) - s.row(j)).cwiseAbs().sum();
          ++edges;
        }
    expected += sum / (2.0 * static_cast<double>(std::max<Index>(edges, 1)));
  }
  expected /= static_cast<double>(batch.num_graphs());
  const TotalVariationLoss<TestType> loss;
  CHECK(loss.name() == "total_variation_loss");
  CHECK(static_cast<double>(gnnpool::test::loss_value(loss, batch, sel)) ==
        Approx(expected).epsilon(gnnpool::numeric<TestType>::compare_tolerance()));
}

TEST_CASE("Oracles: TotalVariationLoss is 0 on component-aligned clusters and w on one cut edge",
          "[loss][total_variation][oracles]") {
  // Two triangles: S one-hot per triangle gives 0.
  auto batch = gnnpool::make_graph<double>(Matrix<double>::Ones(6, 2),
                                           gnnpool::EdgeList{{0, 1}, {1, 2}, {2, 0}, {3, 4}, {4, 5}, {5, 3}});
  gnnpool::SoftSelection<double> sel;
  sel.s = Matrix<double>::Zero(6, 2);
  sel.s.block(0, 0, 3, 1).setOnes();
  sel.s.block(3, 1, 3, 1).setOnes();
  sel.offsets = batch.offsets;
  const TotalVariationLoss<double> loss;
  CHECK(gnnpool::test::loss_value(loss, batch, sel) == 0.0);
  // One edge of weight w between two clusters: (2 w |e_0 - e_1|_1) / (2 * 2) = w.
  const double w = 1.75;
  const std::vector<double> weights{w};
  auto edge = gnnpool::make_graph<double>(Matrix<double>::Ones(2, 2), gnnpool::EdgeList{{0, 1}}, weights);
  gnnpool::SoftSelection<double> cut;
  cut.s = Matrix<double>::Identity(2, 2);
  cut.offsets = edge.offsets;
  CHECK(gnnpool::test::loss_value(loss, edge, cut) == Approx(w).epsilon(1e-15));
}

TEST_CASE("TotalVariationLoss: entries stored with weight 0 are not edges and get no gradient", "[loss][total_variation]") {
  auto batch = gnnpool::make_graph<double>(Matrix<double>::Ones(3, 2), gnnpool::EdgeList{{0, 1}, {1, 2}});
  batch.adj.coeffRef(1, 2) = 0;  // stored, weight 0
  batch.adj.coeffRef(2, 1) = 0;
  auto sel = gnnpool::test::soft_test_selection(batch, 2, 5);
  const TotalVariationLoss<double> loss;
  TotalVariationLoss<double>::Cache cache;
  const double value = loss.forward(batch, sel, cache);
  CHECK(value == Approx((sel.s.row(0) - sel.s.row(1)).cwiseAbs().sum() / 2.0).epsilon(1e-15));  // 2 entries, E = 2
  gnnpool::BatchGrad<double> din;
  din.x.setZero(3, 2);
  din.adj.setZero(batch.adj.nonZeros());
  Matrix<double> ds = Matrix<double>::Zero(3, 2);
  loss.backward(batch, sel, cache, 1.0, din, ds);
  CHECK(din.adj[2] == 0.0);  // (1, 2)
  CHECK(din.adj[3] == 0.0);  // (2, 1)
  CHECK(ds.row(2).isZero(0));
}

TEST_CASE("TotalVariationLoss backward matches finite differences, float matches double",
          "[loss][total_variation][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 81);
  const auto sel = gnnpool::test::soft_test_selection(batch, 4, 82);
  const auto check = gnnpool::test::check_loss_policy([]<typename S>() { return TotalVariationLoss<S>(S(0.6)); }, batch, sel);
  INFO(check.gradients.log);
  CHECK(check.gradients.ok);
  CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
}

}  // namespace gnnpool_test_loss_total_variation
