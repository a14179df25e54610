// Tests of gnnpool/pool/eigen_pool.hpp, gnnpool/select/eigen.hpp and gnnpool/reduce/eigen.hpp:
// the deterministic spectral clustering, theta (orthonormal modes per cluster, sign rule), the
// pooled features mode by mode, the connect (inter-cluster edges only), the lift, gradients,
// a model around it, errors.

#include <gnnpool/model/check.hpp>
#include <gnnpool/model/ops.hpp>
#include <gnnpool/model/tape.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/pool/eigen_pool.hpp>
#include <gnnpool/readout/mean.hpp>
#include <gnnpool/reduce/eigen.hpp>
#include <gnnpool/select/eigen.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_eigen_pool {

using gnnpool::EigenPool;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;

static_assert(gnnpool::PoolLayer<EigenPool<double>>);
static_assert(gnnpool::LiftPolicy<gnnpool::EigenLift<double>, gnnpool::EigenSelection<double>>);

namespace {

/// Three weighted cliques of 4, 5 and 3 nodes, joined by two light edges.
gnnpool::Batch<double> three_cliques() {
  gnnpool::EdgeList edges;
  std::vector<double> w;
  const std::vector<Index> start{0, 4, 9, 12};
  for (std::size_t c = 0; c < 3; ++c)
    for (Index i = start[c]; i < start[c + 1]; ++i)
      for (Index j = i + 1; j < start[c + 1]; ++j) {
        edges.emplace_back(i, j);
        w.push_back(1.0 + 0.1 * static_cast<double>((i + 2 * j) % 5));
      }
  edges.emplace_back(3, 4);
  w.push_back(0.2);
  edges.emplace_back(8, 9);
  w.push_back(0.3);
  return gnnpool::make_graph<double>(gnnpool::testing::random_features<double>(12, 3, 5), edges, w);
}

/// `groups` planted clusters of `size` nodes: a random graph of average degree ~8 inside each
/// plus a path through it (connected; generic weights, so no degenerate eigenvalues), and one
/// light edge from each group to the next.
gnnpool::Batch<double> planted_groups(Index groups, Index size) {
  gnnpool::EdgeList edges;
  std::vector<double> w;
  for (Index g = 0; g < groups; ++g) {
    const auto part = gnnpool::testing::random_graph<double>(size, 4 * size, 1, 100 + static_cast<std::uint64_t>(g));
    for (Index i = 0; i < size; ++i)
      for (gnnpool::SparseMatrix<double>::InnerIterator it(part.adj, i); it; ++it)
        if (it.col() > i) {
          edges.emplace_back(g * size + i, g * size + it.col());
          w.push_back(0.5 + 0.01 * static_cast<double>((i * 7 + it.col() * 3) % 97));
        }
    for (Index i = 0; i + 1 < size; ++i) {  // a path through the group: connected
      edges.emplace_back(g * size + i, g * size + i + 1);
      w.push_back(0.3 + 0.01 * static_cast<double>(i % 13));
    }
    edges.emplace_back(g * size, ((g + 1) % groups) * size + 1);
    w.push_back(0.05);
  }
  return gnnpool::make_graph<double>(gnnpool::testing::random_features<double>(groups * size, 3, 9), edges, w);
}

}  // namespace

TEST_CASE("EigenSelect: spectral clustering finds the cliques; theta holds orthonormal, sign-fixed modes",
          "[pool][eigen]") {
  const auto batch = three_cliques();
  const gnnpool::EigenSelect<double> select({.k = 3, .modes = 2});
  gnnpool::EigenSelection<double> sel;
  gnnpool::EigenSelect<double>::Cache cache;
  const ParameterSet<double> none;
  select.forward(none, batch, sel, cache);
  for (Index i : {1, 2, 3}) CHECK(sel.assignment[static_cast<std::size_t>(i)] == sel.assignment[0]);
  for (Index i : {5, 6, 7, 8}) CHECK(sel.assignment[static_cast<std::size_t>(i)] == sel.assignment[4]);
  for (Index i : {10, 11}) CHECK(sel.assignment[static_cast<std::size_t>(i)] == sel.assignment[9]);
  CHECK(sel.assignment[0] == 0);  // labels by first appearance
  CHECK(sel.assignment[4] == 1);
  CHECK(sel.assignment[9] == 2);
  CHECK(sel.s.rowwise().sum().isOnes(0));
  // Mode 0 of a cluster is its normalised Laplacian's null vector, sqrt(d) / |sqrt(d)|, >= 0; mode 1
  // is orthogonal to it; both unit length and zero outside the cluster.
  for (Index c = 0; c < 3; ++c) {
    const auto m0 = sel.theta.col(0 * 3 + c), m1 = sel.theta.col(1 * 3 + c);
    CHECK(m0.norm() == Approx(1.0).epsilon(1e-12));
    CHECK(m1.norm() == Approx(1.0).epsilon(1e-12));
    CHECK(std::abs(m0.dot(m1)) < 1e-12);
    CHECK(m0.minCoeff() >= -1e-15);
    for (Index i = 0; i < 12; ++i)
      if (sel.assignment[static_cast<std::size_t>(i)] != c) CHECK(m0[i] == 0.0);
  }
  // Deterministic.
  gnnpool::EigenSelection<double> again;
  select.forward(none, batch, again, cache);
  CHECK(again.theta == sel.theta);
  CHECK(again.assignment == sel.assignment);
}

TEST_CASE("The Chebyshev-filtered subspace iteration finds the leading eigenpairs of a sparse matrix",
          "[pool][eigen][iterative]") {
  const auto g = gnnpool::testing::random_graph<double>(300, 1500, 1, 11);
  std::vector<Index> nodes(300);
  for (Index i = 0; i < 300; ++i) nodes[static_cast<std::size_t>(i)] = i;
  const auto m = gnnpool::detail::normalized_block(g.adj, nodes, [](Index j) { return j; });
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> dense{Eigen::MatrixXd(m)};
  const auto r = gnnpool::detail::leading_eigenpairs(m, 6, -1.0, 1.0);
  CHECK(r.converged);
  CHECK(r.residual <= 1e-8);
  CHECK((r.vectors.transpose() * r.vectors - Eigen::MatrixXd::Identity(6, 6)).cwiseAbs().maxCoeff() < 1e-12);
  for (Index j = 0; j < 6; ++j) {
    INFO("eigenpair " << j);
    CHECK(r.values[j] == Approx(dense.eigenvalues()[299 - j]).margin(1e-12));
    CHECK(std::abs(r.vectors.col(j).dot(dense.eigenvectors().col(299 - j))) == Approx(1.0).margin(1e-12));
  }
  // A cap on the iterations stops it early, with the residual it reached.
  const auto capped = gnnpool::detail::leading_eigenpairs(m, 6, -1.0, 1.0, {.max_iterations = 1});
  CHECK(capped.iterations == 1);
  CHECK(!capped.converged);
  CHECK(capped.residual > 1e-8);
}

TEST_CASE("EigenSelect above dense_limit (sparse subspace iteration) gives the dense solver's clusters and modes",
          "[pool][eigen][iterative]") {
  // Four groups of 80 nodes: the graph (320 nodes) and each cluster (80) are above the
  // dense_limit of 60 below, so both the clustering's and the modes' eigenvectors are iterative.
  const auto batch = planted_groups(4, 80);
  const ParameterSet<double> none;
  gnnpool::EigenSelection<double> sparse_sel, dense_sel;
  gnnpool::EigenSelect<double>::Cache cache;
  gnnpool::EigenSelect<double>({.k = 4, .modes = 3, .dense_limit = 60}).forward(none, batch, sparse_sel, cache);
  gnnpool::EigenSelect<double>({.k = 4, .modes = 3, .dense_limit = 1000}).forward(none, batch, dense_sel, cache);
  CHECK(sparse_sel.assignment == dense_sel.assignment);
  for (Index g = 0; g < 4; ++g)
    for (Index i = 0; i < 80; ++i)
      CHECK(sparse_sel.assignment[static_cast<std::size_t>(g * 80 + i)] == g);  // the planted groups
  // The modes agree to the iteration's tolerance (generic weights: distinct eigenvalues).
  CHECK(gnnpool::test::max_relative_error(sparse_sel.theta, dense_sel.theta) < 1e-6);
  // Deterministic.
  gnnpool::EigenSelection<double> again;
  gnnpool::EigenSelect<double>({.k = 4, .modes = 3, .dense_limit = 60}).forward(none, batch, again, cache);
  CHECK(again.theta == sparse_sel.theta);
}

TEST_CASE("EigenPool pools features mode by mode, keeps only inter-cluster edges, and lifts back", "[pool][eigen]") {
  const auto batch = three_cliques();
  ParameterSet<double> params;
  const EigenPool<double> pool(params, "eig", 3, {.select = {.k = 3, .modes = 2}});
  CHECK(pool.name() == "eig (EigenPool)");
  EigenPool<double>::Output out;
  EigenPool<double>::Cache cache;
  pool.forward(params, batch, out, cache);
  REQUIRE(out.batch.x.rows() == 3);
  REQUIRE(out.batch.x.cols() == 6);
  const Matrix<double>& th = out.selection.theta;
  for (Index m = 0; m < 2; ++m)
    CHECK(gnnpool::test::max_relative_error(Matrix<double>(out.batch.x.middleCols(3 * m, 3)),
                                            Matrix<double>(th.middleCols(3 * m, 3).transpose() * batch.x)) < 1e-13);
  // Omega^T A Omega without its diagonal, then the clamped row-degree normalisation.
  const Matrix<double> dense(out.batch.adj);
  for (Index r = 0; r < 3; ++r) CHECK(dense(r, r) == 0.0);
  CHECK(dense(0, 1) > 0);
  CHECK(dense(0, 2) == 0.0);  // clique 0 and clique 2 share no edge
  // The lift is theta times the mode-major pooled features, and its backward the transpose.
  const gnnpool::EigenLift<double> lift;
  Matrix<double> lifted;
  lift.forward(out.selection, out.batch.x, lifted);
  CHECK(gnnpool::test::max_relative_error(
            lifted, Matrix<double>(th.leftCols(3) * out.batch.x.leftCols(3) + th.rightCols(3) * out.batch.x.rightCols(3))) <
        1e-13);
  const Matrix<double> dy = gnnpool::testing::random_features<double>(12, 3, 7);
  Matrix<double> dxp, unused;
  lift.backward(out.selection, out.batch.x, dy, dxp, unused);
  CHECK(std::abs(dxp.cwiseProduct(out.batch.x).sum() - dy.cwiseProduct(lifted).sum()) < 1e-12);
}

TEST_CASE("EigenPool backward matches finite differences for x and the edge weights", "[pool][eigen][gradcheck]") {
  auto batch = three_cliques();
  ParameterSet<double> params;
  const EigenPool<double> pool(params, "", 3, {.select = {.k = 3, .modes = 3}});
  // The clustering and theta are constants of the layer (as tgp): the check holds them fixed by
  // replaying them, so that A's perturbations only move the connect.
  EigenPool<double>::Output out;
  EigenPool<double>::Cache cache;
  pool.forward(params, batch, out, cache);
  const gnnpool::IndexVector clusters = [&] {
    gnnpool::IndexVector c(out.selection.assignment);
    for (auto& v : c) v %= 3;
    return c;
  }();
  const Matrix<double> theta = out.selection.theta;
  const EigenPool<double> replay(params, "", 3, {.select = {.k = 3, .modes = 3, .given_clusters = &clusters, .given_theta = &theta}});
  const auto r = gnnpool::testing::check_pool(replay, params, batch);
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("A model with EigenPool passes the whole-model gradient check (parameters)", "[pool][eigen][model]") {
  ParameterSet<double> params;
  const gnnpool::Linear<double> lin(params, "lin", 3, 4);
  const EigenPool<double> pool(params, "pool", 4, {.select = {.k = 2, .modes = 2}});
  const gnnpool::MeanReadout<double> mean;
  const gnnpool::Linear<double> head(params, "head", 8, 2);
  params.initialize(3);
  gnnpool::Batch<double> batch = three_cliques();
  const std::vector<Index> labels{1};
  const auto r = gnnpool::check_model(params, [&](gnnpool::Tape<double>& tape) {
    auto [g, x] = tape.inputs(batch);
    auto p = tape(pool, g, gnnpool::tanh(tape(lin, x)));
    return gnnpool::cross_entropy(tape(head, tape(mean, p.graph, p.x)), labels);
  });
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("EigenSelect rejects bad settings and given clusters out of range", "[pool][eigen][errors]") {
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([] { (void)gnnpool::EigenSelect<double>({.k = 0}); },
                                                                {"EigenSelect", "k must be >= 1"});
  const auto batch = three_cliques();
  gnnpool::IndexVector bad(12, 0);
  bad[5] = 7;
  const gnnpool::EigenSelect<double> select({.k = 3, .given_clusters = &bad});
  gnnpool::EigenSelection<double> sel;
  gnnpool::EigenSelect<double>::Cache cache;
  const ParameterSet<double> none;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([&] { select.forward(none, batch, sel, cache); },
                                                                {"EigenSelect", "node 5", "cluster 7"});
}

}  // namespace gnnpool_test_pool_eigen_pool
