// Tests of gnnpool/connect/induced.hpp: the induced subgraph against a dense reference for
// both output orders, weights and self loops kept, gradients to the edge weights, errors.

#include <gnnpool/connect/induced.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/select/topk.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "select/score_test_support.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_connect_induced {

using gnnpool::Batch;
using gnnpool::EdgeList;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::InducedConnect;
using gnnpool::Matrix;
using gnnpool::NodeOrder;
using gnnpool::ParameterSet;
using gnnpool::SparseMatrix;
using gnnpool::Vector;
using gnnpool::test::require_throws_with;

static_assert(gnnpool::ConnectPolicy<InducedConnect<float>, HardSelection<float>>);
static_assert(gnnpool::ConnectPolicy<InducedConnect<double>, HardSelection<double>>);

namespace {

/// Weighted 5-cycle 0-1-2-3-4-0 (weights 1..5) with a self loop of weight 7 on node 1.
template <typename Scalar>
Batch<Scalar> weighted_cycle() {
  const std::vector<Scalar> w{1, 2, 3, 4, 5, 7};
  return gnnpool::make_graph<Scalar>(Matrix<Scalar>::Zero(5, 1), EdgeList{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {0, 4}, {1, 1}},
                                     std::span<const Scalar>(w));
}


/// One graph of n nodes keeping `perm` in that order.
template <typename Scalar>
HardSelection<Scalar> keep(const IndexVector& perm, Index n) {
  return gnnpool::test::node_selection<Scalar>(perm, {0, static_cast<Index>(perm.size())}, n);
}

template <typename Scalar>
bool columns_sorted(const SparseMatrix<Scalar>& a) {
  for (Index i = 0; i < a.rows(); ++i)
    if (!std::is_sorted(a.innerIndexPtr() + a.outerIndexPtr()[i], a.innerIndexPtr() + a.outerIndexPtr()[i + 1]) ||
        std::adjacent_find(a.innerIndexPtr() + a.outerIndexPtr()[i], a.innerIndexPtr() + a.outerIndexPtr()[i + 1]) !=
            a.innerIndexPtr() + a.outerIndexPtr()[i + 1])
      return false;
  return true;
}

/// Dense A[perm, perm].
Matrix<double> dense_induced(const SparseMatrix<double>& adj, const IndexVector& perm) {
  const Matrix<double> d(adj);
  const auto m = static_cast<Index>(perm.size());
  Matrix<double> out(m, m);
  for (Index a = 0; a < m; ++a)
    for (Index b = 0; b < m; ++b) out(a, b) = d(perm[static_cast<std::size_t>(a)], perm[static_cast<std::size_t>(b)]);
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("InducedConnect keeps the edges between kept nodes with their weights, in the selection's order",
                   "[connect][induced]", float, double) {
  const auto g = weighted_cycle<TestType>();
  SparseMatrix<TestType> out;
  typename InducedConnect<TestType>::Cache cache;
  InducedConnect<TestType>().forward(g, keep<TestType>({4, 1, 0}, 5), out, cache);  // score order
  Matrix<TestType> expected(3, 3);
  expected << 0, 0, 5, 0, 7, 1, 5, 1, 0;
  CHECK(Matrix<TestType>(out) == expected);
  CHECK(out.nonZeros() == 5);
  CHECK(columns_sorted(out));
  InducedConnect<TestType>().forward(g, keep<TestType>({0, 1, 4}, 5), out, cache);  // node order
  expected << 0, 1, 5, 1, 7, 0, 5, 0, 0;
  CHECK(Matrix<TestType>(out) == expected);
  CHECK(columns_sorted(out));
  InducedConnect<TestType>().forward(g, keep<TestType>({}, 5), out, cache);
  CHECK(out.rows() == 0);
  CHECK(out.nonZeros() == 0);
}

TEST_CASE("InducedConnect equals the dense A[perm, perm] on random batches, in both orders", "[connect][induced]") {
  // Degree 5: short pooled rows (insertion sort); degree 60 at ratio 0.8: pooled rows longer
  // than short_row (the counting sorts).
  for (const auto order : {NodeOrder::pyg, NodeOrder::node_index})
  for (const double degree : {5.0, 60.0}) {
    const auto g = gnnpool::test::random_cluster_batch<double>({30, 0, 17, 25, 80}, degree, 3, 21, true);
    ParameterSet<double> params;
    const gnnpool::TopKSelect<double> select(params, "", 3, gnnpool::TopKOptions{degree > 10 ? 0.8 : 0.4, {}, {}, gnnpool::Activation::tanh, 1.0, order});
    params.initialize(3);
    HardSelection<double> sel;
    gnnpool::TopKSelect<double>::Cache sc;
    select.forward(params, g, sel, sc);
    SparseMatrix<double> out;
    InducedConnect<double>::Cache cache;
    InducedConnect<double>().forward(g, sel, out, cache);
    CHECK(columns_sorted(out));
    CHECK(Matrix<double>(out) == dense_induced(g.adj, sel.representative));
    Index longest = 0;
    for (Index a = 0; a < out.rows(); ++a) longest = std::max<Index>(longest, out.outerIndexPtr()[a + 1] - out.outerIndexPtr()[a]);
    CHECK((longest > InducedConnect<double>::short_row) == (degree > 10));
    // Every stored entry between kept nodes is kept: counts agree.
    Index kept = 0;
    for (Index i = 0; i < g.adj.rows(); ++i)
      for (SparseMatrix<double>::InnerIterator it(g.adj, i); it; ++it)
        kept += sel.assignment[static_cast<std::size_t>(i)] >= 0 && sel.assignment[static_cast<std::size_t>(it.col())] >= 0;
    CHECK(out.nonZeros() == kept);
  }
}

TEST_CASE("InducedConnect backward: the kept weights pass their gradient through", "[connect][induced][gradcheck]") {
  auto g = gnnpool::test::random_cluster_batch<double>({9, 12}, 4.0, 2, 5, true);
  const auto sel = gnnpool::test::node_selection<double>({4, 0, 7, 2, 13, 9, 20, 11}, {0, 4, 8}, 21);
  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"adj", g.adj.valuePtr(), g.adj.nonZeros()});
  problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
    SparseMatrix<double> a;
    InducedConnect<double>::Cache cache;
    InducedConnect<double>().forward(g, sel, a, cache);
    out.insert(out.end(), a.valuePtr(), a.valuePtr() + a.nonZeros());
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    SparseMatrix<double> a;
    InducedConnect<double>::Cache cache;
    InducedConnect<double>().forward(g, sel, a, cache);
    gnnpool::BatchGrad<double> din{Matrix<double>::Zero(g.x.rows(), g.x.cols()), Vector<double>::Zero(g.adj.nonZeros())};
    Vector<double> dsel = Vector<double>::Zero(21);
    InducedConnect<double>().backward(g, sel, cache, Eigen::Map<const Vector<double>>(up.data(), a.nonZeros()), din, dsel);
    CHECK(dsel.isZero());
    gnnpool::testing::copy_gradient(din.adj, grads[0]);
  };
  const auto result = gnnpool::testing::check_gradients(problem);
  INFO(result.log);
  CHECK(result.ok);
}

TEST_CASE("InducedConnect rejects merging selections and mismatched sizes", "[connect][induced][errors]") {
  const auto g = weighted_cycle<double>();
  SparseMatrix<double> out;
  InducedConnect<double>::Cache cache;
  auto sel = keep<double>({4, 1}, 5);
  sel.assignment[3] = 0;  // node 3 merged into node 4's supernode
  require_throws_with<gnnpool::invalid_argument>([&] { InducedConnect<double>().forward(g, sel, out, cache); },
                                                 {"InducedConnect", "node 3", "supernode 0", "does not merge"});
  require_throws_with<gnnpool::shape_error>([&] { InducedConnect<double>().forward(g, keep<double>({1}, 4), out, cache); },
                                            {"InducedConnect", "covers 4 nodes", "5 x 5"});
  auto loose = g;
  loose.adj.uncompress();
  require_throws_with<gnnpool::invalid_argument>([&] { InducedConnect<double>().forward(loose, keep<double>({1}, 5), out, cache); },
                                                 {"InducedConnect", "compressed"});
  InducedConnect<double>().forward(g, keep<double>({4, 1, 0}, 5), out, cache);
  gnnpool::BatchGrad<double> din{Matrix<double>::Zero(5, 1), Vector<double>::Zero(g.adj.nonZeros())};
  Vector<double> dsel;
  require_throws_with<gnnpool::shape_error>(
      [&] { InducedConnect<double>().backward(g, keep<double>({4, 1, 0}, 5), cache, Vector<double>::Zero(2), din, dsel); },
      {"InducedConnect", "dadj_out has 2 entries", "stores 5"});
  // A cache whose indices do not fit the adjacency (another forward's, tampered) is an error, not
  // an out-of-range write.
  cache.source[1] = 999;
  require_throws_with<gnnpool::shape_error>(
      [&] { InducedConnect<double>().backward(g, keep<double>({4, 1, 0}, 5), cache, Vector<double>::Zero(5), din, dsel); },
      {"InducedConnect backward", "pooled entry 1", "stored entry 999", "the cache of the same forward"});
}

}  // namespace gnnpool_test_connect_induced
