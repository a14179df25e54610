// Tests of gnnpool/connect/kron.hpp: Kron reduction oracles (series edges, star), agreement with
// a dense Schur complement, dead pieces, sparsification, batches and errors.

#include <gnnpool/connect/kron.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "support/approx.hpp"
#include "support/throws.hpp"

#include <Eigen/Dense>
#include <catch2/catch.hpp>

#include <random>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_connect_kron {

using gnnpool::Batch;
using gnnpool::EdgeList;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::KronConnect;
using gnnpool::KronOptions;
using gnnpool::KronSingular;
using gnnpool::Matrix;
using gnnpool::test::require_throws_with;

namespace {

/// The hard selection that keeps the nodes with mask[i] (ascending, graph-major).
template <typename Scalar>
HardSelection<Scalar> keep(const Batch<Scalar>& g, const std::vector<int>& mask) {
  HardSelection<Scalar> sel;
  sel.assignment.assign(mask.size(), HardSelection<Scalar>::dropped);
  sel.weight.setOnes(static_cast<Index>(mask.size()));
  for (Index b = 0; b < g.num_graphs(); ++b) {
    for (Index i = g.graph_begin(b); i < g.graph_begin(b + 1); ++i)
      if (mask[static_cast<std::size_t>(i)]) {
        sel.assignment[static_cast<std::size_t>(i)] = static_cast<Index>(sel.representative.size());
        sel.representative.push_back(i);
      }
    sel.offsets.push_back(static_cast<Index>(sel.representative.size()));
  }
  return sel;
}

template <typename Scalar>
Batch<Scalar> weighted(Index n, const EdgeList& edges, const std::vector<Scalar>& w) {
  return gnnpool::make_graph<Scalar>(Matrix<Scalar>::Zero(n, 1), edges, std::span<const Scalar>(w));
}

/// Dense oracle: L_PP - L_PM (L_MM + shift I)^-1 L_MP for one graph, with M restricted to `live`.
Eigen::MatrixXd dense_kron(const Batch<double>& g, const std::vector<int>& mask, const std::vector<int>& live,
                           double shift) {
  const Eigen::MatrixXd a = Eigen::MatrixXd(Eigen::SparseMatrix<double>(g.adj));
  Eigen::MatrixXd l = -a;
  l.diagonal().setZero();
  for (Index i = 0; i < l.rows(); ++i) l(i, i) = a.row(i).sum() - a(i, i);
  std::vector<Index> p, m;
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (mask[i]) p.push_back(static_cast<Index>(i));
    else if (live[i]) m.push_back(static_cast<Index>(i));
  }
  auto block = [&](const std::vector<Index>& r, const std::vector<Index>& c) {
    Eigen::MatrixXd out(r.size(), c.size());
    for (std::size_t i = 0; i < r.size(); ++i)
      for (std::size_t j = 0; j < c.size(); ++j) out(static_cast<Index>(i), static_cast<Index>(j)) = l(r[i], c[j]);
    return out;
  };
  Eigen::MatrixXd lmm = block(m, m);
  lmm.diagonal().array() += shift;
  if (m.empty()) return block(p, p);
  return block(p, p) - block(p, m) * lmm.ldlt().solve(block(m, p));
}

}  // namespace

TEMPLATE_TEST_CASE("Kron reduction of a path a-b-c eliminating b gives the series weight", "[connect][kron]", float, double) {
  using S = TestType;
  // Unit weights: 1/2. Weights 2 and 3: 2*3/(2+3) (series conductances).
  auto unit = gnnpool::make_graph<S>(Matrix<S>::Zero(3, 1), EdgeList{{0, 1}, {1, 2}});
  KronConnect<S> connect;
  auto a = connect(unit, keep(unit, {1, 0, 1}));
  REQUIRE(a.rows() == 2);
  REQUIRE(a.nonZeros() == 2);
  CHECK(a.coeff(0, 1) == Approx(0.5));
  CHECK(a.coeff(1, 0) == a.coeff(0, 1));

  auto w = weighted<S>(3, EdgeList{{0, 1}, {1, 2}}, {S(2), S(3)});
  auto aw = connect(w, keep(w, {1, 0, 1}));
  CHECK(aw.coeff(0, 1) == Approx(6.0 / 5.0));
  const auto lred = gnnpool::kron_reduction(w, keep(w, {1, 0, 1}));
  CHECK(lred.coeff(0, 0) == Approx(6.0 / 5.0));
  CHECK(lred.coeff(0, 1) == Approx(-6.0 / 5.0));
}

TEST_CASE("Kron reduction eliminating a star's centre joins every pair of leaves with 1/n", "[connect][kron]") {
  for (Index leaves : {2, 3, 5, 8}) {
    EdgeList edges;
    for (Index l = 1; l <= leaves; ++l) edges.emplace_back(0, l);
    auto star = gnnpool::make_graph<double>(Matrix<double>::Zero(leaves + 1, 1), edges);
    std::vector<int> mask(static_cast<std::size_t>(leaves + 1), 1);
    mask[0] = 0;
    KronConnect<double> connect(KronOptions{0.0});
    auto a = connect(star, keep(star, mask));
    REQUIRE(a.rows() == leaves);
    REQUIRE(a.nonZeros() == leaves * (leaves - 1));  // complete graph, no diagonal
    for (Index i = 0; i < leaves; ++i)
      for (Index j = 0; j < leaves; ++j)
        if (i != j) CHECK(a.coeff(i, j) == Approx(1.0 / static_cast<double>(leaves)).epsilon(1e-14));
    // The reduced Laplacian keeps zero row sums: the diagonal is 1 - 1/n.
    const auto l = gnnpool::kron_reduction(star, keep(star, mask));
    for (Index i = 0; i < leaves; ++i) CHECK(l.coeff(i, i) == Approx(1.0 - 1.0 / static_cast<double>(leaves)));
  }
}

TEST_CASE("Kron reduction matches a dense Schur complement on random graphs and partitions", "[connect][kron]") {
  gnnpool::testing::RandomGraphOptions opt;
  opt.weighted = true;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    const Index n = 10 + static_cast<Index>(seed) * 3;
    auto g = gnnpool::testing::random_graph<double>(n, 3 * n, 2, seed, opt);
    std::mt19937_64 rng(seed);
    std::vector<int> mask(static_cast<std::size_t>(n));
    for (auto& v : mask) v = static_cast<int>(rng() & 1);
    mask[0] = 1;
    mask[1] = 1;
    gnnpool::KronStats stats;
    KronOptions exact;
    exact.singular = KronSingular::exact;
    const auto l = gnnpool::kron_reduction(g, keep(g, mask), exact, &stats);
    // Live eliminated nodes: those connected to a kept node through eliminated nodes.
    std::vector<int> live(mask.size(), 0);
    {
      std::vector<Index> stack;
      for (Index i = 0; i < n; ++i)
        if (mask[static_cast<std::size_t>(i)])
          for (Eigen::SparseMatrix<double, Eigen::RowMajor, int>::InnerIterator it(g.adj, i); it; ++it)
            if (!mask[static_cast<std::size_t>(it.col())] && !live[static_cast<std::size_t>(it.col())]) {
              live[static_cast<std::size_t>(it.col())] = 1;
              stack.push_back(it.col());
            }
      while (!stack.empty()) {
        const Index u = stack.back();
        stack.pop_back();
        for (Eigen::SparseMatrix<double, Eigen::RowMajor, int>::InnerIterator it(g.adj, u); it; ++it)
          if (!mask[static_cast<std::size_t>(it.col())] && !live[static_cast<std::size_t>(it.col())]) {
            live[static_cast<std::size_t>(it.col())] = 1;
            stack.push_back(it.col());
          }
      }
    }
    const Eigen::MatrixXd expected = dense_kron(g, mask, live, 0.0);
    const Eigen::MatrixXd actual = Eigen::MatrixXd(Eigen::SparseMatrix<double>(l));
    INFO("seed " << seed);
    CHECK(gnnpool::test::max_relative_error(actual, expected) < 1e-12);
    // Exactly symmetric, zero row sums (no shift), non-positive off-diagonal.
    CHECK((actual - actual.transpose()).cwiseAbs().maxCoeff() == 0.0);
    CHECK(actual.rowwise().sum().cwiseAbs().maxCoeff() < 1e-12);
    Eigen::MatrixXd off = actual;
    off.diagonal().setZero();
    CHECK(off.maxCoeff() <= 0.0);
    Index dead = 0, eliminated = 0;
    for (std::size_t i = 0; i < mask.size(); ++i) {
      dead += !mask[i] && !live[i];
      eliminated += !mask[i] && live[i];
    }
    CHECK(stats.dead == dead);
    CHECK(stats.eliminated == eliminated);
    CHECK(stats.solve_nonzeros > 0);
  }
}

TEST_CASE("A dead piece of eliminated nodes: shift (reference) or exact", "[connect][kron]") {
  // Path 0-1-2-3 plus the isolated node 4 and the edge 5-6; keep 0 and 3 only.
  auto g = gnnpool::make_graph<double>(Matrix<double>::Zero(7, 1), EdgeList{{0, 1}, {1, 2}, {2, 3}, {5, 6}});
  const std::vector<int> mask{1, 0, 0, 1, 0, 0, 0};
  const std::vector<int> live{0, 1, 1, 0, 0, 0, 0};
  const std::vector<int> all{1, 1, 1, 1, 1, 1, 1};

  KronOptions exact;
  exact.singular = KronSingular::exact;
  gnnpool::KronStats st_exact, st_shift;
  const auto le = gnnpool::kron_reduction(g, keep(g, mask), exact, &st_exact);
  CHECK(st_exact.dead == 3);
  CHECK(st_exact.shifted_graphs.empty());
  CHECK(le.coeff(0, 1) == Approx(-1.0 / 3.0).epsilon(1e-14));  // three unit edges in series

  const auto ls = gnnpool::kron_reduction(g, keep(g, mask), KronOptions{}, &st_shift);
  CHECK(st_shift.shifted_graphs == IndexVector{0});
  // The references' damped solve: L[M,M] + 1e-6 I over the whole graph; the dead pieces are
  // decoupled, so leaving them out changes nothing.
  const Eigen::MatrixXd expected = dense_kron(g, mask, all, 1e-6);
  CHECK(gnnpool::test::max_relative_error(Eigen::MatrixXd(Eigen::SparseMatrix<double>(ls)), expected) < 1e-12);
  CHECK(std::abs(ls.coeff(0, 1) - le.coeff(0, 1)) > 1e-8);
  CHECK(std::abs(ls.coeff(0, 1) - le.coeff(0, 1)) < 1e-5);
}

TEST_CASE("Kron reduction of a batch equals the reductions of its graphs", "[connect][kron]") {
  std::vector<Batch<double>> graphs{gnnpool::testing::random_graph<double>(15, 40, 1, 3),
                                    gnnpool::testing::random_graph<double>(1, 0, 1, 4),
                                    gnnpool::testing::random_graph<double>(9, 20, 1, 5),
                                    gnnpool::testing::grid_graph<double>(3, 4, 1, 6)};
  std::vector<std::vector<int>> masks;
  std::vector<int> all;
  std::mt19937_64 rng(7);
  for (const auto& g : graphs) {
    std::vector<int> m(static_cast<std::size_t>(g.num_nodes()));
    for (auto& v : m) v = static_cast<int>(rng() % 3 != 0);
    m[0] = 1;
    masks.push_back(m);
    all.insert(all.end(), m.begin(), m.end());
  }
  auto batch = gnnpool::concatenate<double>(graphs);
  KronConnect<double> connect;
  auto pooled = connect(batch, keep(batch, all));
  Index row = 0;
  for (std::size_t b = 0; b < graphs.size(); ++b) {
    auto one = connect(graphs[b], keep(graphs[b], masks[b]));
    const Index k = one.rows();
    CHECK(Matrix<double>(pooled).block(row, row, k, k) == Matrix<double>(one));
    row += k;
  }
  CHECK(row == pooled.rows());
}

TEST_CASE("Sparsification keeps |w| > threshold strictly; graphs with one kept node have no edge", "[connect][kron]") {
  // Star with 4 leaves: leaf-leaf weight exactly 0.25.
  auto star = gnnpool::make_graph<double>(Matrix<double>::Zero(5, 1), EdgeList{{0, 1}, {0, 2}, {0, 3}, {0, 4}});
  const auto sel = keep(star, {0, 1, 1, 1, 1});
  CHECK(KronConnect<double>(KronOptions{0.25})(star, sel).nonZeros() == 0);
  CHECK(KronConnect<double>(KronOptions{0.2499})(star, sel).nonZeros() == 12);
  CHECK(KronConnect<double>(KronOptions{0.0})(star, sel).nonZeros() == 12);

  const auto one = keep(star, {1, 0, 0, 0, 0});
  gnnpool::KronStats st;
  const auto l = gnnpool::kron_reduction(star, one, KronOptions{}, &st);
  REQUIRE(l.rows() == 1);
  CHECK(l.coeff(0, 0) == 0.0);
  CHECK(st.eliminated == 0);
  CHECK(KronConnect<double>{}(star, one).nonZeros() == 0);

  // Kept isolated nodes stay isolated, kept neighbours keep their edge.
  auto g = gnnpool::make_graph<double>(Matrix<double>::Zero(4, 1), EdgeList{{0, 1}});
  auto a = KronConnect<double>{}(g, keep(g, {1, 1, 1, 0}));
  CHECK(a.nonZeros() == 2);
  CHECK(a.coeff(0, 1) == 1.0);
}

TEST_CASE("KronConnect float matches double", "[connect][kron]") {
  gnnpool::testing::RandomGraphOptions opt;
  opt.weighted = true;
  auto gd = gnnpool::testing::random_graph<double>(60, 150, 1, 11, opt);
  auto gf = gnnpool::testing::random_graph<float>(60, 150, 1, 11, opt);
  std::vector<int> mask(60);
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = static_cast<int>((i * 7) % 3 != 0);
  auto ad = KronConnect<double>{}(gd, keep(gd, mask));
  auto af = KronConnect<float>{}(gf, keep(gf, mask));
  REQUIRE(ad.nonZeros() == af.nonZeros());
  CHECK(gnnpool::test::max_relative_error(Matrix<float>(af), Matrix<double>(ad)) <
        gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("KronConnect backward passes no gradient and checks the upstream shape", "[connect][kron]") {
  auto g = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 2), EdgeList{{0, 1}, {1, 2}});
  const auto sel = keep(g, {1, 0, 1});
  KronConnect<double> connect;
  gnnpool::SparseMatrix<double> out;
  KronConnect<double>::Cache cache;
  connect.forward(g, sel, out, cache);
  gnnpool::BatchGrad<double> din;
  din.x = Matrix<double>::Constant(3, 2, 7.0);
  din.adj = gnnpool::Vector<double>::Constant(4, 7.0);
  gnnpool::Vector<double> dsel = gnnpool::Vector<double>::Constant(3, 7.0);
  connect.backward(g, sel, cache, gnnpool::Vector<double>::Ones(2), din, dsel);
  CHECK((din.adj.array() == 7.0).all());
  CHECK((dsel.array() == 7.0).all());
  require_throws_with<gnnpool::shape_error>(
      [&] { connect.backward(g, sel, cache, gnnpool::Vector<double>::Ones(5), din, dsel); },
      {"KronConnect", "5 entries", "stores 2"});
}

TEST_CASE("KronConnect rejects bad input with sentences naming the problem", "[connect][kron][errors]") {
  auto g = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 1}, {1, 2}});
  KronConnect<double> connect;
  SECTION("asymmetric adjacency") {
    auto d = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 1}, {1, 2}}, {}, {false});
    require_throws_with<gnnpool::invalid_argument>([&] { connect(d, keep(d, {1, 0, 1})); }, {"KronConnect", "symmetric"});
  }
  SECTION("negative weight") {
    std::vector<double> w{1.0, -2.0};
    gnnpool::EdgeListOptions o;
    o.allow_negative_weights = true;
    auto d = gnnpool::make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 1}, {1, 2}}, std::span<const double>(w), o);
    require_throws_with<gnnpool::invalid_argument>([&] { connect(d, keep(d, {1, 0, 1})); }, {"KronConnect", "negative weight -2"});
  }
  SECTION("two nodes in one supernode") {
    auto sel = keep(g, {1, 0, 1});
    sel.assignment[1] = 0;
    require_throws_with<gnnpool::invalid_argument>([&] { connect(g, sel); }, {"KronConnect", "one kept node per supernode"});
  }
  SECTION("decreasing supernode offsets") {
    std::vector<Batch<double>> two{g, g};
    auto b = gnnpool::concatenate<double>(two);
    auto sel = keep(b, {1, 0, 1, 1, 0, 1});
    sel.offsets = {0, 5, 4};
    require_throws_with<gnnpool::invalid_argument>([&] { connect(b, sel); }, {"KronConnect", "offsets decrease at graph 1"});
  }
  SECTION("selection of another batch") {
    auto sel = keep(g, {1, 0, 1});
    sel.assignment.push_back(-1);
    require_throws_with<gnnpool::shape_error>([&] { connect(g, sel); }, {"KronConnect", "4 nodes", "has 3"});
  }
  SECTION("options") {
    require_throws_with<gnnpool::invalid_argument>([] { KronConnect<double>(KronOptions{-1.0}); }, {"threshold", "-1"});
    KronOptions o;
    o.shift = 0;
    require_throws_with<gnnpool::invalid_argument>([&] { KronConnect<double>{o}; }, {"shift"});
  }
  SECTION("fill beyond max_fill") {
    KronOptions o;
    o.max_fill = 1;
    auto star = gnnpool::make_graph<double>(Matrix<double>::Zero(5, 1), EdgeList{{0, 1}, {0, 2}, {0, 3}, {0, 4}});
    require_throws_with<gnnpool::error>([&] { KronConnect<double>{o}(star, keep(star, {0, 1, 1, 1, 1})); },
                                        {"KronConnect", "max_fill = 1", "nearly dense"});
    // A clique of 4 on the eliminated side: its factor alone holds 6 entries.
    EdgeList clique;
    for (Index i = 0; i < 6; ++i)
      for (Index j = i + 1; j < 6; ++j) clique.emplace_back(i, j);
    auto k6 = gnnpool::make_graph<double>(Matrix<double>::Zero(6, 1), clique);
    o.max_fill = 5;
    require_throws_with<gnnpool::error>([&] { KronConnect<double>{o}(k6, keep(k6, {1, 1, 0, 0, 0, 0})); },
                                        {"KronConnect", "factor", "max_fill = 5"});
  }
}

TEST_CASE("Dense and sparse W^T W paths agree; sparsified L' equals L' filtered", "[connect][kron]") {
  auto g = gnnpool::testing::random_graph<double>(300, 1500, 1, 21);
  std::vector<int> mask(300);
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = static_cast<int>((i * 5 + i / 7) % 2);
  mask[0] = 1;
  const auto sel = keep(g, mask);
  KronOptions dense, sparse;
  dense.dense_fraction = 0.0;
  sparse.dense_fraction = 2.0;
  gnnpool::KronStats st;
  const auto ld = gnnpool::kron_reduction(g, sel, dense, &st);
  const auto ls = gnnpool::kron_reduction(g, sel, sparse);
  const Matrix<double> md(ld), ms(ls);
  CHECK(gnnpool::test::max_relative_error(md, ms) < 1e-13);
  CHECK(md == md.transpose());
  CHECK(ms == ms.transpose());
  CHECK(st.solve_nonzeros > 0);

  // Sparsified: exactly the entries of L' whose |w| > threshold, plus the diagonal.
  const auto lf = gnnpool::kron_reduction(g, sel, KronOptions{}, nullptr, /*sparsify=*/true);
  Matrix<double> expected = ms;
  for (Index i = 0; i < expected.rows(); ++i)
    for (Index j = 0; j < expected.cols(); ++j)
      if (i != j && !(std::abs(expected(i, j)) > 1e-2)) expected(i, j) = 0;
  CHECK(gnnpool::test::max_relative_error(Matrix<double>(lf), expected) < 1e-13);
  CHECK(lf.nonZeros() < ls.nonZeros());
}

}  // namespace gnnpool_test_connect_kron
