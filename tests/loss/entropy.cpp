// Tests of gnnpool/loss/entropy.hpp: EntropyLoss in its three reductions, gradients, float vs
// double, one-hot and uniform values, errors.

#include <gnnpool/loss/entropy.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_loss_entropy {

using gnnpool::EntropyLoss;
using gnnpool::EntropyLossOptions;
using gnnpool::EntropyLossReduction;
using gnnpool::Index;
using gnnpool::Matrix;

TEMPLATE_TEST_CASE("EntropyLoss averages -sum s log(s + 1e-15) as PyG, per node or per graph", "[loss][entropy]",
                   float, double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(2, 71);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 72);
  Eigen::VectorXd h(batch.num_nodes());
  for (Index i = 0; i < h.size(); ++i) {
    h[i] = 0;
    for (Index q = 0; q < 3; ++q) {
      const double s = static_cast<double>(sel.s(i, q));
      h[i] -= s * std::log(s + 1e-15);
    }
  }
  const double nb = 4, nmax = 7;
  double per_graph = 0;
  for (Index b = 0; b < batch.num_graphs(); ++b)
    per_graph += h.segment(batch.graph_begin(b), batch.graph_size(b)).mean() / nb;
  const double tol = gnnpool::numeric<TestType>::compare_tolerance();
  CHECK(static_cast<double>(gnnpool::test::loss_value(EntropyLoss<TestType>(), batch, sel)) ==
        Approx(h.sum() / (nb * nmax)).epsilon(tol));
  CHECK(static_cast<double>(gnnpool::test::loss_value(
            EntropyLoss<TestType>(TestType(1), EntropyLossOptions{EntropyLossReduction::pyg, 10}), batch, sel)) ==
        Approx(h.sum() / (nb * 10)).epsilon(tol));
  CHECK(static_cast<double>(gnnpool::test::loss_value(
            EntropyLoss<TestType>(TestType(1), EntropyLossOptions{EntropyLossReduction::nodes, 0}), batch, sel)) ==
        Approx(h.mean()).epsilon(tol));
  CHECK(static_cast<double>(gnnpool::test::loss_value(
            EntropyLoss<TestType>(TestType(1), EntropyLossOptions{EntropyLossReduction::per_graph, 0}), batch, sel)) ==
        Approx(per_graph).epsilon(tol));
  CHECK(EntropyLoss<TestType>().name() == "ent_loss");
}

TEST_CASE("EntropyLoss backward matches finite differences, float matches double", "[loss][entropy][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 81);
  const auto sel = gnnpool::test::soft_test_selection(batch, 4, 82);
  for (const auto reduction : {EntropyLossReduction::pyg, EntropyLossReduction::nodes, EntropyLossReduction::per_graph}) {
    const auto check = gnnpool::test::check_loss_policy(
        [reduction]<typename S>() { return EntropyLoss<S>(S(1.5), EntropyLossOptions{reduction, 0}); }, batch, sel,
        {.s = true, .x = false, .adj = false});
    INFO(check.gradients.log);
    CHECK(check.gradients.ok);
    CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
  }
}

TEST_CASE("EntropyLoss backward matches finite differences over several row chunks", "[loss][entropy][gradcheck]") {
  // 1 100 nodes: the forward's sum and the backward's rows run as two fixed chunks of 1 024 and
  // 76 rows (detail::parallel_sum), the path the small batch above never takes.
  const auto batch = gnnpool::testing::random_graph<double>(1100, 3300, 2, 83);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 84);
  const auto check = gnnpool::test::check_loss_policy(
      []<typename S>() { return EntropyLoss<S>(S(0.5), EntropyLossOptions{EntropyLossReduction::nodes, 0}); }, batch,
      sel, {.s = true, .x = false, .adj = false});
  INFO(check.gradients.log);
  CHECK(check.gradients.ok);
  CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("EntropyLoss rejects a negative padded size", "[loss][entropy][errors]") {
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [] { EntropyLoss<double>(1.0, EntropyLossOptions{EntropyLossReduction::pyg, -2}); }, {"EntropyLoss", "-2"});
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 1);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 2);
  EntropyLoss<double>::Cache cache;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { (void)EntropyLoss<double>(1.0, EntropyLossOptions{EntropyLossReduction::pyg, 5}).forward(batch, sel, cache); },
      {"EntropyLoss", "padded_size 5", "7 nodes"});
  // Backward writes dS row by row through its data: a wrongly shaped dS is an error, not a write
  // outside it.
  const EntropyLoss<double> loss;
  (void)loss.forward(batch, sel, cache);
  gnnpool::BatchGrad<double> din;
  Matrix<double> dsel = Matrix<double>::Zero(sel.s.rows() - 1, sel.s.cols());
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { loss.backward(batch, sel, cache, 1.0, din, dsel); }, {"EntropyLoss backward", "dS is " + std::to_string(sel.s.rows() - 1) + " x 3",
                                       "S is " + std::to_string(sel.s.rows()) + " x 3"});
  dsel.setZero(sel.s.rows(), sel.s.cols());
  loss.backward(batch, sel, cache, 1.0, din, dsel);
  CHECK(dsel.allFinite());
  CHECK(dsel.norm() > 0);
}

}  // namespace gnnpool_test_loss_entropy
