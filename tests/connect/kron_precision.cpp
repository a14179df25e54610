// The held-out NDP reference case of issue 12 (two levels on a disconnected graph): its level-2
// Kron-reduced Laplacian matched the reference only to 4.4e-10 relative. The reduced Laplacian
// there is 0 (no kept node reaches another through the eliminated ones), so the comparison's
// floor of 1e-6 turned an absolute residue of 4.4e-16 (2 ulp of a degree 2) into 4.4e-10. The
// residue was gnnpool's: the diagonal d_p - (W^T W)_pp cancels, and W = D^-1/2 F^-1 A[M,P]
// squares rounded square roots. The diagonal is now the sum of the row's off-diagonal weights
// (L' has zero row sums), which is exact where it is 0 and accurate to rounding elsewhere; the
// condition number of L[M,M] in these cases is below 10, so conditioning was not the cause.

#include <gnnpool/connect/kron.hpp>
#include <gnnpool/core/numeric.hpp>

#include <catch2/catch.hpp>

#include <Eigen/LU>

#include <cmath>
#include <random>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_connect_kron_precision {

using namespace gnnpool;

namespace {

/// Keeps `kept` (ascending) in a one-graph batch of n nodes.
HardSelection<double> keep(Index n, const std::vector<Index>& kept) {
  HardSelection<double> sel;
  sel.assignment.assign(static_cast<std::size_t>(n), HardSelection<double>::dropped);
  for (std::size_t s = 0; s < kept.size(); ++s) sel.assignment[static_cast<std::size_t>(kept[s])] = static_cast<Index>(s);
  sel.weight = Vector<double>::Ones(n);
  sel.representative.assign(kept.begin(), kept.end());
  sel.offsets = {0, static_cast<Index>(kept.size())};
  return sel;
}

/// L' by dense Gaussian elimination in long double, from L = D - A built in long double too.
Matrix<double> reference(const Batch<double>& g, const HardSelection<double>& sel) {
  using LD = long double;
  const Index n = g.num_nodes();
  Eigen::Matrix<LD, Eigen::Dynamic, Eigen::Dynamic> l = Eigen::Matrix<LD, Eigen::Dynamic, Eigen::Dynamic>::Zero(n, n);
  for (Index i = 0; i < n; ++i)
    for (SparseMatrix<double>::InnerIterator it(g.adj, i); it; ++it)
      if (it.col() != i) {
        l(i, it.col()) -= static_cast<LD>(it.value());
        l(i, i) += static_cast<LD>(it.value());
      }
  std::vector<Index> p, m;
  for (Index i = 0; i < n; ++i) (sel.assignment[static_cast<std::size_t>(i)] >= 0 ? p : m).push_back(i);
  Eigen::Matrix<LD, Eigen::Dynamic, Eigen::Dynamic> lmm(m.size(), m.size()), lmp(m.size(), p.size()), lpm(p.size(), m.size());
  for (std::size_t a = 0; a < m.size(); ++a) {
    for (std::size_t b = 0; b < m.size(); ++b) lmm(static_cast<Index>(a), static_cast<Index>(b)) = l(m[a], m[b]);
    for (std::size_t b = 0; b < p.size(); ++b) lmp(static_cast<Index>(a), static_cast<Index>(b)) = l(m[a], p[b]);
  }
  lpm = lmp.transpose();
  const Eigen::Matrix<LD, Eigen::Dynamic, Eigen::Dynamic> x = lmm.partialPivLu().solve(lmp);
  Matrix<double> out(static_cast<Index>(p.size()), static_cast<Index>(p.size()));
  for (std::size_t a = 0; a < p.size(); ++a)
    for (std::size_t b = 0; b < p.size(); ++b)
      out(static_cast<Index>(a), static_cast<Index>(b)) =
          static_cast<double>(l(p[a], p[b]) - (lpm.row(static_cast<Index>(a)) * x.col(static_cast<Index>(b)))(0, 0));
  return out;
}

}  // namespace

TEST_CASE("Kron reduction: a kept node that reaches no other kept node has an exactly zero row", "[connect][kron][precision]") {
  // Two components, one kept node each (0 and 3), every other node eliminated: L' = 0. The
  // old diagonal d - (W^T W) left 6.7e-16 at node 3 (and -5.6e-16 with weights 0.7).
  for (const double w : {1.0, 0.7}) {
    const EdgeList e{{0, 1}, {1, 2}, {0, 2}, {3, 4}, {4, 5}, {5, 6}, {4, 6}};
    const std::vector<double> weights(e.size(), w);
    const auto g = make_graph<double>(Matrix<double>::Ones(7, 1), e, weights);
    for (const double dense : {0.05, 0.0}) {  // the sparse and the dense W^T W paths
      KronOptions o;
      o.dense_fraction = dense;
      const Matrix<double> l = Matrix<double>(kron_reduction(g, keep(7, {0, 3}), o));
      INFO("w = " << w << ", dense_fraction = " << dense);
      CHECK(l == Matrix<double>::Zero(2, 2));
    }
  }
}

TEST_CASE("Kron reduction: zero row sums and agreement with an extended-precision Schur complement",
          "[connect][kron][precision]") {
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 200; ++trial) {
    // A random graph of 2 or 3 components (weights multiples of 1/8, exact in every format).
    EdgeList e;
    std::vector<double> w;
    Index n = 0;
    const int components = 2 + static_cast<int>(rng() % 2);
    for (int c = 0; c < components; ++c) {
      const Index size = 3 + static_cast<Index>(rng() % 5);
      for (Index i = 0; i < size; ++i)
        for (Index j = i + 1; j < size; ++j)
          if (rng() % 100 < 45) {
            e.push_back({n + i, n + j});
            w.push_back(static_cast<double>(1 + rng() % 24) / 8.0);
          }
      n += size;
    }
    const auto g = make_graph<double>(Matrix<double>::Ones(n, 1), e, w);
    std::vector<Index> kept;
    for (Index i = 0; i < n; ++i)
      if (rng() % 2 == 0) kept.push_back(i);
    if (kept.size() < 2) continue;
    const auto sel = keep(n, kept);
    KronOptions o;
    o.singular = KronSingular::exact;  // a random split may leave a dead piece
    KronStats stats;
    const Matrix<double> l = Matrix<double>(kron_reduction(g, sel, o, &stats));
    double dmax = 1.0;
    for (Index i = 0; i < n; ++i) {
      double d = 0;
      for (SparseMatrix<double>::InnerIterator it(g.adj, i); it; ++it) d += it.value();
      dmax = std::max(dmax, d);
    }
    INFO("trial " << trial);
    // Rows sum to 0 up to the rounding of one sum of |row| terms.
    for (Index s = 0; s < l.rows(); ++s)
      CHECK(std::abs(l.row(s).sum()) <= 8 * numeric<double>::epsilon() * l.row(s).cwiseAbs().sum());
    // Every entry matches the long-double Schur complement to rounding of the degree scale.
    // (A dead piece makes the full L[M,M] of the reference singular; gnnpool leaves it out.)
    if (stats.dead == 0) CHECK((l - reference(g, sel)).cwiseAbs().maxCoeff() <= 64 * numeric<double>::epsilon() * dmax);
  }
}

}  // namespace gnnpool_test_connect_kron_precision
