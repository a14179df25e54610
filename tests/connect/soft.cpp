// Tests of gnnpool/connect/soft.hpp: SoftConnect (S^T A S per graph, raw or PyG-normalised)
// against dense formulas, its block structure, gradients, degenerate clusters, from_dense_batch
// and the errors.

#include <gnnpool/connect/soft.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_connect_soft {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::SoftConnect;
using gnnpool::SoftConnectNormalization;

namespace {

Matrix<double> dense_connect(const Matrix<double>& a, const Matrix<double>& s, SoftConnectNormalization norm) {
  Matrix<double> r = s.transpose() * a * s;
  if (norm == SoftConnectNormalization::none) return r;
  r.diagonal().setZero();
  const Eigen::VectorXd d = (r.rowwise().sum().array().sqrt() + 1e-15).matrix();
  return d.cwiseInverse().asDiagonal() * r * d.cwiseInverse().asDiagonal();
}

}  // namespace

TEMPLATE_TEST_CASE("SoftConnect returns S^T A S per graph as dense K x K CSR blocks", "[connect][soft]", float, double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(2, 151);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 152);
  for (const auto norm : {SoftConnectNormalization::none, SoftConnectNormalization::symmetric}) {
    const SoftConnect<TestType> connect(norm);
    CHECK(connect.normalization() == norm);
    gnnpool::SparseMatrix<TestType> out;
    typename SoftConnect<TestType>::Cache cache;
    connect.forward(batch, sel, out, cache);
    REQUIRE(out.rows() == 12);
    REQUIRE(out.nonZeros() == 36);
    REQUIRE(out.isCompressed());
    const Matrix<double> dense = Matrix<TestType>(out).template cast<double>();
    for (Index b = 0; b < batch.num_graphs(); ++b) {
      const Index lo = batch.graph_begin(b), n = batch.graph_size(b);
      const Matrix<double> a = Matrix<double>(batch.adj.template cast<double>()).block(lo, lo, n, n);
      const Matrix<double> expected = dense_connect(a, sel.s.middleRows(lo, n).template cast<double>(), norm);
      CHECK(gnnpool::test::max_relative_error(dense.block(3 * b, 3 * b, 3, 3), expected) <
            gnnpool::numeric<TestType>::compare_tolerance());
      for (Index c = 0; c < 12; ++c)
        if (c / 3 != b) CHECK(dense.block(3 * b, c, 3, 1).isZero(0));
    }
  }
}

TEST_CASE("SoftConnect backward matches finite differences, float matches double", "[connect][soft][gradcheck]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 161);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 162);
  for (const auto norm : {SoftConnectNormalization::none, SoftConnectNormalization::symmetric}) {
    const auto check = gnnpool::test::check_policy(
        [norm]<typename S>() { return SoftConnect<S>(norm); },
        [](const auto& connect, const auto& b, const auto& s, std::vector<double>& out, auto& cache) {
          gnnpool::SparseMatrix<typename std::decay_t<decltype(b)>::Scalar> a;
          connect.forward(b, s, a, cache);
          for (Index e = 0; e < a.nonZeros(); ++e) out.push_back(static_cast<double>(a.valuePtr()[e]));
        },
        [](const auto& connect, const auto& b, const auto& s, const auto& cache, const auto& g, auto& din, auto& ds) {
          connect.backward(b, s, cache, g, din, ds);
        },
        batch, sel, {.s = true, .x = false, .adj = true});
    INFO("normalisation " << static_cast<int>(norm));
    INFO(check.gradients.log);
    CHECK(check.gradients.ok);
    CHECK(check.float_gap < gnnpool::numeric<float>::compare_tolerance());
  }
}

TEST_CASE("SoftConnect: a cluster without outside edges gives 0 and a finite gradient where PyG's is NaN",
          "[connect][soft][degenerate]") {
  // One-hot S on two components: off-diagonal S^T A S is 0, so d = 0 for both clusters.
  auto batch = gnnpool::make_graph<double>(Matrix<double>::Ones(4, 1), gnnpool::EdgeList{{0, 1}, {2, 3}});
  Matrix<double> s(4, 2);
  s << 1, 0, 1, 0, 0, 1, 0, 1;
  const gnnpool::SoftSelection<double> sel{s, batch.offsets};
  const SoftConnect<double> connect(SoftConnectNormalization::symmetric);
  gnnpool::SparseMatrix<double> out;
  SoftConnect<double>::Cache cache;
  connect.forward(batch, sel, out, cache);
  CHECK(Matrix<double>(out).isZero(0));
  gnnpool::BatchGrad<double> din;
  din.adj.setZero(batch.num_edges());
  Matrix<double> ds = Matrix<double>::Zero(4, 2);
  connect.backward(batch, sel, cache, gnnpool::Vector<double>::Ones(4), din, ds);
  CHECK(ds.allFinite());
  CHECK(din.adj.allFinite());
  // PyG differentiates sqrt(d) at d = 0: 1 / (2 sqrt(0)) = inf, times a zero numerator = NaN.
  const double zero = 0.0;
  CHECK(std::isnan(zero * (1.0 / (2.0 * std::sqrt(zero)))));
}

TEST_CASE("from_dense_batch unpads PyG's dense batch and stores every valid pair", "[connect][soft][dense]") {
  // Two graphs padded to 3: graph 0 has 2 nodes, graph 1 has 3.
  Matrix<double> x(6, 1);
  x << 1, 2, 0, 3, 4, 5;
  Matrix<double> adj = Matrix<double>::Zero(6, 3);
  adj(0, 1) = adj(1, 0) = 1;
  adj(3, 2) = adj(5, 0) = 2;
  const bool mask[] = {true, true, false, true, true, true};
  const auto b = gnnpool::from_dense_batch<double>(x, adj, mask, 2);
  CHECK(b.offsets == gnnpool::IndexVector{0, 2, 5});
  CHECK(b.x.col(0).transpose() == (Eigen::RowVectorXd(5) << 1, 2, 3, 4, 5).finished());
  CHECK(b.num_edges() == 4 + 9);
  CHECK(b.adj.coeff(2, 4) == 2.0);
  CHECK(b.adj.coeff(4, 2) == 2.0);
  const auto sparse = gnnpool::from_dense_batch<double>(x, adj, mask, 2, false);
  CHECK(sparse.num_edges() == 4);
  CHECK(Matrix<double>(sparse.adj) == Matrix<double>(b.adj));
  gnnpool::check_batch(b, "test");
}

TEST_CASE("from_dense_batch and SoftConnect reject malformed input", "[connect][soft][errors]") {
  const Matrix<double> x = Matrix<double>::Zero(6, 1);
  Matrix<double> adj = Matrix<double>::Zero(6, 3);
  const bool hole[] = {true, false, true, true, true, true};
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { (void)gnnpool::from_dense_batch<double>(x, adj, hole, 2); }, {"from_dense_batch", "graph 0", "hole"});
  const bool mask[] = {true, true, false, true, true, true};
  adj(2, 0) = 1;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { (void)gnnpool::from_dense_batch<double>(x, adj, mask, 2); }, {"from_dense_batch", "padded pair (2, 0)"});
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { (void)gnnpool::from_dense_batch<double>(x, Matrix<double>::Zero(6, 2), mask, 2); },
      {"from_dense_batch", "6 x 2", "6 x 3"});
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { (void)gnnpool::from_dense_batch<double>(x, adj, mask, 4); }, {"from_dense_batch", "6 rows", "4 graphs"});

  const auto batch = gnnpool::test::soft_test_batch<double>(2, 1);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 2);
  gnnpool::SparseMatrix<double> out;
  SoftConnect<double>::Cache cache;
  const SoftConnect<double> connect;
  connect.forward(batch, sel, out, cache);
  gnnpool::BatchGrad<double> din;
  Matrix<double> ds;
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { connect.backward(batch, sel, cache, gnnpool::Vector<double>::Zero(5), din, ds); },
      {"SoftConnect backward", "5 entries", "36"});
}

}  // namespace gnnpool_test_connect_soft
