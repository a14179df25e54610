// Tests of gnnpool/pool/nmf_pool.hpp, gnnpool/select/nmf.hpp and gnnpool/select/precomputed.hpp:
// the deterministic sparse NMF (objective, block recovery, determinism, monotone HALS), the
// NMFSelect special cases and padding, the pooler with its own or a precomputed selection,
// gradients, a model around it, errors.

#include <gnnpool/model/check.hpp>
#include <gnnpool/model/ops.hpp>
#include <gnnpool/model/tape.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/pool/nmf_pool.hpp>
#include <gnnpool/readout/mean.hpp>
#include <gnnpool/select/nmf.hpp>
#include <gnnpool/select/precomputed.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_nmf_pool {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::NMFPool;
using gnnpool::ParameterSet;

static_assert(gnnpool::PoolLayer<NMFPool<double>> && gnnpool::PoolLayer<NMFPool<float, gnnpool::PrecomputedSoftSelect<float>>>);

namespace {

/// Three cliques of 5, 4 and 6 nodes joined by one edge each: NMF with k = 3 should find them.
gnnpool::Batch<double> three_cliques() {
  gnnpool::EdgeList edges;
  const std::vector<Index> start{0, 5, 9, 15};
  for (std::size_t c = 0; c < 3; ++c)
    for (Index i = start[c]; i < start[c + 1]; ++i)
      for (Index j = i + 1; j < start[c + 1]; ++j) edges.emplace_back(i, j);
  edges.emplace_back(4, 5);
  edges.emplace_back(8, 9);
  return gnnpool::make_graph<double>(gnnpool::testing::random_features<double>(15, 3, 1), edges);
}

}  // namespace

TEST_CASE("nmf_factorize is deterministic, lowers the objective every sweep and finds dense blocks", "[pool][nmf]") {
  const auto batch = three_cliques();
  const auto a = gnnpool::nmf_factorize(batch.adj, 0, 15, 3);
  const auto b = gnnpool::nmf_factorize(batch.adj, 0, 15, 3);
  CHECK(a.w == b.w);
  CHECK(a.ht == b.ht);
  CHECK(a.w.minCoeff() >= 0);
  CHECK(a.ht.minCoeff() >= 0);
  const Matrix<double> dense(batch.adj);
  CHECK((dense - a.w * a.ht.transpose()).squaredNorm() == Approx(a.objective).epsilon(1e-10));
  // More sweeps never do worse (HALS is monotone).
  gnnpool::NMFOptions few;
  few.max_iterations = 2;
  few.tolerance = 0;
  CHECK(gnnpool::nmf_factorize(batch.adj, 0, 15, 3, few).objective >= a.objective - 1e-12);
  // Each clique's nodes share their argmax component, and the three cliques use three components.
  std::vector<Index> label(15);
  for (Index i = 0; i < 15; ++i) a.ht.row(i).maxCoeff(&label[static_cast<std::size_t>(i)]);
  for (Index i : {1, 2, 3, 4}) CHECK(label[static_cast<std::size_t>(i)] == label[0]);
  for (Index i : {6, 7, 8}) CHECK(label[static_cast<std::size_t>(i)] == label[5]);
  for (Index i : {10, 11, 12, 13, 14}) CHECK(label[static_cast<std::size_t>(i)] == label[9]);
  CHECK(label[0] != label[5]);
  CHECK(label[5] != label[9]);
  CHECK(label[0] != label[9]);
}

TEST_CASE("NMFSelect: softmax(H^T), ones for k_b = 1, I for k_b >= n_b, zero columns up to K", "[pool][nmf]") {
  std::vector<gnnpool::Batch<double>> graphs{three_cliques(),
                                             gnnpool::make_graph<double>(Matrix<double>::Ones(2, 3), gnnpool::EdgeList{{0, 1}}),
                                             gnnpool::make_graph<double>(Matrix<double>::Ones(1, 3), gnnpool::EdgeList{})};
  const auto batch = gnnpool::concatenate<double>(graphs);
  const gnnpool::NMFSelect<double> select(3);
  gnnpool::SoftSelection<double> sel;
  gnnpool::NMFSelect<double>::Cache cache;
  const ParameterSet<double> none;
  select.forward(none, batch, sel, cache);
  REQUIRE(sel.s.cols() == 3);
  const auto f = gnnpool::nmf_factorize(batch.adj, 0, 15, 3);
  Matrix<double> expected;
  gnnpool::row_softmax<double>(f.ht, expected);
  CHECK(gnnpool::test::max_relative_error(Matrix<double>(sel.s.topRows(15)), expected) < 1e-14);
  CHECK(sel.s.block(15, 0, 2, 3) == (Matrix<double>(2, 3) << 1, 0, 0, 0, 1, 0).finished());  // k_b = 2 = n_b: I
  CHECK(sel.s.row(17) == (Matrix<double>(1, 3) << 1, 0, 0).finished());                      // one node: ones(1, 1)
  CHECK(cache.iterations[0] > 0);
}

TEST_CASE("NMFPool: own and precomputed selections agree; backward matches finite differences", "[pool][nmf][gradcheck]") {
  auto batch = gnnpool::test::soft_test_batch<double>(3, 801);
  ParameterSet<double> params;
  const NMFPool<double> own(params, "nmf", 3, {.k = 3});
  CHECK(own.name() == "nmf (NMFPool)");
  NMFPool<double>::Output a;
  NMFPool<double>::Cache ca;
  own.forward(params, batch, a, ca);
  const gnnpool::SoftSelection<double> s = a.selection;
  const NMFPool<double, gnnpool::PrecomputedSoftSelect<double>> replay{gnnpool::PrecomputedSoftSelect<double>(&s)};
  NMFPool<double, gnnpool::PrecomputedSoftSelect<double>>::Output b;
  NMFPool<double, gnnpool::PrecomputedSoftSelect<double>>::Cache cb;
  replay.forward(params, batch, b, cb);
  CHECK(a.batch.x == b.batch.x);
  CHECK(Matrix<double>(a.batch.adj) == Matrix<double>(b.batch.adj));
  // S is a constant of the layer (as in tgp): the gradient check holds it fixed; x and A flow
  // through S^T X and S^T A S.
  const auto r = gnnpool::testing::check_pool(replay, params, batch);
  INFO(r.log);
  CHECK(r.ok);
  // With its own selection, the x gradient is the same (S does not read x).
  const auto rx = gnnpool::testing::check_pool(own, params, batch, {.adjacency = false});
  INFO(rx.log);
  CHECK(rx.ok);
}

TEST_CASE("NMFPool float matches double on the same selection", "[pool][nmf]") {
  // The factorisation itself is iterative and non-convex: float and double may stop at another
  // sweep. The pooling given S is what must agree.
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 811);
  const auto s64 = gnnpool::test::soft_test_selection(batch, 3, 812);
  const double gap = gnnpool::test::pool_float_gap(
      [&]<typename S>(ParameterSet<S>&) {
        static gnnpool::SoftSelection<S> sel;
        sel = gnnpool::test::cast_selection<S>(s64);
        return NMFPool<S, gnnpool::PrecomputedSoftSelect<S>>{gnnpool::PrecomputedSoftSelect<S>(&sel)};
      },
      batch, 1);
  CHECK(gap < gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("A model with NMFPool passes the whole-model gradient check (parameters and x)", "[pool][nmf][model]") {
  ParameterSet<double> params;
  const gnnpool::GCNConv<double> conv(params, "conv", 3, 4);
  const NMFPool<double> pool(params, "pool", 4, {.k = 2});
  const gnnpool::MeanReadout<double> mean;
  const gnnpool::Linear<double> head(params, "head", 4, 2);
  params.initialize(3);
  std::vector<Index> sizes{6, 7, 5};
  gnnpool::Batch<double> batch = gnnpool::testing::random_batch<double>(sizes, 2.5, 3, 821);
  const std::vector<Index> labels{0, 1, 1};
  const auto r = gnnpool::check_model(params, [&](gnnpool::Tape<double>& tape) {
    auto [g, x] = tape.inputs(batch);
    auto p = tape(pool, g, gnnpool::tanh(tape(conv, g, x)));
    return gnnpool::cross_entropy(tape(head, tape(mean, p.graph, p.x)), labels);
  });
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("NMFSelect, nmf_factorize and PrecomputedSoftSelect reject bad arguments", "[pool][nmf][errors]") {
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([] { (void)gnnpool::NMFSelect<double>(0); },
                                                                {"NMFSelect", "k must be >= 1", "0"});
  const auto batch = three_cliques();
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { (void)gnnpool::nmf_factorize(batch.adj, 0, 15, 16); }, {"nmf_factorize", "16 components", "15 nodes"});
  gnnpool::SoftSelection<double> wrong;
  wrong.s = Matrix<double>::Ones(3, 2);
  wrong.offsets = {0, 3};
  const gnnpool::PrecomputedSoftSelect<double> select(&wrong);
  gnnpool::SoftSelection<double> out;
  gnnpool::PrecomputedSoftSelect<double>::Cache cache;
  const ParameterSet<double> none;
  gnnpool::test::require_throws_with<gnnpool::shape_error>([&] { select.forward(none, batch, out, cache); },
                                                           {"PrecomputedSoftSelect", "3 x 2", "15 nodes"});
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { gnnpool::PrecomputedSoftSelect<double>().forward(none, batch, out, cache); }, {"PrecomputedSoftSelect", "no selection"});
}

}  // namespace gnnpool_test_pool_nmf_pool
