// Tests of gnnpool/pool/maxcut_pool.hpp, gnnpool/select/maxcut.hpp and gnnpool/loss/maxcut.hpp:
// the kept nodes and the majority-vote assignment on worked examples (ties, the fallback), the
// propagation matrix P = I - delta L_sym and tgp's trailing-node quirk, the loss against its
// formula, the gradient checks (alone, on a tape with the lift), float against double, errors.

#include <gnnpool/loss/maxcut.hpp>
#include <gnnpool/pool/maxcut_pool.hpp>
#include <gnnpool/select/maxcut.hpp>

#include "pool/hard_test_support.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_maxcut_pool {

using namespace gnnpool;

namespace {

/// Score = tanh(x): no convolution, no MLP, identity initial and final layers (F = 1).
MaxCutPool<double> identity_scorer(ParameterSet<double>& params, MaxCutPoolOptions o = {}) {
  o.select.mp_units = {};
  o.select.mlp_units = {};
  MaxCutPool<double> pool(params, "mc", 1, o);
  params.at("mc.selector.score_net.initial_layer.weight").setOnes();
  params.at("mc.selector.score_net.initial_layer.bias").setZero();
  params.at("mc.selector.score_net.final_layer.weight").setOnes();
  params.at("mc.selector.score_net.final_layer.bias").setZero();
  return pool;
}

Batch<double> path(const std::vector<double>& x) {
  const auto n = static_cast<Index>(x.size());
  EdgeList edges;
  for (Index i = 0; i + 1 < n; ++i) edges.emplace_back(i, i + 1);
  return make_graph<double>(Eigen::Map<const Matrix<double>>(x.data(), n, 1), edges);
}

/// A batch whose weights differ in each direction (no tie in the pooled max normalisation).
Batch<double> directed_batch(std::vector<Index> sizes, std::uint64_t seed) {
  auto g = testing::random_batch<double>(sizes, 3.0, 3, seed, {.weighted = true});
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.5, 1.5);
  for (Index e = 0; e < g.adj.nonZeros(); ++e) g.adj.valuePtr()[e] = u(rng);
  return g;
}

}  // namespace

TEST_CASE("MaxCutPool keeps the top scores and assigns the others by majority vote", "[pool][maxcut]") {
  ParameterSet<double> params;
  const auto pool = identity_scorer(params, {.select = {.ratio = 0.4}});
  // Path 0-...-6, kept (ceil(2.8) = 3): nodes 0, 1, 6, numbered by node: c0, c1, c2.
  const Batch<double> g = path({5, -1, -2, -3, -4, -5, 4});
  typename MaxCutPool<double>::Output out;
  typename MaxCutPool<double>::Cache cache;
  pool.forward(params, g, out, cache);
  CHECK(out.selection.representative == IndexVector{0, 1, 6});
  // Round 1: 2 joins c1, 5 joins c2; round 2: 3 joins c1, 4 joins c2.
  CHECK(out.selection.assignment == IndexVector{0, 1, 1, 1, 2, 2, 2});
  for (Index i = 0; i < 7; ++i) CHECK(out.selection.weight[i] == Approx(std::tanh(g.x(i, 0))));
  // x'_c = sum_i z_i x_i; the pooled path c0 - c1 - c2 with unit weights, divided by the max (1).
  CHECK(out.batch.x(0, 0) == Approx(std::tanh(5.0) * 5));
  CHECK(out.batch.x(2, 0) == Approx(std::tanh(-4.0) * -4 + std::tanh(-5.0) * -5 + std::tanh(4.0) * 4));
  Matrix<double> a(3, 3);
  a << 0, 1, 0, 1, 0, 1, 0, 1, 0;
  CHECK(Matrix<double>(out.batch.adj) == a);
  // maxcut_loss = sum_e w z_s z_t / vol over both directions of every edge.
  double cut = 0;
  for (Index i = 0; i + 1 < 7; ++i) cut += 2 * std::tanh(g.x(i, 0)) * std::tanh(g.x(i + 1, 0));
  CHECK(out.loss("maxcut_loss") == Approx(cut / 12));
}

TEST_CASE("MaxCutSelect breaks vote ties towards the lower supernode and falls back past max_iter",
          "[pool][maxcut]") {
  ParameterSet<double> params;
  // Path 0-2-1 plus the isolated node 3: kept 0 and 1 (ceil(0.5 * 4) = 2); node 2 sees c0 and c1.
  Matrix<double> x(4, 1);
  x << 2, 1, -1, -2;
  const Batch<double> g = make_graph<double>(x, EdgeList{{0, 2}, {2, 1}});
  {
    const auto pool = identity_scorer(params);
    typename MaxCutPool<double>::Output out;
    typename MaxCutPool<double>::Cache cache;
    pool.forward(params, g, out, cache);
    CHECK(out.selection.assignment[2] == 0);
    CHECK(out.selection.assignment[3] >= 0);  // the seeded draw: some kept node of its graph
  }
  ParameterSet<double> params2;
  const auto pool = identity_scorer(params2, {.select = {.random_map = {{3, 1}}}});
  typename MaxCutPool<double>::Output out;
  typename MaxCutPool<double>::Cache cache;
  pool.forward(params2, g, out, cache);
  CHECK(out.selection.assignment == IndexVector{0, 1, 0, 1});
  ParameterSet<double> params3;
  const auto bad = identity_scorer(params3, {.select = {.random_map = {{3, 2}}}});
  test::require_throws_with<invalid_argument>([&] { bad.forward(params3, g, out, cache); },
                                              {"MaxCutSelect", "random_map", "node 2", "not a kept node"});
  ParameterSet<double> params4;
  const auto only_topk = identity_scorer(params4, {.select = {.assign_all_nodes = false}});
  only_topk.forward(params4, g, out, cache);
  CHECK(out.selection.assignment == IndexVector{0, 1, -1, -1});
}

TEST_CASE("MaxCutSelect's propagation matrix and tgp's trailing isolated node", "[pool][maxcut]") {
  // Triangle 0-1-2 with weights 1, 2, 3 and the isolated node 3.
  std::vector<double> w{1, 2, 3};
  const auto g = make_graph<double>(Matrix<double>::Ones(4, 1), EdgeList{{0, 1}, {1, 2}, {0, 2}},
                                    std::span<const double>(w));
  detail::DeltaPropagation<double> prop;
  // P as a dense matrix: its values on A's entries, its diagonal apart.
  const auto dense = [&] {
    SparseMatrix<double> off = g.adj;
    std::copy(prop.values.data(), prop.values.data() + prop.values.size(), off.valuePtr());
    Matrix<double> p = off;
    p.diagonal() += prop.diag;
    return p;
  };
  prop.build(g.adj, 2.0, 4, "test");
  const Matrix<double> p = dense();
  // d = (4, 3, 5): P_01 = 2 * 1 / sqrt(4 * 3), P_ii = 1 - 2, the isolated node keeps its -1.
  CHECK(p(0, 1) == Approx(2.0 / std::sqrt(12.0)));
  CHECK(p(2, 1) == Approx(4.0 / std::sqrt(15.0)));
  CHECK(p(3, 3) == -1.0);
  prop.build(g.adj, 2.0, 3, "test");  // tgp: P is 3 x 3 (max index + 1)
  CHECK(dense()(3, 3) == 0.0);
  CHECK(dense()(0, 0) == -1.0);
  ParameterSet<double> params;
  MaxCutSelect<double> fixed(params, "a", 1, {.mp_units = {2}, .mlp_units = {}});
  MaxCutSelect<double> quirk(params, "b", 1, {.mp_units = {2}, .mlp_units = {}, .tgp_trailing_isolated = true});
  params.initialize(3);
  for (const char* part : {"initial_layer.weight", "initial_layer.bias", "mp_convs.0.lin.weight", "mp_convs.0.bias",
                           "final_layer.weight", "final_layer.bias"})
    params.at(std::string("b.selector.score_net.") + part) = params.at(std::string("a.selector.score_net.") + part);
  HardSelection<double> sa, sb;
  typename MaxCutSelect<double>::Cache ca, cb;
  fixed.forward(params, g, sa, ca);
  quirk.forward(params, g, sb, cb);
  CHECK(sa.weight.head(3) == sb.weight.head(3));
  CHECK(sa.weight[3] != sb.weight[3]);
  // P ignores A's self loops (its diagonal is 1 - delta whatever A stores there): a self loop on
  // node 1 changes neither P nor the scores.
  std::vector<double> wl{1, 2, 3, 7};
  const auto looped = make_graph<double>(Matrix<double>::Ones(4, 1), EdgeList{{0, 1}, {1, 2}, {0, 2}, {1, 1}},
                                         std::span<const double>(wl));
  REQUIRE(looped.adj.nonZeros() == g.adj.nonZeros() + 1);
  HardSelection<double> sl;
  typename MaxCutSelect<double>::Cache cl;
  fixed.forward(params, looped, sl, cl);
  CHECK((sl.weight - sa.weight).cwiseAbs().maxCoeff() < 1e-15);
  prop.build(looped.adj, 2.0, 4, "test");
  CHECK(prop.values[looped.adj.outerIndexPtr()[1] + 1] == 0.0);  // row 1: (1, 0), (1, 1), (1, 2)
  CHECK(prop.diag[1] == -1.0);
}

TEST_CASE("MaxCutPool passes the gradient check, alone and on a tape", "[pool][maxcut][gradcheck]") {
  const MaxCutOptions small{.mp_units = {4, 3}, .mlp_units = {3}};
  {
    Batch<double> g = directed_batch({8, 1, 6}, 5);
    ParameterSet<double> params;
    const MaxCutPool<double> pool(params, "", 3, {.select = small});
    params.initialize(2);
    const auto r = testing::check_pool(pool, params, g);
    INFO(r.log);
    CHECK(r.ok);
  }
  {
    // Symmetric weights and no max normalisation (its tie has no derivative).
    std::vector<Index> sizes{7, 5};
    Batch<double> g = testing::random_batch<double>(sizes, 2.5, 3, 6, {.weighted = true});
    ParameterSet<double> params;
    const MaxCutPool<double> pool(params, "", 3, {.select = small, .loss_coeff = 0.5, .connect = {.max_norm = false}});
    params.initialize(4);
    const auto r = testing::check_pool(pool, params, g);
    INFO(r.log);
    CHECK(r.ok);
  }
  Batch<double> g = directed_batch({7, 6}, 9);
  const WeightedHardLift<double> lift;
  const auto t = test::check_pool_on_tape(
      [&](ParameterSet<double>& p, Index h) { return MaxCutPool<double>(p, "pool", h, {.select = small}); }, g, &lift);
  INFO(t.log);
  CHECK(t.ok);
}

TEST_CASE("MaxCutPool in float matches double", "[pool][maxcut][float]") {
  const Batch<double> g = directed_batch({20, 13}, 3);
  ParameterSet<double> nd;
  ParameterSet<float> nf;
  const MaxCutOptions small{.mp_units = {4, 4}, .mlp_units = {4}};
  const MaxCutPool<double> pd(nd, "", 3, {.select = small});
  const MaxCutPool<float> pf(nf, "", 3, {.select = small});
  nd.initialize(5);
  test::require_float_matches_double(pd, nd, pf, nf, g);
}

TEST_CASE("MaxCutPool rejects bad options and inputs", "[pool][maxcut][errors]") {
  ParameterSet<double> params;
  test::require_throws_with<invalid_argument>([&] { MaxCutPool<double>(params, "a", 2, {.select = {.ratio = 0}}); },
                                              {"MaxCutSelect", "ratio must lie in (0, 1]"});
  test::require_throws_with<invalid_argument>([&] { MaxCutPool<double>(params, "b", 2, {.select = {.max_iter = -1}}); },
                                              {"MaxCutSelect", "max_iter must be >= 0"});
  const MaxCutPool<double> pool(params, "c", 2, {.select = {.mp_units = {2}, .mlp_units = {}}});
  std::vector<double> w{1, -3};
  const auto g = make_graph<double>(Matrix<double>::Ones(3, 2), EdgeList{{0, 1}, {1, 2}}, std::span<const double>(w),
                                    {.allow_negative_weights = true});
  typename MaxCutPool<double>::Output out;
  typename MaxCutPool<double>::Cache cache;
  test::require_throws_with<invalid_argument>([&] { pool.forward(params, g, out, cache); },
                                              {"MaxCutSelect", "node 1", "weighted degree -2"});
  const auto wide = make_graph<double>(Matrix<double>::Ones(3, 3), EdgeList{{0, 1}});
  test::require_throws_with<shape_error>([&] { pool.forward(params, wide, out, cache); },
                                         {"c (MaxCutPool)", "x is 3 x 3", "2 features"});
}

}  // namespace gnnpool_test_pool_maxcut_pool
