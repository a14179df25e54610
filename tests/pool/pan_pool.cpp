// Tests of gnnpool/pool/pan_pool.hpp and gnnpool/select/pan.hpp: PAN's score (features and the
// MET matrix's degree or diagonal) on a worked example, a consistent pooled graph (rows and edges
// in score order), the gradient checks (ratio and min_score modes, alone and on a tape), float
// against double, and the errors.

#include <gnnpool/pool/pan_pool.hpp>
#include <gnnpool/select/pan.hpp>

#include "pool/hard_test_support.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_pan_pool {

using namespace gnnpool;

TEMPLATE_TEST_CASE("PANPool scores by features and in-degree and pools in score order", "[pool][pan]", float, double) {
  using T = TestType;
  // Star 0-{1,2,3} (weights 1, 2, 3) plus the edge 2-3 (weight 1): in-degrees 6, 1, 3, 4.
  std::vector<T> w{1, 2, 3, 1};
  Matrix<T> x(4, 1);
  x << 0, 1, 0, -1;
  const auto g = make_graph<T>(x, EdgeList{{0, 1}, {0, 2}, {0, 3}, {2, 3}}, std::span<const T>(w));
  ParameterSet<T> params;
  const PANPool<T> pool(params, "pan", 1);
  params.at("pan.p").setOnes();
  params.at("pan.beta") << T(2), T(0.5);
  typename PANPool<T>::Output out;
  typename PANPool<T>::Cache cache;
  pool.forward(params, g, out, cache);
  // z = 2 x + 0.5 deg = (3, 2.5, 1.5, 0): keep nodes 0 and 1 (score order).
  CHECK(out.selection.representative == IndexVector{0, 1});
  CHECK(out.selection.weight[2] == Approx(std::tanh(1.5)));
  CHECK(out.batch.x(1, 0) == Approx(std::tanh(2.5)));
  // A'(0, 1) = A(0, 1) = 1 in the rows' own order.
  CHECK(Matrix<T>(out.batch.adj) == (Matrix<T>(2, 2) << 0, 1, 1, 0).finished());
  ParameterSet<T> p2;
  const PANPool<T> diag(p2, "d", 1, {.structure = PANStructure::diagonal});
  p2.at("d.p").setOnes();
  diag.forward(p2, g, out, cache);
  CHECK(cache.select.structure == Vector<T>::Zero(4));  // no self loops stored
}

TEST_CASE("PANPool passes the gradient check in every mode, alone and on a tape", "[pool][pan][gradcheck]") {
  std::vector<PANOptions> modes(4);
  modes[1].topk.nonlinearity = Activation::sigmoid;
  modes[2].topk.min_score = 0.1;
  modes[3].structure = PANStructure::diagonal;
  for (const auto& o : modes) {
    std::vector<Index> sizes{8, 1, 6};
    Batch<double> g = testing::random_batch<double>(sizes, 2.5, 3, 5, {.weighted = true, .self_loops = true});
    ParameterSet<double> params;
    const PANPool<double> pool(params, "", 3, o);
    params.initialize(7);
    params.at("beta") << 0.7, -0.4;
    params.at("p") = testing::random_features<double>(1, 3, 3);
    const auto r = testing::check_pool(pool, params, g);
    INFO(r.log);
    CHECK(r.ok);
  }
  std::vector<Index> sizes{7, 6};
  Batch<double> g = testing::random_batch<double>(sizes, 2.5, 3, 6, {.weighted = true});
  const WeightedHardLift<double> lift;
  const auto t = test::check_pool_on_tape([](ParameterSet<double>& p, Index h) { return PANPool<double>(p, "pool", h); },
                                          g, &lift);
  INFO(t.log);
  CHECK(t.ok);
}

TEST_CASE("PANPool in float matches double", "[pool][pan][float]") {
  std::vector<Index> sizes{20, 11};
  const Batch<double> g = testing::random_batch<double>(sizes, 3.0, 4, 8, {.weighted = true});
  ParameterSet<double> nd;
  ParameterSet<float> nf;
  const PANPool<double> pd(nd, "", 4);
  const PANPool<float> pf(nf, "", 4);
  nd.initialize(1);
  nd.at("p") = testing::random_features<double>(1, 4, 2);
  nd.at("beta") << 0.5, 0.3;
  test::require_float_matches_double(pd, nd, pf, nf, g);
}

TEST_CASE("PANPool rejects bad options and inputs", "[pool][pan][errors]") {
  ParameterSet<double> params;
  test::require_throws_with<invalid_argument>([&] { PANPool<double>(params, "a", 2, {.topk = {.ratio = 1.5}}); },
                                              {"PANSelect", "ratio must lie in (0, 1)"});
  const PANPool<double> pool(params, "b", 2);
  auto g = make_graph<double>(Matrix<double>::Ones(3, 2), EdgeList{{0, 1}, {1, 2}});
  g.x(1, 1) = std::nan("");
  typename PANPool<double>::Output out;
  typename PANPool<double>::Cache cache;
  test::require_throws_with<invalid_argument>([&] { pool.forward(params, g, out, cache); },
                                              {"PANSelect", "score of node 1", "not finite"});
  const auto wide = make_graph<double>(Matrix<double>::Ones(3, 3), EdgeList{{0, 1}});
  test::require_throws_with<shape_error>([&] { pool.forward(params, wide, out, cache); },
                                         {"b (PANPool)", "x is 3 x 3", "2 features"});
  // The selection's own backward, called directly, checks the gradient it writes into (its dM
  // loop writes through a raw pointer).
  const PANSelect<double> select(params, "c", 2);
  params.initialize(1);  // p and beta = 1 (Init::ones)
  const auto good = make_graph<double>(Matrix<double>::Ones(3, 2), EdgeList{{0, 1}, {1, 2}});
  typename PANSelect<double>::Selection sel;
  typename PANSelect<double>::Cache sel_cache;
  select.forward(params, good, sel, sel_cache);
  const gnnpool::Vector<double> dsel = gnnpool::Vector<double>::Ones(3);
  ParameterSet<double> dparams = params.zeros_like();
  gnnpool::BatchGrad<double> din{Matrix<double>::Zero(3, 2), gnnpool::Vector<double>::Zero(3)};
  test::require_throws_with<shape_error>([&] { select.backward(params, good, sel, sel_cache, dsel, din, dparams); },
                                         {"PANSelect", "din.adj has 3 entries", "stores 4"});
  din = {Matrix<double>::Zero(2, 2), gnnpool::Vector<double>::Zero(4)};
  test::require_throws_with<shape_error>([&] { select.backward(params, good, sel, sel_cache, dsel, din, dparams); },
                                         {"PANSelect", "din.x is 2 x 2", "expected 3 x 2"});
  din = {Matrix<double>::Zero(3, 2), gnnpool::Vector<double>::Zero(4)};
  select.backward(params, good, sel, sel_cache, dsel, din, dparams);
  // dM_e = dz_i beta_1 for every entry of row i, dz = tanh'(z) = 1 - s^2 for ds = 1, beta = 1.
  for (Index i = 0; i < 3; ++i)
    for (auto e = good.adj.outerIndexPtr()[i]; e < good.adj.outerIndexPtr()[i + 1]; ++e)
      CHECK(din.adj[e] == Approx(1 - sel.weight[i] * sel.weight[i]));
}

}  // namespace gnnpool_test_pool_pan_pool
