// Tests of gnnpool/loss/orthogonality.hpp: OrthogonalityLoss against its definition, bounds,
// gradients, float vs double and the degenerate cases.

#include <gnnpool/loss/orthogonality.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_loss_orthogonality {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::OrthogonalityLoss;

TEMPLATE_TEST_CASE("OrthogonalityLoss is the mean of ||S^T S / ||S^T S|| - I / sqrt(K)||", "[loss][orthogonality]",
                   float, double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(3, 31);
  const auto sel = gnnpool::test::soft_test_selection(batch, 4, 32);
  double expected = 0;
  for (Index b = 0; b < batch.num_graphs(); ++b) {
    const Matrix<double> s = sel.s.middleRows(batch.graph_begin(b), batch.graph_size(b)).template cast<double>();
    const Matrix<double> p = s.transpose() * s;
    expected += (p / p.norm() - Matrix<double>::Identity(4, 4) / 2.0).norm();
  }
  expected /= static_cast<double>(batch.num_graphs());
  const OrthogonalityLoss<TestType> loss;
  CHECK(loss.name() == "ortho_loss");
  const double value = static_cast<double>(gnnpool::test::loss_value(loss, batch, sel));
  CHECK(value == Approx(expected).epsilon(gnnpool::numeric<TestType>::compare_tolerance()));
  CHECK(value >= 0.0);
  CHECK(value <= std::sqrt(2.0 - 2.0 / 2.0) + 1e-6);
}

TEST_CASE("OrthogonalityLoss backward matches finite differences, float matches double",
          "[loss][orthogonality][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 41);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 42);
  const auto check = gnnpool::test::check_loss_policy([]<typename S>() { return OrthogonalityLoss<S>(S(2)); }, batch,
                                                      sel, {.s = true, .x = false, .adj = false});
  INFO(check.gradients.log);
  CHECK(check.gradients.ok);
  CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("OrthogonalityLoss: an empty graph counts 0 and a perfect S has zero subgradient",
          "[loss][orthogonality][degenerate]") {
  // Graph 0: two nodes one-hot on two different clusters (l = 0 exactly); graph 1: empty.
  gnnpool::Batch<double> batch = gnnpool::make_graph<double>(Matrix<double>::Ones(2, 1), gnnpool::EdgeList{{0, 1}});
  batch.offsets = {0, 2, 2};
  gnnpool::SoftSelection<double> sel;
  sel.s = Matrix<double>::Identity(2, 2);
  sel.offsets = batch.offsets;
  const OrthogonalityLoss<double> loss;
  OrthogonalityLoss<double>::Cache cache;
  CHECK(loss.forward(batch, sel, cache) == 0.0);
  gnnpool::BatchGrad<double> din;
  Matrix<double> ds = Matrix<double>::Zero(2, 2);
  loss.backward(batch, sel, cache, 1.0, din, ds);
  CHECK(ds.allFinite());
  CHECK(ds.isZero(0));
}

TEST_CASE("OrthogonalityLoss rejects a selection without clusters", "[loss][orthogonality][errors]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 1);
  gnnpool::SoftSelection<double> sel;
  sel.s.resize(batch.num_nodes(), 0);
  sel.offsets = batch.offsets;
  OrthogonalityLoss<double>::Cache cache;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { (void)OrthogonalityLoss<double>().forward(batch, sel, cache); }, {"OrthogonalityLoss", "K = 0"});
}

}  // namespace gnnpool_test_loss_orthogonality
