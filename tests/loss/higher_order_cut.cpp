// Tests of gnnpool/loss/higher_order_cut.hpp: HigherOrderCutLoss with both motifs against a dense
// reference, its analytic optimum, the mixing weight, gradients, float vs double, errors.

#include <gnnpool/loss/higher_order_cut.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_loss_higher_order_cut {

using gnnpool::HigherOrderCutLoss;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::MotifAdjacency;

namespace {

/// -tr(S^T W S) / (tr(S^T diag(W 1) S) + eps), dense.
double dense_cut(const Matrix<double>& w, const Matrix<double>& s, double eps) {
  const Matrix<double> d = w.rowwise().sum().asDiagonal();
  return -(s.transpose() * w * s).trace() / ((s.transpose() * d * s).trace() + eps);
}

}  // namespace

TEMPLATE_TEST_CASE("HigherOrderCutLoss mixes the cut of A and of the motif matrix, as a dense computation",
                   "[loss][higher_order_cut]", float, double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(3, 91);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 92);
  for (const auto motif : {MotifAdjacency::walks, MotifAdjacency::triangles})
    for (const double alpha : {0.0, 0.3, 1.0}) {
      double expected = 0;
      for (Index b = 0; b < batch.num_graphs(); ++b) {
        const Index lo = batch.graph_begin(b), n = batch.graph_size(b);
        const Matrix<double> a = Matrix<double>(batch.adj.template cast<double>()).block(lo, lo, n, n);
        const Matrix<double> s = sel.s.middleRows(lo, n).template cast<double>();
        const Matrix<double> m = motif == MotifAdjacency::walks ? Matrix<double>(a * a * a)
                                                                : Matrix<double>(a.cwiseProduct(a * a));
        expected += (1 - alpha) * dense_cut(a, s, 1e-8) + alpha * dense_cut(m, s, 1e-8);
      }
      expected /= 3.0 * static_cast<double>(batch.num_graphs());
      const HigherOrderCutLoss<TestType> loss(TestType(1), {.alpha = alpha, .motif = motif});
      CHECK(loss.name() == "hosc_loss");
      CHECK(static_cast<double>(gnnpool::test::loss_value(loss, batch, sel)) ==
            Approx(expected).epsilon(gnnpool::numeric<TestType>::compare_tolerance()));
    }
}

TEST_CASE("Oracle: HigherOrderCutLoss is -1/K for clusters aligned with the components", "[loss][higher_order_cut][oracles]") {
  // Two 4-cliques (every edge on triangles): S one-hot per clique; both cuts are -1.
  gnnpool::EdgeList edges;
  for (Index c = 0; c < 2; ++c)
    for (Index i = 0; i < 4; ++i)
      for (Index j = i + 1; j < 4; ++j) edges.emplace_back(4 * c + i, 4 * c + j);
  auto batch = gnnpool::make_graph<double>(Matrix<double>::Ones(8, 2), edges);
  gnnpool::SoftSelection<double> sel;
  sel.s = Matrix<double>::Zero(8, 2);
  sel.s.block(0, 0, 4, 1).setOnes();
  sel.s.block(4, 1, 4, 1).setOnes();
  sel.offsets = batch.offsets;
  for (const auto motif : {MotifAdjacency::walks, MotifAdjacency::triangles}) {
    const HigherOrderCutLoss<double> loss(1.0, {.motif = motif, .eps = 0});
    CHECK(gnnpool::test::loss_value(loss, batch, sel) == Approx(-0.5).epsilon(1e-14));
  }
}

TEST_CASE("HigherOrderCutLoss backward matches finite differences (walks and triangles), float matches double",
          "[loss][higher_order_cut][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 101);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 102);
  for (const auto motif : {MotifAdjacency::walks, MotifAdjacency::triangles})
    for (const double alpha : {0.5, 1.0}) {
      const auto check = gnnpool::test::check_loss_policy(
          [&]<typename S>() { return HigherOrderCutLoss<S>(S(0.8), {.alpha = alpha, .motif = motif}); }, batch, sel);
      INFO(check.gradients.log);
      CHECK(check.gradients.ok);
      CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
    }
}

TEST_CASE("HigherOrderCutLoss rejects bad options and a one-way edge for the triangle motif", "[loss][higher_order_cut][errors]") {
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [] { (void)HigherOrderCutLoss<double>(1.0, {.alpha = 1.5}); }, {"HigherOrderCutLoss", "alpha", "1.5"});
  gnnpool::EdgeListOptions directed;
  directed.symmetrize = false;
  auto batch = gnnpool::make_graph<double>(Matrix<double>::Ones(3, 2), gnnpool::EdgeList{{0, 1}, {1, 2}, {2, 1}}, {},
                                           directed);
  const auto sel = gnnpool::test::soft_test_selection(batch, 2, 3);
  HigherOrderCutLoss<double>::Cache cache;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { (void)HigherOrderCutLoss<double>(1.0, {.motif = MotifAdjacency::triangles}).forward(batch, sel, cache); },
      {"HigherOrderCutLoss", "structurally symmetric", "(1, 0) is stored", "(0, 1) is not"});
}

}  // namespace gnnpool_test_loss_higher_order_cut
