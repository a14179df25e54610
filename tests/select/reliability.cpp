// Regression tests of the selectors on input their options stop checking (issue 12): NDP with
// check_symmetric = false on directed graphs (finding F1, an out-of-bounds write and read), the
// same opt-out in Graclus and k-MIS (audited: they follow stored entries only and stay valid on
// directed graphs), KronConnect's opt-out, and k-MIS with a huge k (finding F9).

#include <gnnpool/connect/kron.hpp>
#include <gnnpool/pool/graclus_pool.hpp>
#include <gnnpool/pool/kmis_pool.hpp>
#include <gnnpool/pool/ndp_pool.hpp>
#include <gnnpool/select/graclus.hpp>
#include <gnnpool/select/kmis.hpp>
#include <gnnpool/select/ndp.hpp>

#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_select_reliability {

using gnnpool::Batch;
using gnnpool::EdgeList;
using gnnpool::EdgeListOptions;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::test::require_throws_with;

namespace {

/// The two directed graphs of the fuzz finding (make_graph without symmetrize: edge (u, v) is
/// the entry A(v, u)).
template <typename Scalar>
Batch<Scalar> directed_graph(int variant) {
  EdgeListOptions o;
  o.symmetrize = false;
  if (variant == 1) return gnnpool::make_graph<Scalar>(Matrix<Scalar>::Ones(3, 1), {{1, 0}, {0, 2}}, {}, o);
  return gnnpool::make_graph<Scalar>(Matrix<Scalar>::Ones(7, 1), {{1, 0}, {2, 1}, {3, 2}, {2, 3}, {2, 5}, {6, 5}}, {}, o);
}

/// A hard selection is well formed for `in`: every node is dropped or goes to a supernode of
/// its own graph, and each supernode's representative is one of its members.
template <typename Scalar>
void check_selection(const Batch<Scalar>& in, const HardSelection<Scalar>& sel) {
  REQUIRE(sel.num_nodes() == in.num_nodes());
  REQUIRE(sel.offsets.size() == in.offsets.size());
  for (Index b = 0; b < in.num_graphs(); ++b)
    for (Index i = in.graph_begin(b); i < in.graph_begin(b + 1); ++i) {
      const Index a = sel.assignment[static_cast<std::size_t>(i)];
      if (a == HardSelection<Scalar>::dropped) continue;
      CHECK(a >= sel.offsets[static_cast<std::size_t>(b)]);
      CHECK(a < sel.offsets[static_cast<std::size_t>(b) + 1]);
    }
  for (Index c = 0; c < sel.num_supernodes(); ++c)
    CHECK(sel.assignment[static_cast<std::size_t>(sel.representative[static_cast<std::size_t>(c)])] == c);
}

}  // namespace

TEST_CASE("F1: NDP without its symmetry check refuses a directed graph instead of indexing out of bounds",
          "[select][ndp][reliability]") {
  gnnpool::NDPPoolOptions o;
  o.select.check_symmetric = false;
  ParameterSet<double> none;
  const gnnpool::NDPPool<double> pool(none, "ndp", 1, o);
  gnnpool::NDPPool<double>::Output out;
  gnnpool::NDPPool<double>::Cache cache;
  // Variant 1 read eigenvalues()[-1]; variant 2 wrote ls(0, 2) into a 2 x 2 matrix.
  require_throws_with<gnnpool::invalid_argument>([&] { pool.forward(ParameterSet<double>{}, directed_graph<double>(1), out, cache); },
                                                 {"NDPSelect", "must be undirected", "A(0, 1) = 1 is an edge",
                                                  "A(1, 0) is absent", "check_symmetric = false"});
  require_throws_with<gnnpool::invalid_argument>([&] { pool.forward(ParameterSet<double>{}, directed_graph<double>(2), out, cache); },
                                                 {"NDPSelect", "must be undirected", "A(0, 1) = 1 is an edge"});
  // A zero weight does not make an edge: A(0, 1) = 1 with a stored A(1, 0) = 0 is one-way too.
  const std::vector<double> w{1.0, 0.0};
  EdgeListOptions directed;
  directed.symmetrize = false;
  const auto zero = gnnpool::make_graph<double>(Matrix<double>::Ones(2, 1), {{1, 0}, {0, 1}}, w, directed);
  require_throws_with<gnnpool::invalid_argument>([&] { pool.forward(ParameterSet<double>{}, zero, out, cache); },
                                                 {"A(0, 1) = 1 is an edge", "A(1, 0) is not positive"});

  // What the option does skip: the values of a mirrored pair may differ. NDP then still gives a
  // finite, valid split (each row's degree is its own sum; the solvers read one triangle).
  const std::vector<double> uneven{1.0, 3.0, 2.0, 2.0, 0.5, 4.0};
  const auto g = gnnpool::make_graph<double>(Matrix<double>::Ones(4, 1), {{0, 1}, {1, 0}, {1, 2}, {2, 1}, {2, 0}, {0, 2}},
                                             uneven, directed);
  gnnpool::NDPSelect<double> select(o.select);
  HardSelection<double> sel;
  gnnpool::NDPSelect<double>::Cache sc;
  select.forward(ParameterSet<double>{}, g, sel, sc);
  check_selection(g, sel);
  for (double v : sc.eigenvector) CHECK(std::isfinite(v));
  gnnpool::NDPSelectOptions checked;
  require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::NDPSelect<double>(checked).forward(ParameterSet<double>{}, g, sel, sc); },
                                                 {"NDPSelect", "symmetric"});
}

TEST_CASE("F1: KronConnect without its symmetry check still refuses a one-way edge", "[connect][kron][reliability]") {
  gnnpool::KronOptions o;
  o.check_symmetric = false;
  const auto g = directed_graph<double>(2);
  HardSelection<double> sel;
  sel.assignment = {0, -1, 1, -1, 2, -1, 3};
  sel.weight = gnnpool::Vector<double>::Ones(7);
  sel.representative = {0, 2, 4, 6};
  sel.offsets = {0, 4};
  require_throws_with<gnnpool::invalid_argument>([&] { (void)gnnpool::kron_reduction(g, sel, o); },
                                                 {"KronConnect", "must be undirected",
                                                  "KronOptions::check_symmetric = false"});
}

TEST_CASE("F1 audit: Graclus and k-MIS without their symmetry checks give valid selections on directed graphs",
          "[select][graclus][kmis][reliability]") {
  for (const int variant : {1, 2}) {
    const auto g = directed_graph<float>(variant);
    INFO("variant " << variant);
    for (int weighting = 0; weighting < 4; ++weighting)
      for (int order = 0; order < 3; ++order) {
        gnnpool::GraclusPoolOptions o;
        o.select.check_symmetric = false;
        o.select.weighting = static_cast<gnnpool::GraclusWeighting>(weighting);
        o.select.order = static_cast<gnnpool::GraclusOrder>(order);
        ParameterSet<float> none;
        const gnnpool::GraclusPool<float> pool(none, "graclus", 1, o);
        gnnpool::GraclusPool<float>::Output out;
        gnnpool::GraclusPool<float>::Cache cache;
        pool.forward(ParameterSet<float>{}, g, out, cache);
        check_selection(g, out.selection);
        // Every node is in a pair or alone: at least half the nodes (rounded up) stay.
        CHECK(2 * out.batch.num_nodes() >= g.num_nodes());
        gnnpool::check_batch(out.batch, "test");
      }
    for (const Index k : {1, 2, 3})
      for (int scorer = 1; scorer < 4; ++scorer) {
        gnnpool::KMISPoolOptions o;
        o.select.check_symmetric = false;
        o.select.k = k;
        o.select.scorer = static_cast<gnnpool::KMISScorer>(scorer);
        ParameterSet<float> params;
        const gnnpool::KMISPool<float> pool(params, "k", 1, o);
        gnnpool::KMISPool<float>::Output out;
        gnnpool::KMISPool<float>::Cache cache;
        pool.forward(params, g, out, cache);
        check_selection(g, out.selection);
        gnnpool::check_batch(out.batch, "test");
        for (Index i = 0; i < g.num_nodes(); ++i) CHECK(out.selection.assignment[static_cast<std::size_t>(i)] >= 0);
      }
  }
}

TEST_CASE("F9: k-MIS bounds k, and its heuristic stays finite for any accepted k", "[select][kmis][reliability]") {
  // The fuzz finding: k = 10^8 on a 10-node ring ran 10^8 sparse products (1.6 s; 10^12: hours).
  gnnpool::EdgeList ring;
  for (Index i = 0; i < 10; ++i) ring.push_back({i, (i + 1) % 10});
  const auto g = gnnpool::make_graph<double>(Matrix<double>::Ones(10, 2), ring);
  gnnpool::KMISOptions o;
  o.scorer = gnnpool::KMISScorer::constant;
  o.k = 100'000'000;
  require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::KMISSelect<double>{o}; },
                                                 {"KMISSelect", "k = 100000000", "max_k = 1024", "diameter"});
  ParameterSet<double> params;
  gnnpool::KMISPoolOptions po;
  po.select = o;
  require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::KMISPool<double>(params, "k", 2, po); }, {"max_k"});

  // Up to max_k (or a raised max_k), the k-hop search stops at the diameter and A^k 1 is kept in
  // range by exact powers of two: A^1024 1 = 2^1024 on the ring overflows even double.
  o.k = 1024;
  o.heuristic = gnnpool::KMISHeuristic::greedy;
  HardSelection<double> sel;
  gnnpool::KMISSelect<double>::Cache cache;
  const auto t0 = std::chrono::steady_clock::now();
  gnnpool::KMISSelect<double>(o).forward(params, g, sel, cache);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 5.0);
  CHECK(sel.num_supernodes() == 1);  // the 10-ring has diameter 5
  CHECK(cache.updated.allFinite());
  CHECK(cache.updated.minCoeff() > 0.0);
  CHECK(cache.updated.maxCoeff() == cache.updated.minCoeff());  // a regular graph: all tied
  const auto gf = gnnpool::make_graph<float>(Matrix<float>::Ones(10, 2), ring);
  HardSelection<float> sel_float;
  gnnpool::KMISSelect<float>::Cache cache_float;
  gnnpool::KMISSelect<float>(o).forward(ParameterSet<float>{}, gf, sel_float, cache_float);
  CHECK(cache_float.updated.allFinite());
  CHECK(cache_float.updated.minCoeff() > 0.0f);
  CHECK(sel_float.representative == sel.representative);
  // On a graph that is not regular, float (2^128 overflows at k = 128) ranks as double does.
  gnnpool::EdgeList star_path{{0, 1}, {0, 2}, {0, 3}, {0, 4}, {4, 5}, {5, 6}, {6, 7}};
  const auto sd = gnnpool::make_graph<double>(Matrix<double>::Ones(8, 1), star_path);
  const auto sf = gnnpool::make_graph<float>(Matrix<float>::Ones(8, 1), star_path);
  gnnpool::KMISOptions deep;
  deep.scorer = gnnpool::KMISScorer::degree;
  deep.k = 300;
  HardSelection<double> sel_d;
  HardSelection<float> sel_f;
  gnnpool::KMISSelect<double>::Cache cd;
  gnnpool::KMISSelect<float>::Cache cf;
  gnnpool::KMISSelect<double>(deep).forward(ParameterSet<double>{}, sd, sel_d, cd);
  gnnpool::KMISSelect<float>(deep).forward(ParameterSet<float>{}, sf, sel_f, cf);
  CHECK(cf.updated.allFinite());
  CHECK(cf.updated.minCoeff() > 0.0f);
  CHECK(cf.visit_order == cd.visit_order);
  CHECK(sel_f.representative == sel_d.representative);
  // A small k is not rescaled at all: the keys are s / (A^k 1) exactly.
  deep.k = 2;
  gnnpool::KMISSelect<double>(deep).forward(ParameterSet<double>{}, sd, sel_d, cd);
  CHECK(cd.updated[0] == 4.0 / 5.0);  // degree 4; (A^2 1)_0 = the degrees of its neighbours, 1 + 1 + 1 + 2
}

}  // namespace gnnpool_test_select_reliability
