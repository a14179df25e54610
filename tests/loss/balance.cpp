// Tests of gnnpool/loss/balance.hpp: JustBalanceLoss (both square roots) and AsymmetricNormLoss
// against their definitions and analytic optima, their gradients, float vs double, errors.

#include <gnnpool/loss/balance.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_loss_balance {

using gnnpool::AsymmetricNormLoss;
using gnnpool::BalanceSquareRoot;
using gnnpool::Index;
using gnnpool::JustBalanceLoss;
using gnnpool::Matrix;

namespace {

/// One graph of n isolated nodes (the balance losses do not read A) with the given S.
gnnpool::SoftSelection<double> selection_of(const Matrix<double>& s) {
  gnnpool::SoftSelection<double> sel;
  sel.s = s;
  sel.offsets = {0, s.rows()};
  return sel;
}
gnnpool::Batch<double> isolated(Index n) {
  return gnnpool::make_graph<double>(Matrix<double>::Ones(n, 2), gnnpool::EdgeList{});
}
/// n nodes in K equal one-hot clusters.
Matrix<double> balanced_one_hot(Index n, Index k) {
  Matrix<double> s = Matrix<double>::Zero(n, k);
  for (Index i = 0; i < n; ++i) s(i, i % k) = 1;
  return s;
}

}  // namespace

TEMPLATE_TEST_CASE("JustBalanceLoss is -tr(sqrt(S^T S)) / sqrt(n K), mean over graphs", "[loss][balance]", float, double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(3, 31);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 32);
  for (const auto root : {BalanceSquareRoot::elementwise, BalanceSquareRoot::matrix}) {
    double expected = 0;
    for (Index b = 0; b < batch.num_graphs(); ++b) {
      const Matrix<double> s = sel.s.middleRows(batch.graph_begin(b), batch.graph_size(b)).template cast<double>();
      Matrix<double> p = s.transpose() * s;
      double trace = 0;
      if (root == BalanceSquareRoot::elementwise) {
        for (Index q = 0; q < 3; ++q) trace += std::sqrt(p(q, q) + 1e-8);
      } else {
        p.diagonal().array() += 1e-8;
        const Eigen::SelfAdjointEigenSolver<Matrix<double>> eig(p);
        trace = eig.eigenvalues().array().sqrt().sum();
      }
      expected += -trace / std::sqrt(3.0 * static_cast<double>(batch.graph_size(b)));
    }
    expected /= static_cast<double>(batch.num_graphs());
    const JustBalanceLoss<TestType> loss(TestType(1), {.root = root});
    CHECK(loss.name() == "balance_loss");
    CHECK(static_cast<double>(gnnpool::test::loss_value(loss, batch, sel)) ==
          Approx(expected).epsilon(gnnpool::numeric<TestType>::compare_tolerance()));
  }
}

TEST_CASE("Oracles: JustBalanceLoss is -1 for balanced one-hot clusters, -1/sqrt(K) or -1/K for the uniform S",
          "[loss][balance][oracles]") {
  const Index n = 12, k = 4;
  const auto batch = isolated(n);
  const auto uniform = selection_of(Matrix<double>::Constant(n, k, 0.25));
  const auto one_hot = selection_of(balanced_one_hot(n, k));
  const JustBalanceLoss<double> elementwise(1.0, {.eps = 0});
  const JustBalanceLoss<double> matrix(1.0, {.root = BalanceSquareRoot::matrix, .eps = 0});
  CHECK(gnnpool::test::loss_value(elementwise, batch, one_hot) == Approx(-1.0).epsilon(1e-14));
  CHECK(gnnpool::test::loss_value(matrix, batch, one_hot) == Approx(-1.0).epsilon(1e-14));
  CHECK(gnnpool::test::loss_value(elementwise, batch, uniform) == Approx(-0.5).epsilon(1e-14));
  // S^T S has rank 1: its zero eigenvalues come out at round-off size, whose square roots (~1e-8)
  // add to the trace.
  CHECK(gnnpool::test::loss_value(matrix, batch, uniform) == Approx(-0.25).epsilon(1e-7));
  // The one-hot balanced S is the minimum: any random row-stochastic S is above it.
  const auto random = gnnpool::test::soft_test_selection(batch, k, 3);
  CHECK(gnnpool::test::loss_value(elementwise, batch, random) > -1.0);
  CHECK(gnnpool::test::loss_value(matrix, batch, random) > -1.0);
  // Without normalisation: -sum_k |S_:k| = -K sqrt(n / K).
  const JustBalanceLoss<double> raw(1.0, {.normalize = false, .eps = 0});
  CHECK(gnnpool::test::loss_value(raw, batch, one_hot) == Approx(-4.0 * std::sqrt(3.0)).epsilon(1e-14));
}

TEST_CASE("JustBalanceLoss backward matches finite differences (both roots), float matches double",
          "[loss][balance][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 41);
  const auto sel = gnnpool::test::soft_test_selection(batch, 4, 42);
  for (const auto root : {BalanceSquareRoot::elementwise, BalanceSquareRoot::matrix})
    for (const bool normalize : {true, false}) {
      const auto check = gnnpool::test::check_loss_policy(
          [&]<typename S>() { return JustBalanceLoss<S>(S(0.7), {.normalize = normalize, .root = root}); }, batch, sel);
      INFO(check.gradients.log);
      CHECK(check.gradients.ok);
      CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
    }
}

TEST_CASE("JustBalanceLoss: an empty graph counts 0, where tgp divides by 0", "[loss][balance][degenerate]") {
  auto batch = gnnpool::make_graph<double>(Matrix<double>::Ones(0, 2), gnnpool::EdgeList{});
  gnnpool::SoftSelection<double> sel;
  sel.s.resize(0, 3);
  sel.offsets = {0, 0};
  CHECK(gnnpool::test::loss_value(JustBalanceLoss<double>(), batch, sel) == 0.0);
  CHECK(gnnpool::test::loss_value(JustBalanceLoss<double>(1.0, {.root = BalanceSquareRoot::matrix}), batch, sel) == 0.0);
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [] { (void)JustBalanceLoss<double>(1.0, {.eps = -1}); }, {"JustBalanceLoss", "eps", "-1"});
}

TEMPLATE_TEST_CASE("AsymmetricNormLoss is the asymmetric norm around the 1/K quantile, as tgp", "[loss][balance]", float,
                   double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(3, 51);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 52);
  const Index k = 3;
  double expected = 0;
  for (Index b = 0; b < batch.num_graphs(); ++b) {
    const Index n = batch.graph_size(b);
    const Matrix<double> s = sel.s.middleRows(batch.graph_begin(b), n).template cast<double>();
    const Index r = std::min(n / k, n - 1);
    double sum = 0;
    for (Index q = 0; q < k; ++q) {
      std::vector<double> column(static_cast<std::size_t>(n));
      for (Index i = 0; i < n; ++i) column[static_cast<std::size_t>(i)] = s(i, q);
      std::sort(column.begin(), column.end(), std::greater<>());
      for (Index i = 0; i < n; ++i) {
        const double d = s(i, q) - column[static_cast<std::size_t>(r)];
        sum += d >= 0 ? static_cast<double>(k - 1) * d : -d;
      }
    }
    const double beta = static_cast<double>(n * (k - 1));
    expected += (beta - sum) / beta;
  }
  expected /= static_cast<double>(batch.num_graphs());
  const AsymmetricNormLoss<TestType> loss;
  CHECK(loss.name() == "balance_loss");
  CHECK(static_cast<double>(gnnpool::test::loss_value(loss, batch, sel)) ==
        Approx(expected).epsilon(gnnpool::numeric<TestType>::compare_tolerance()));
}

TEST_CASE("Oracles: AsymmetricNormLoss is 0 for balanced one-hot clusters and 1 for the uniform S",
          "[loss][balance][oracles]") {
  const Index n = 12, k = 3;
  const auto batch = isolated(n);
  const AsymmetricNormLoss<double> loss;
  CHECK(gnnpool::test::loss_value(loss, batch, selection_of(balanced_one_hot(n, k))) == Approx(0.0).margin(1e-15));
  CHECK(gnnpool::test::loss_value(loss, batch, selection_of(Matrix<double>::Constant(n, k, 1.0 / 3))) ==
        Approx(1.0).epsilon(1e-15));
  // All nodes in one cluster: as unbalanced as the uniform S.
  Matrix<double> all_in_one = Matrix<double>::Zero(n, k);
  all_in_one.col(0).setOnes();
  CHECK(gnnpool::test::loss_value(loss, batch, selection_of(all_in_one)) == Approx(1.0).epsilon(1e-15));
  // K = 1: no balance to ask for.
  CHECK(gnnpool::test::loss_value(loss, batch, selection_of(Matrix<double>::Ones(n, 1))) == 0.0);
}

TEST_CASE("AsymmetricNormLoss backward matches finite differences (the quantile entry included)",
          "[loss][balance][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 61);
  for (const Index k : {2, 3, 5}) {
    const auto sel = gnnpool::test::soft_test_selection(batch, k, 62 + static_cast<std::uint64_t>(k));
    const auto check =
        gnnpool::test::check_loss_policy([]<typename S>() { return AsymmetricNormLoss<S>(S(1.3)); }, batch, sel);
    INFO(check.gradients.log);
    CHECK(check.gradients.ok);
    CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
  }
}

TEST_CASE("AsymmetricNormLoss breaks ties in a column by the lower node", "[loss][balance]") {
  // Two equal candidates for the quantile: the gradient goes to the lower row, deterministically.
  const auto batch = isolated(4);
  Matrix<double> s(4, 2);
  s << 0.9, 0.1, 0.5, 0.5, 0.5, 0.5, 0.2, 0.8;
  const auto sel = selection_of(s);
  AsymmetricNormLoss<double>::Cache cache;
  (void)AsymmetricNormLoss<double>().forward(batch, sel, cache);
  // r = floor(4 / 2) = 2; column 0 ranked (0.9 @0, 0.5 @1, 0.5 @2, 0.2 @3): position 2 is row 2;
  // column 1 ranked (0.8 @3, 0.5 @1, 0.5 @2, 0.1 @0): row 2 as well.
  CHECK(cache.quantile_row[0] == 2);
  CHECK(cache.quantile_row[1] == 2);
}

TEST_CASE("AsymmetricNormLoss backward rejects a cache of another forward", "[loss][balance][errors]") {
  // The cache's quantile rows index S: a cache of a smaller batch, or one whose row lies outside
  // its graph, is refused before any is read.
  const auto batch = isolated(4);
  Matrix<double> s(4, 2);
  s << 0.9, 0.1, 0.5, 0.5, 0.5, 0.5, 0.2, 0.8;
  const auto sel = selection_of(s);
  const AsymmetricNormLoss<double> loss;
  AsymmetricNormLoss<double>::Cache cache;
  (void)loss.forward(batch, sel, cache);
  Matrix<double> ds = Matrix<double>::Zero(4, 2);
  gnnpool::BatchGrad<double> din{Matrix<double>::Zero(4, 1), gnnpool::Vector<double>::Zero(batch.adj.nonZeros())};
  AsymmetricNormLoss<double>::Cache short_cache = cache;
  short_cache.quantile_row.pop_back();
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { loss.backward(batch, sel, short_cache, 1.0, din, ds); },
      {"AsymmetricNormLoss backward", "1 quantile entries", "1 graphs of 2 clusters"});
  AsymmetricNormLoss<double>::Cache outside = cache;
  outside.quantile_row[1] = 7;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { loss.backward(batch, sel, outside, 1.0, din, ds); },
      {"AsymmetricNormLoss backward", "graph 0, column 1 is row 7", "0 .. 3"});
  CHECK(ds.isZero());
}

}  // namespace gnnpool_test_loss_balance
