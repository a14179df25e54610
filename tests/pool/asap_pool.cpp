// Tests of gnnpool/pool/asap_pool.hpp and the sparse selection it is built on:
// gnnpool/select/asap.hpp, gnnpool/core/sparse_selection.hpp, gnnpool/reduce/sparse.hpp,
// gnnpool/connect/representative.hpp and gnnpool/pool/sparse_lift.hpp. The pooled x is
// fit * cluster features of the kept centres, the pooled graph the edges between centres in the
// rows' own (score) order; gradient checks alone, on a tape with both lifts, float against
// double, errors.

#include <gnnpool/connect/representative.hpp>
#include <gnnpool/core/sparse_selection.hpp>
#include <gnnpool/pool/asap_pool.hpp>
#include <gnnpool/pool/sparse_lift.hpp>
#include <gnnpool/reduce/sparse.hpp>
#include <gnnpool/select/asap.hpp>

#include "pool/hard_test_support.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_asap_pool {

using namespace gnnpool;

static_assert(LiftPolicy<SparseLift<double>, SparseSelection<double>>);

namespace {

Batch<double> batch(std::vector<Index> sizes, std::uint64_t seed) {
  return testing::random_batch<double>(sizes, 2.5, 3, seed, {.weighted = true});
}

}  // namespace

TEST_CASE("ASAPPool pools fit * cluster features of the kept centres and the edges between them", "[pool][asap]") {
  const Batch<double> g = batch({9, 6}, 4);
  ParameterSet<double> params;
  const ASAPPool<double> pool(params, "asap", 3);
  CHECK(pool.name() == "asap (ASAPPool)");
  params.initialize(5);
  typename ASAPPool<double>::Output out;
  typename ASAPPool<double>::Cache cache;
  pool.forward(params, g, out, cache);
  const auto& sel = out.selection;
  REQUIRE(sel.offsets == IndexVector{0, 5, 8});  // ceil(4.5), ceil(3)
  const auto& c = cache.select;
  for (Index k = 0; k < sel.num_supernodes(); ++k) {
    const Index i = sel.representative[static_cast<std::size_t>(k)];
    CHECK(sel.assignment[static_cast<std::size_t>(i)] == k);
    CHECK(sel.scale(k) == c.fit[i]);
    CHECK(out.batch.x.row(k).isApprox(c.fit[i] * c.cluster.row(i)));
    // The attention over i's cluster sums to 1.
    double total = 0;
    for (StorageIndex e = sel.start[static_cast<std::size_t>(k)]; e < sel.start[static_cast<std::size_t>(k) + 1]; ++e)
      total += sel.weight[e];
    CHECK(total == Approx(1.0));
    if (k > 0 && k != 5) CHECK(sel.scale(k - 1) >= sel.scale(k));  // score order within a graph
  }
  // Pooled edges: A between the centres, in the rows' order, no self loops.
  for (Index a = 0; a < sel.num_supernodes(); ++a)
    for (Index b = 0; b < sel.num_supernodes(); ++b) {
      const Index i = sel.representative[static_cast<std::size_t>(a)], j = sel.representative[static_cast<std::size_t>(b)];
      CHECK(out.batch.adj.coeff(a, b) == (a == b ? 0.0 : g.adj.coeff(i, j)));
    }
  // tgp's lift puts fit * x' back at the centres; the assignment lift spreads S x'.
  Matrix<double> lifted;
  SparseLift<double>().forward(sel, out.batch.x, lifted);
  CHECK(lifted.row(sel.representative[0]).isApprox(sel.scale(0) * out.batch.x.row(0)));
  CHECK(lifted.rowwise().squaredNorm().cwiseSign().sum() == Approx(double(sel.num_supernodes())));
}

TEST_CASE("ASAPPool passes the gradient check (weighted and unweighted fitness), alone and on a tape",
          "[pool][asap][gradcheck]") {
  for (const bool weighted : {true, false}) {
    Batch<double> g = batch({8, 1, 6}, 5);
    ParameterSet<double> params;
    const ASAPPool<double> pool(params, "", 3, {.select = {.fitness_edge_weights = weighted}});
    params.initialize(7);
    const auto r = testing::check_pool(pool, params, g);
    INFO(r.log);
    CHECK(r.ok);
  }
  for (const auto mode : {SparseLiftMode::representative, SparseLiftMode::assignment}) {
    Batch<double> g = batch({7, 6}, 6);
    const SparseLift<double> lift(mode);
    const auto t = test::check_pool_on_tape([](ParameterSet<double>& p, Index h) { return ASAPPool<double>(p, "pool", h); },
                                            g, &lift);
    INFO(t.log);
    CHECK(t.ok);
  }
}

TEST_CASE("ASAPPool in float matches double", "[pool][asap][float]") {
  const Batch<double> g = batch({20, 11}, 8);
  ParameterSet<double> nd;
  ParameterSet<float> nf;
  const ASAPPool<double> pd(nd, "", 3);
  const ASAPPool<float> pf(nf, "", 3);
  nd.initialize(1);
  test::require_float_matches_double(pd, nd, pf, nf, g);
}

TEST_CASE("ASAPPool and the sparse policies reject bad options and inputs", "[pool][asap][errors]") {
  ParameterSet<double> params;
  test::require_throws_with<invalid_argument>(
      [&] { ASAPPool<double>(params, "a", 3, {.select = {.topk = {.min_score = 0.5}}}); },
      {"ASAPSelect", "min_score is not supported"});
  const ASAPPool<double> pool(params, "b", 3);
  const auto wide = make_graph<double>(Matrix<double>::Ones(3, 2), EdgeList{{0, 1}});
  typename ASAPPool<double>::Output out;
  typename ASAPPool<double>::Cache cache;
  test::require_throws_with<shape_error>([&] { pool.forward(params, wide, out, cache); },
                                         {"b (ASAPPool)", "x is 3 x 2", "3 features"});
  SparseSelection<double> sel;
  sel.representative = {0};
  sel.assignment = {0, -1};
  sel.start = {0, 1};
  sel.node = {1};
  sel.weight = Vector<double>::Ones(2);
  Matrix<double> x;
  test::require_throws_with<shape_error>([&] { SparseLift<double>().forward(sel, Matrix<double>::Zero(2, 2), x); },
                                         {"SparseLift", "x_pooled has 2 rows", "1 supernodes"});
  sel.node = {5};
  const auto g = make_graph<double>(Matrix<double>::Ones(2, 1), EdgeList{{0, 1}});
  typename SparseReduce<double>::Cache rc;
  test::require_throws_with<invalid_argument>([&] { SparseReduce<double>().forward(g, sel, x, rc); },
                                              {"SparseReduce", "member node 5", "2 nodes"});
}

}  // namespace gnnpool_test_pool_asap_pool
