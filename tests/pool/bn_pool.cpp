// Tests of gnnpool/pool/bn_pool.hpp, gnnpool/select/stick_breaking.hpp, gnnpool/loss/bnpool.hpp
// and the Beta special functions behind them (gnnpool/detail/special.hpp): known values, the
// stick-breaking weights, the three sampling modes and their replay, the three losses' analytic
// values, gradients (exact reparameterisation through the Beta quantile), a model around the
// pooler, float vs double, errors.

#include <gnnpool/core/parallel.hpp>
#include <gnnpool/detail/special.hpp>
#include <gnnpool/loss/bnpool.hpp>
#include <gnnpool/pool/bn_pool.hpp>
#include <gnnpool/select/stick_breaking.hpp>

#include "support/model_check.hpp"
#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <numbers>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_bn_pool {

using gnnpool::BNPool;
using gnnpool::BNPoolOptions;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::ReconstructionPairs;
using gnnpool::StickBreakingSampling;

static_assert(gnnpool::PoolLayer<BNPool<double>> && gnnpool::PoolLayer<BNPool<float>>);

TEST_CASE("Beta special functions: digamma, trigamma, I_x(a, b), its inverse and parameter derivatives", "[pool][bnpool][special]") {
  using namespace gnnpool::detail;
  CHECK(digamma(1.0) == Approx(-0.5772156649015329).epsilon(1e-15));
  CHECK(digamma(0.5) == Approx(-0.5772156649015329 - 2 * std::log(2.0)).epsilon(1e-15));
  CHECK(trigamma(1.0) == Approx(std::numbers::pi * std::numbers::pi / 6).epsilon(1e-15));
  CHECK(trigamma(0.5) == Approx(std::numbers::pi * std::numbers::pi / 2).epsilon(1e-15));
  CHECK(trigamma(0.001) == Approx(1e6 + trigamma(1.001)).epsilon(1e-15));
  CHECK(digamma(0.001) == Approx(digamma(1.001) - 1000).epsilon(1e-15));
  // ln Gamma without std::lgamma's global signgam (thread-safe): known values, and the Stirling
  // fallback of platforms without lgamma_r against the C library.
  CHECK(log_gamma(0.5) == Approx(0.5 * std::log(std::numbers::pi)).epsilon(1e-15));
  CHECK(log_gamma(1.0) == Approx(0.0).margin(1e-15));
  CHECK(log_gamma(10.0) == Approx(std::log(362880.0)).epsilon(1e-15));
  for (const double x : {1e-8, 0.001, 0.37, 1.0, 1.5, 2.0, 3.7, 9.99, 10.0, 55.5, 1e4})
    CHECK(log_gamma_stirling(x) == Approx(std::lgamma(x)).epsilon(1e-13).margin(1e-14));
  CHECK(log_beta(2.0, 3.0) == Approx(std::log(1.0 / 12)).epsilon(1e-14));
  for (const double x : {0.05, 0.3, 0.7, 0.98}) {
    CHECK(incomplete_beta(1.0, 2.5, x) == Approx(1 - std::pow(1 - x, 2.5)).epsilon(1e-14));
    CHECK(incomplete_beta(0.4, 1.0, x) == Approx(std::pow(x, 0.4)).epsilon(1e-14));
    for (const auto& [a, b] : {std::pair{0.3, 1.7}, std::pair{2.5, 0.8}, std::pair{1.2, 1.3}}) {
      CHECK(incomplete_beta_inverse(a, b, incomplete_beta(a, b, x)) == Approx(x).epsilon(1e-12));
      double da = 0, db = 0;
      incomplete_beta_parameter_gradient(a, b, x, da, db);
      const double h = 1e-6;
      CHECK(da == Approx((incomplete_beta(a + h, b, x) - incomplete_beta(a - h, b, x)) / (2 * h)).epsilon(1e-6).margin(1e-9));
      CHECK(db == Approx((incomplete_beta(a, b + h, x) - incomplete_beta(a, b - h, x)) / (2 * h)).epsilon(1e-6).margin(1e-9));
    }
  }
  // The sample's gradient dz/da, dz/db (analytic, through the continued fraction's derivatives)
  // and quantiles in the tails, against 50-digit values from mpmath (betainc, diff, findroot):
  // lower tail with a tiny a, upper tail, a large a and b.
  struct Case {
    double a, b, x, dz_da, dz_db, tol_b;
  };
  for (const Case& c : {Case{0.00221249, 527.75, 0.000881709, 0.38432055088345022884, -1.6715371159968452992e-6, 1e-9},
                        Case{2.5, 0.8, 0.93, 0.027966888418901487635, -0.18080972065701388685, 1e-12},
                        Case{40.0, 60.0, 0.41, 0.0060182622714412233946, -0.0040905229303418999757, 1e-12}}) {
    double dz_da = 0, dz_db = 0;
    beta_sample_gradient(c.a, c.b, c.x, dz_da, dz_db);
    CHECK(dz_da == Approx(c.dz_da).epsilon(1e-12));
    CHECK(dz_db == Approx(c.dz_db).epsilon(c.tol_b));
  }
  CHECK(incomplete_beta_inverse(0.002, 0.0025, 0.25) == Approx(4.022321454503427889e-174).epsilon(1e-11));
  CHECK(incomplete_beta_inverse(3.0, 7.0, 0.7) == Approx(0.36650094627509943315).epsilon(1e-14));
}

TEST_CASE("StickBreakingSelect: stick-breaking weights, the three samplings and the replay of a draw", "[pool][bnpool]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 901);
  ParameterSet<double> params;
  const BNPool<double> pool(params, "bn", 3, {.k = 4});
  CHECK(params.find("bn.K") >= 0);
  CHECK(params.find("bn.selector.mlp.lins.0.weight") >= 0);
  CHECK(params.at("bn.selector.mlp.lins.0.weight").rows() == 6);
  params.initialize(5);
  CHECK(params.at("bn.K")(0, 0) == 1.0);
  CHECK(params.at("bn.K")(0, 1) == -1.0);
  BNPool<double>::Output out;
  BNPool<double>::Cache cache;
  pool.forward(params, batch, out, cache);
  const auto& sel = out.selection;
  CHECK(sel.s.rowwise().sum().isOnes(1e-12));
  for (Index i = 0; i < sel.s.rows(); ++i) {
    double rest = 1;
    for (Index j = 0; j < 3; ++j) {
      CHECK(sel.s(i, j) == Approx(sel.z(i, j) * rest).epsilon(1e-13));
      rest *= 1 - sel.z(i, j);
    }
    CHECK(sel.s(i, 3) == Approx(rest).epsilon(1e-13));
  }
  CHECK(sel.alpha.minCoeff() >= 1e-3);
  REQUIRE(out.losses.size() == 3);
  CHECK(out.losses[0].name == "quality");
  CHECK(out.losses[1].name == "kl");
  CHECK(out.losses[2].name == "K_prior");
  // A second forward with the same cache draws new quantiles; a fresh cache repeats the first.
  BNPool<double>::Output again, first_again;
  pool.forward(params, batch, again, cache);
  CHECK(again.selection.z != sel.z);
  BNPool<double>::Cache fresh;
  pool.forward(params, batch, first_again, fresh);
  CHECK(first_again.selection.z == sel.z);
  // Replay: the recorded z as given samples gives the same S and losses.
  const Matrix<double> z = sel.z;
  BNPoolOptions<double> replay_options{.k = 4};
  replay_options.sampling.sampling = StickBreakingSampling::given;
  replay_options.given_samples = &z;
  ParameterSet<double> p2;
  const BNPool<double> replay(p2, "bn", 3, replay_options);
  p2 = params;
  BNPool<double>::Output r;
  BNPool<double>::Cache rc;
  replay.forward(p2, batch, r, rc);
  CHECK(r.selection.s == sel.s);
  CHECK(r.loss("quality") == out.loss("quality"));
}

TEST_CASE("BN-Pool losses: KL 0 at the prior, K_prior 0 at its mean, quality -> 0 for a perfect reconstruction",
          "[pool][bnpool][oracles]") {
  // Two cliques with self loops, S one-hot per clique.
  gnnpool::EdgeList edges;
  for (Index c = 0; c < 2; ++c)
    for (Index i = 0; i < 3; ++i)
      for (Index j = i; j < 3; ++j) edges.emplace_back(3 * c + i, 3 * c + j);
  const auto batch = gnnpool::make_graph<double>(Matrix<double>::Ones(6, 2), edges);
  gnnpool::StickBreakingSelection<double> sel;
  sel.s = Matrix<double>::Zero(6, 2);
  sel.s.block(0, 0, 3, 1).setOnes();
  sel.s.block(3, 1, 3, 1).setOnes();
  sel.offsets = batch.offsets;
  sel.alpha = Matrix<double>::Ones(6, 1);
  sel.beta = Matrix<double>::Constant(6, 1, 2.5);
  sel.z = Matrix<double>::Constant(6, 1, 0.5);
  ParameterSet<double> params;
  const Index k = params.add("K", 2, 2, gnnpool::Init::signed_identity, 0, 30.0);
  params.initialize(0);
  gnnpool::StickBreakingKLLoss<double>::Cache kc;
  CHECK(gnnpool::StickBreakingKLLoss<double>(1.0, 2.5).forward(batch, sel, kc) == Approx(0.0).margin(1e-14));
  gnnpool::ConnectivityPriorLoss<double>::Cache pc;
  CHECK(gnnpool::ConnectivityPriorLoss<double>(k, 1.0, 30.0).forward(params, batch, sel, pc) == 0.0);
  CHECK(gnnpool::ConnectivityPriorLoss<double>(k, 1.0, 10.0).forward(params, batch, sel, pc) ==
        Approx(4 * 0.5 * 400 / 36.0).epsilon(1e-14));
  gnnpool::EdgeReconstructionLoss<double>::Cache rc;
  CHECK(gnnpool::EdgeReconstructionLoss<double>(k).forward(params, batch, sel, rc) < 1e-11);
}

TEST_CASE("EdgeReconstructionLoss over row blocks and chunks matches the direct sum over all pairs",
          "[pool][bnpool][chunks]") {
  // 1 100 nodes: two row chunks (1 024 + 76 rows), blocks of 64 rows with a last one of 12, and a
  // weighted, non-symmetric K: value and every gradient against the plain O(n^2 K) formulas, and
  // the same bytes at 1 and 2 threads.
  const Index n = 1100, k = 4;
  const auto batch = gnnpool::testing::random_graph<double>(n, 3300, 2, 91, {.weighted = true});
  const auto soft = gnnpool::test::soft_test_selection(batch, k, 92);
  gnnpool::StickBreakingSelection<double> sel;
  sel.s = soft.s;
  sel.offsets = soft.offsets;
  ParameterSet<double> params;
  const Index slot = params.add("K", k, k, gnnpool::Init::glorot);
  params.initialize(93);
  const Matrix<double>& kmat = params[slot];
  const Matrix<double> dense_a = Matrix<double>(batch.adj);
  const Index edges = batch.adj.nonZeros();
  const double c = static_cast<double>(n * n - edges) / static_cast<double>(edges);
  const Matrix<double> r = sel.s * kmat * sel.s.transpose();
  double expected = 0;
  Matrix<double> dr(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      const double a = dense_a(i, j), w = a != 0 ? c : 1.0, v = r(i, j);
      expected += w * (std::max(v, 0.0) - v * a + std::log1p(std::exp(-std::abs(v))));
      dr(i, j) = w * (1 / (1 + std::exp(-v)) - a) / double(n * n);
    }
  expected /= double(n * n);
  const Matrix<double> expected_ds = dr * sel.s * kmat.transpose() + dr.transpose() * sel.s * kmat;
  const Matrix<double> expected_dk = sel.s.transpose() * dr * sel.s;

  const gnnpool::EdgeReconstructionLoss<double> loss(slot);
  auto run = [&](Matrix<double>& ds, Matrix<double>& dk, gnnpool::Vector<double>& da) {
    gnnpool::EdgeReconstructionLoss<double>::Cache cache;
    const double value = loss.forward(params, batch, sel, cache);
    gnnpool::BatchGrad<double> din{Matrix<double>::Zero(n, 2), gnnpool::Vector<double>::Zero(edges)};
    ds = Matrix<double>::Zero(n, k);
    ParameterSet<double> dparams = params.zeros_like();
    loss.backward(params, batch, sel, cache, 1.0, din, ds, dparams);
    dk = dparams[slot];
    da = din.adj;
    return value;
  };
  Matrix<double> ds1, dk1, ds2, dk2;
  gnnpool::Vector<double> da1, da2;
  gnnpool::set_num_threads(1);
  const double v1 = run(ds1, dk1, da1);
  gnnpool::set_num_threads(2);
  const double v2 = run(ds2, dk2, da2);
  gnnpool::set_num_threads(1);
  CHECK(v1 == Approx(expected).epsilon(1e-13));
  CHECK((ds1 - expected_ds).cwiseAbs().maxCoeff() <= 1e-13 * expected_ds.cwiseAbs().maxCoeff());
  CHECK((dk1 - expected_dk).cwiseAbs().maxCoeff() <= 1e-13 * expected_dk.cwiseAbs().maxCoeff());
  double worst_da = 0, largest_da = 0;
  for (Index i = 0, p = 0; i < n; ++i)
    for (gnnpool::SparseMatrix<double>::InnerIterator it(batch.adj, i); it; ++it, ++p) {
      const double want = -c * r(i, it.col()) / double(n * n);
      worst_da = std::max(worst_da, std::abs(da1[p] - want));
      largest_da = std::max(largest_da, std::abs(want));
    }
  CHECK(worst_da <= 1e-13 * largest_da);
  CHECK(std::memcmp(&v1, &v2, sizeof v1) == 0);
  CHECK(ds1 == ds2);
  CHECK(dk1 == dk2);
  CHECK(da1 == da2);
}

TEST_CASE("EdgeReconstructionLoss backward refuses a cache of another forward (all and sampled pairs)",
          "[pool][bnpool][errors]") {
  // The cache's per-graph scales and sampled pairs index the batch: a cache of a smaller batch,
  // or a pair outside it, is refused before it is read.
  const std::vector<Index> sizes{6, 7};
  const auto batch = gnnpool::testing::random_batch<double>(sizes, 2.0, 2, 51);
  const auto one = gnnpool::testing::random_graph<double>(6, 10, 2, 52);
  const Index k = 3;
  ParameterSet<double> params;
  const Index slot = params.add("K", k, k, gnnpool::Init::glorot);
  params.initialize(53);
  const auto selection = [&](const gnnpool::Batch<double>& b) {
    const auto soft = gnnpool::test::soft_test_selection(b, k, 54);
    gnnpool::StickBreakingSelection<double> sel;
    sel.s = soft.s;
    sel.offsets = soft.offsets;
    return sel;
  };
  const auto sel = selection(batch), sel_one = selection(one);
  for (const auto pairs : {ReconstructionPairs::all, ReconstructionPairs::sampled}) {
    const gnnpool::EdgeReconstructionLoss<double> loss(slot, 1.0, pairs);
    gnnpool::EdgeReconstructionLoss<double>::Cache small;
    (void)loss.forward(params, one, sel_one, small);
    gnnpool::BatchGrad<double> din{Matrix<double>::Zero(13, 2), gnnpool::Vector<double>::Zero(batch.adj.nonZeros())};
    Matrix<double> ds = Matrix<double>::Zero(13, k);
    ParameterSet<double> dparams = params.zeros_like();
    gnnpool::test::require_throws_with<gnnpool::shape_error>(
        [&] { loss.backward(params, batch, sel, small, 1.0, din, ds, dparams); },
        {"EdgeReconstructionLoss backward", "the batch 2", "cache of the same forward"});
    if (pairs == ReconstructionPairs::sampled) {
      gnnpool::EdgeReconstructionLoss<double>::Cache cache;
      (void)loss.forward(params, batch, sel, cache);
      REQUIRE(!cache.pairs.empty());
      cache.pairs.front().j = 40;
      gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
          [&] { loss.backward(params, batch, sel, cache, 1.0, din, ds, dparams); },
          {"EdgeReconstructionLoss backward", "lies outside the batch of 13 nodes"});
    }
    CHECK(ds.isZero());
  }
}

TEST_CASE("StickBreakingKLLoss of one large graph: chunked sum, the same bytes at 1, 2 and 3 threads", "[pool][bnpool][chunks]") {
  // 3 000 nodes: the graph's sum runs over three fixed chunks of rows (in parallel), the gradient
  // over row chunks; both against the plain loop over every entry, and the bytes for any count.
  const Index n = 3000, m = 5;
  const auto batch = gnnpool::testing::random_graph<double>(n, 6000, 2, 71);
  gnnpool::StickBreakingSelection<double> sel;
  sel.s = Matrix<double>::Constant(n, m + 1, 1.0 / double(m + 1));
  sel.offsets = batch.offsets;
  sel.alpha = (Matrix<double>::Random(n, m).array() + 1.5).matrix();
  sel.beta = (Matrix<double>::Random(n, m).array() * 2 + 3).matrix();
  sel.z = Matrix<double>::Constant(n, m, 0.5);
  const gnnpool::StickBreakingKLLoss<double> loss(1.0, 2.0);
  const double prior = gnnpool::detail::log_beta(1.0, 2.0);
  double expected = 0;
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < m; ++j) {
      const double a = sel.alpha(i, j), b = sel.beta(i, j);
      expected += prior - gnnpool::detail::log_beta(a, b) + (a - 1) * gnnpool::detail::digamma(a) +
                  (b - 2) * gnnpool::detail::digamma(b) + (3 - a - b) * gnnpool::detail::digamma(a + b);
    }
  expected /= double(n) * double(n);
  auto run = [&](int threads, Matrix<double>& da, Matrix<double>& db) {
    gnnpool::set_num_threads(threads);
    gnnpool::StickBreakingKLLoss<double>::Cache cache;
    const double value = loss.forward(batch, sel, cache);
    sel.dalpha.resize(0, 0);
    sel.dbeta.resize(0, 0);
    gnnpool::BatchGrad<double> din{Matrix<double>::Zero(n, 2), gnnpool::Vector<double>::Zero(batch.adj.nonZeros())};
    Matrix<double> dsel;
    loss.backward(batch, sel, cache, 1.0, din, dsel);
    da = sel.dalpha;
    db = sel.dbeta;
    return value;
  };
  const int saved = gnnpool::num_threads();
  Matrix<double> da1, db1;
  const double v1 = run(1, da1, db1);
  CHECK(v1 == Approx(expected).epsilon(1e-13));
  const double a0 = sel.alpha(7, 3), b0 = sel.beta(7, 3), s = 1.0 / (double(n) * double(n));
  CHECK(da1(7, 3) == Approx(s * ((a0 - 1) * gnnpool::detail::trigamma(a0) +
                                 (3 - a0 - b0) * gnnpool::detail::trigamma(a0 + b0))).epsilon(1e-13));
  for (const int threads : {2, 3}) {
    Matrix<double> da, db;
    const double v = run(threads, da, db);
    CHECK(std::memcmp(&v, &v1, sizeof v) == 0);
    CHECK(da == da1);
    CHECK(db == db1);
  }
  gnnpool::set_num_threads(saved);
}

TEST_CASE("BNPool backward matches finite differences (quantile draws and the mean, all pairs and sampled non-edges), float matches double",
          "[pool][bnpool][gradcheck]") {
  auto batch = gnnpool::test::soft_test_batch<double>(3, 911);
  for (const auto pairs : {gnnpool::ReconstructionPairs::all, gnnpool::ReconstructionPairs::sampled})
    for (const auto sampling : {StickBreakingSampling::quantiles, StickBreakingSampling::mean}) {
      ParameterSet<double> params;
      BNPoolOptions<double> o{.k = 3, .hidden = {4}, .activation = gnnpool::Activation::tanh, .alpha_dp = 1.5};
      o.sampling.sampling = sampling;
      o.sampling.seed = 7;
      o.kl_weight = 0.8;
      o.reconstruction = pairs;
      const BNPool<double> pool(params, "", 3, o);
      params.initialize(21);
      const auto r = gnnpool::testing::check_pool(pool, params, batch);
      INFO(r.log);
      CHECK(r.ok);
    }
  const auto fbatch = gnnpool::test::soft_test_batch<double>(3, 921);
  CHECK(gnnpool::test::pool_float_gap(
            []<typename S>(ParameterSet<S>& params) {
              BNPoolOptions<S> o{.k = 3};
              o.sampling.sampling = StickBreakingSampling::mean;
              return BNPool<S>(params, "", 3, o);
            },
            fbatch, 3) < 1e-4);
}

TEST_CASE("BN-Pool's sampled reconstruction reads the edges and as many free pairs, replayably",
          "[pool][bnpool][sampled]") {
  // Three graphs: a sparse one (rejection sampling), a single node (no pairs), and a dense one
  // (K_6 without two undirected edges: four free pairs, listed).
  gnnpool::EdgeList dense_edges;
  for (Index i = 0; i < 6; ++i)
    for (Index j = i + 1; j < 6; ++j)
      if (!((i == 0 && j == 1) || (i == 2 && j == 5))) dense_edges.emplace_back(i, j);
  const auto sparse = gnnpool::testing::random_graph<double>(30, 45, 3, 61, {.weighted = true});
  const auto single = gnnpool::make_graph<double>(Matrix<double>::Ones(1, 3), gnnpool::EdgeList{});
  const auto dense = gnnpool::make_graph<double>(Matrix<double>::Ones(6, 3), dense_edges);
  const std::vector<gnnpool::Batch<double>> graphs{sparse, single, dense};
  const auto batch = gnnpool::concatenate<double>(graphs);
  const auto soft = gnnpool::test::soft_test_selection(batch, 3, 62);
  gnnpool::StickBreakingSelection<double> sel;
  sel.s = soft.s;
  sel.offsets = soft.offsets;
  ParameterSet<double> params;
  const Index slot = params.add("K", 3, 3, gnnpool::Init::glorot);
  params.initialize(63);
  const gnnpool::EdgeReconstructionLoss<double> loss(slot, 1.0, ReconstructionPairs::sampled, 64);
  gnnpool::EdgeReconstructionLoss<double>::Cache cache;
  const double value = loss.forward(params, batch, sel, cache);

  const Matrix<double> r = sel.s * params[slot] * sel.s.transpose();
  const Matrix<double> a = Matrix<double>(batch.adj);
  double expected = 0;
  for (Index b = 0; b < 3; ++b) {
    const Index lo = batch.graph_begin(b), n = batch.graph_size(b);
    Index positives = 0, free = 0;
    for (Index i = lo; i < lo + n; ++i)
      for (Index j = lo; j < lo + n; ++j) {
        if (a(i, j) != 0) ++positives;
        if (i != j && a(i, j) == 0) ++free;  // no stored zeros here
      }
    const Index negatives = std::min(positives, free);
    const Index begin = cache.pair_offsets[std::size_t(b)], end = cache.pair_offsets[std::size_t(b) + 1];
    CHECK(end - begin == positives + negatives);
    CHECK(cache.normalizer[b] == double(std::max<Index>(positives + negatives, 1)));
    double sum = 0;
    for (Index q = begin; q < end; ++q) {
      const auto& pair = cache.pairs[std::size_t(q)];
      CHECK(pair.i >= lo);
      CHECK(pair.i < lo + n);
      CHECK(pair.j >= lo);
      CHECK(pair.j < lo + n);
      const bool positive = q - begin < positives;
      CHECK((pair.position >= 0) == positive);
      if (!positive) {
        CHECK(pair.i != pair.j);
        CHECK(a(pair.i, pair.j) == 0);
      }
      const double y = positive ? a(pair.i, pair.j) : 0.0, v = r(pair.i, pair.j);
      sum += std::max(v, 0.0) - v * y + std::log1p(std::exp(-std::abs(v)));
    }
    expected += sum / std::max<double>(double(positives + negatives), 1.0);
  }
  CHECK(value == Approx(expected / 3).epsilon(1e-13));
  CHECK(cache.pair_offsets[3] - cache.pair_offsets[2] == 26 + 4);  // the dense graph: 26 edges, its 4 free pairs
  // Replay: a fresh cache draws the same pairs; the next forward on the same cache draws others.
  gnnpool::EdgeReconstructionLoss<double>::Cache fresh;
  CHECK(loss.forward(params, batch, sel, fresh) == value);
  (void)loss.forward(params, batch, sel, cache);
  bool differs = false;
  for (std::size_t q = 0; q < cache.pairs.size(); ++q)
    differs = differs || cache.pairs[q].i != fresh.pairs[q].i || cache.pairs[q].j != fresh.pairs[q].j;
  CHECK(differs);
  // The KL term is divided by the same count: one graph, the sampled KL = the dense KL n^2 / pairs.
  const auto& one = sparse;
  gnnpool::StickBreakingSelection<double> sel1;
  sel1.s = sel.s.topRows(30);
  sel1.offsets = one.offsets;
  sel1.alpha = Matrix<double>::Constant(30, 2, 0.7);
  sel1.beta = Matrix<double>::Constant(30, 2, 1.9);
  gnnpool::StickBreakingKLLoss<double>::Cache kc;
  const double kl_all = gnnpool::StickBreakingKLLoss<double>(1.0, 1.5).forward(one, sel1, kc);
  const double kl_sampled = gnnpool::StickBreakingKLLoss<double>(1.0, 1.5, ReconstructionPairs::sampled).forward(one, sel1, kc);
  const Index pairs = cache.pair_offsets[1];  // the sparse graph is first in both batches
  CHECK(kl_sampled == Approx(kl_all * 900.0 / double(pairs)).epsilon(1e-13));
  // A complete graph has no free pair: only its edges are read.
  gnnpool::EdgeList complete;
  for (Index i = 0; i < 4; ++i)
    for (Index j = i + 1; j < 4; ++j) complete.emplace_back(i, j);
  const auto k4 = gnnpool::make_graph<double>(Matrix<double>::Ones(4, 3), complete);
  gnnpool::StickBreakingSelection<double> sel4;
  sel4.s = sel.s.topRows(4);
  sel4.offsets = k4.offsets;
  gnnpool::EdgeReconstructionLoss<double>::Cache c4;
  (void)loss.forward(params, k4, sel4, c4);
  CHECK(c4.pairs.size() == 12);
}

TEST_CASE("BNPool with sampled reconstruction runs in O(E K) on a graph of 10^5 nodes", "[pool][bnpool][sampled]") {
  // 10^5 nodes and 2 * 10^5 stored entries: the dense mode would read 10^10 pairs.
  const auto big = gnnpool::testing::random_graph<double>(100000, 100000, 4, 942);
  ParameterSet<double> params;
  BNPoolOptions<double> o{.k = 4};
  o.reconstruction = gnnpool::ReconstructionPairs::sampled;
  const BNPool<double> pool(params, "", 4, o);
  params.initialize(24);
  BNPool<double>::Output out;
  BNPool<double>::Cache cache;
  pool.forward(params, big, out, cache);
  CHECK(std::isfinite(out.weighted_loss()));
  CHECK(out.batch.num_nodes() == 4);
}

TEST_CASE("A model with BNPool passes the whole-model gradient check (quantile draws and the mean, all and sampled pairs)",
          "[pool][bnpool][model]") {
  // A recorded model draws new quantiles and non-edges at every forward (the tape keeps the
  // caches, and their draw counters, between steps), which finite differences cannot compare:
  // redraw = false makes every forward read draw 0, so the check sees one smooth function.
  for (const auto sampling : {StickBreakingSampling::quantiles, StickBreakingSampling::mean})
    for (const auto pairs : {ReconstructionPairs::all, ReconstructionPairs::sampled}) {
      INFO("sampling " << static_cast<int>(sampling) << ", pairs " << static_cast<int>(pairs));
      BNPoolOptions<double> o{.k = 3, .reconstruction = pairs};
      o.sampling = {.sampling = sampling, .seed = 17, .redraw = false};
      const auto r = gnnpool::test::check_conv_after_pool(
          [&](ParameterSet<double>& params, Index width) { return BNPool<double>(params, "pool", width, o); },
          /*with_inputs=*/true);
      INFO(r.log);
      CHECK(r.ok);
    }
}

TEST_CASE("BNPool with redraw off repeats draw 0 with one cache; with it on, the next forward draws anew",
          "[pool][bnpool][sampled]") {
  std::vector<Index> sizes{9, 7};
  const auto batch = gnnpool::testing::random_batch<double>(sizes, 2.0, 3, 77);
  for (const bool redraw : {false, true}) {
    INFO("redraw " << redraw);
    ParameterSet<double> params;
    BNPoolOptions<double> o{.k = 4, .reconstruction = ReconstructionPairs::sampled};
    o.sampling = {.seed = 5, .redraw = redraw};
    const BNPool<double> pool(params, "bn", 3, o);
    params.initialize(2);
    BNPool<double>::Cache cache;
    BNPool<double>::Output first, second;
    pool.forward(params, batch, first, cache);
    pool.forward(params, batch, second, cache);
    CHECK((first.selection.z == second.selection.z) == !redraw);
    CHECK((first.loss("quality") == second.loss("quality")) == !redraw);
  }
}

TEST_CASE("BNPool and its policies reject bad settings", "[pool][bnpool][errors]") {
  ParameterSet<double> params;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([&] { (void)BNPool<double>(params, "bn", 3, {.k = 1}); },
                                                                {"bn (BNPool)", "k must be >= 2", "1"});
  BNPoolOptions<double> o{.k = 3};
  o.sampling.sampling = StickBreakingSampling::given;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([&] { (void)BNPool<double>(params, "b2", 3, o); },
                                                                {"StickBreakingSelect", "given", "samples"});
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [] { (void)gnnpool::StickBreakingKLLoss<double>(1.0, -1.0); }, {"StickBreakingKLLoss", "alpha_DP", "-1"});
}

}  // namespace gnnpool_test_pool_bn_pool
