// Tests of gnnpool/connect/augmented.hpp: (A + I)^2 without its diagonal on the kept nodes
// against a dense reference, self loops replaced by 1, gradients to the edge weights, errors.

#include <gnnpool/connect/augmented.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "select/score_test_support.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_connect_augmented {

using gnnpool::AugmentedConnect;
using gnnpool::Batch;
using gnnpool::EdgeList;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::SparseMatrix;
using gnnpool::Vector;
using gnnpool::test::require_throws_with;

static_assert(gnnpool::ConnectPolicy<AugmentedConnect<float>, HardSelection<float>>);
static_assert(gnnpool::ConnectPolicy<AugmentedConnect<double>, HardSelection<double>>);

namespace {


/// Dense reference: B = A with diagonal 1, C = B B with zero diagonal, C[perm, perm].
Matrix<double> dense_augmented(const SparseMatrix<double>& adj, const IndexVector& perm) {
  Matrix<double> b(adj);
  b.diagonal().setOnes();
  Matrix<double> c = b * b;
  c.diagonal().setZero();
  const auto m = static_cast<Index>(perm.size());
  Matrix<double> out(m, m);
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < m; ++j) out(i, j) = c(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(j)]);
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("AugmentedConnect joins kept nodes two hops apart, on a path", "[connect][augmented]", float, double) {
  // Path 0-1-2-3-4 with weights 1, 2, 3, 4; keep 4, 2, 0 (score order).
  const std::vector<TestType> w{1, 2, 3, 4};
  const auto g = gnnpool::make_graph<TestType>(Matrix<TestType>::Zero(5, 1), EdgeList{{0, 1}, {1, 2}, {2, 3}, {3, 4}},
                                               std::span<const TestType>(w));
  SparseMatrix<TestType> out;
  typename AugmentedConnect<TestType>::Cache cache;
  AugmentedConnect<TestType>().forward(g, gnnpool::test::node_selection<TestType>({4, 2, 0}, {0, 3}, 5), out, cache);
  // 4 <- 3 <- 2: 4 * 3 = 12;  2 <- 1 <- 0: 2 * 1 = 2; 0 and 4 are four hops apart.
  Matrix<TestType> expected(3, 3);
  expected << 0, 12, 0, 12, 0, 2, 0, 2, 0;
  CHECK(Matrix<TestType>(out) == expected);
  CHECK(out.nonZeros() == 4);
}

TEST_CASE("AugmentedConnect equals the dense ((A + I)^2 - diag)[perm, perm], self loops replaced by 1",
          "[connect][augmented]") {
  gnnpool::testing::RandomGraphOptions options;
  options.weighted = true;
  options.self_loops = true;
  std::vector<Batch<double>> parts{gnnpool::testing::random_graph<double>(14, 20, 2, 3, options),
                                   gnnpool::testing::random_graph<double>(0, 0, 2, 4, options),
                                   gnnpool::testing::random_graph<double>(11, 15, 2, 5, options)};
  const auto g = gnnpool::concatenate<double>(parts);
  REQUIRE(Matrix<double>(g.adj).diagonal().cwiseAbs().sum() > 0);  // there are self loops to replace
  const IndexVector perm{5, 0, 13, 2, 9, 7, 16, 24, 14, 19};
  const auto sel = gnnpool::test::node_selection<double>(perm, {0, 6, 6, 10}, 25);
  SparseMatrix<double> out;
  AugmentedConnect<double>::Cache cache;
  AugmentedConnect<double>().forward(g, sel, out, cache);
  const Matrix<double> expected = dense_augmented(g.adj, perm);
  CHECK((Matrix<double>(out) - expected).cwiseAbs().maxCoeff() < 1e-12);
  // Positive weights: an entry is stored exactly where a path of length <= 2 exists.
  CHECK(out.nonZeros() == (expected.array() != 0).count());
  for (Index i = 0; i < out.rows(); ++i) CHECK(out.coeff(i, i) == 0.0);
}

TEST_CASE("AugmentedConnect backward: gradients to every stored weight, zero on self loops",
          "[connect][augmented][gradcheck]") {
  gnnpool::testing::RandomGraphOptions options;
  options.weighted = true;
  options.self_loops = true;
  auto g = gnnpool::testing::random_graph<double>(16, 28, 2, 9, options);
  const auto sel = gnnpool::test::node_selection<double>({3, 8, 0, 15, 11, 6, 9}, {0, 7}, 16);
  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"adj", g.adj.valuePtr(), g.adj.nonZeros()});
  problem.forward = [&](std::vector<double>& out, std::vector<Index>& discrete) {
    SparseMatrix<double> a;
    AugmentedConnect<double>::Cache cache;
    AugmentedConnect<double>().forward(g, sel, a, cache);
    out.insert(out.end(), a.valuePtr(), a.valuePtr() + a.nonZeros());
    discrete.insert(discrete.end(), a.innerIndexPtr(), a.innerIndexPtr() + a.nonZeros());
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    SparseMatrix<double> a;
    AugmentedConnect<double>::Cache cache;
    AugmentedConnect<double>().forward(g, sel, a, cache);
    gnnpool::BatchGrad<double> din{Matrix<double>::Zero(16, 2), Vector<double>::Zero(g.adj.nonZeros())};
    Vector<double> dsel = Vector<double>::Zero(16);
    AugmentedConnect<double>().backward(g, sel, cache, Eigen::Map<const Vector<double>>(up.data(), a.nonZeros()), din, dsel);
    CHECK(dsel.isZero());
    for (Index i = 0; i < g.adj.rows(); ++i)  // stored self loops are replaced by 1: no gradient
      for (auto p = g.adj.outerIndexPtr()[i]; p < g.adj.outerIndexPtr()[i + 1]; ++p)
        if (g.adj.innerIndexPtr()[p] == i) CHECK(din.adj[p] == 0.0);
    gnnpool::testing::copy_gradient(din.adj, grads[0]);
  };
  const auto result = gnnpool::testing::check_gradients(problem);
  INFO(result.log);
  CHECK(result.ok);
}

TEST_CASE("AugmentedConnect rejects merging selections and mismatched gradients", "[connect][augmented][errors]") {
  const auto g = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 1}, {1, 2}});
  SparseMatrix<double> out;
  AugmentedConnect<double>::Cache cache;
  auto sel = gnnpool::test::node_selection<double>({0, 2}, {0, 2}, 3);
  sel.assignment[1] = 1;
  require_throws_with<gnnpool::invalid_argument>([&] { AugmentedConnect<double>().forward(g, sel, out, cache); },
                                                 {"AugmentedConnect", "node 1", "does not merge"});
  AugmentedConnect<double>().forward(g, gnnpool::test::node_selection<double>({0, 2}, {0, 2}, 3), out, cache);
  CHECK(out.nonZeros() == 2);
  gnnpool::BatchGrad<double> din{Matrix<double>::Zero(3, 1), Vector<double>::Zero(g.adj.nonZeros())};
  Vector<double> dsel;
  require_throws_with<gnnpool::shape_error>(
      [&] { AugmentedConnect<double>().backward(g, gnnpool::test::node_selection<double>({0, 2}, {0, 2}, 3), cache, Vector<double>::Zero(5), din, dsel); },
      {"AugmentedConnect", "dadj_out has 5 entries", "stores 2"});
}

}  // namespace gnnpool_test_connect_augmented
