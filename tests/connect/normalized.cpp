// Tests of gnnpool/connect/normalized.hpp: tgp's post-processing of a pooled adjacency (drop of
// tiny weights, symmetric degree normalisation, per-graph max normalisation) on a worked example,
// its backward by finite differences, and scatter_max's tie rule for the max.

#include <gnnpool/connect/cluster.hpp>
#include <gnnpool/connect/normalized.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/cluster.hpp>
#include <gnnpool/select/graclus.hpp>
#include <gnnpool/testing/gradcheck.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_connect_normalized {

using namespace gnnpool;

namespace {

using Connect = NormalizedConnect<ClusterConnect<double>>;
using GraclusNormalized = Pool<GraclusSelect<double>, ClusterReduce<double>, Connect>;

GraclusNormalized make_pool(NormalizedConnectOptions o) {
  GraclusOptions g;
  g.order = GraclusOrder::index;
  g.check_symmetric = false;
  return GraclusNormalized("graclus", GraclusSelect<double>(g), ClusterReduce<double>({ClusterAggregation::sum}),
                           Connect(ClusterConnect<double>{}, o));
}

/// A directed graph (no mirrored weights, so no tie in the max) of two components.
Batch<double> directed_batch() {
  std::vector<Index> sizes{7, 6};
  auto g = testing::random_batch<double>(sizes, 3.0, 2, 17, {.weighted = true});
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0.5, 1.5);
  for (Index e = 0; e < g.adj.nonZeros(); ++e) g.adj.valuePtr()[e] = u(rng);
  return g;
}

}  // namespace

TEST_CASE("NormalizedConnect: degree and max normalisation of a pooled path", "[connect][normalized]") {
  // Path 0-1-2 with weights 2 (0-1) and 4 (1-2) and an entry of 1e-9 on 0-2: identity clusters.
  std::vector<double> w{2, 4, 1e-9};
  auto g = make_graph<double>(Matrix<double>::Zero(3, 1), EdgeList{{0, 1}, {1, 2}, {0, 2}}, std::span<const double>(w));
  HardSelection<double> sel;
  sel.assignment = {0, 1, 2};
  sel.representative = {0, 1, 2};
  sel.weight.setOnes(3);
  sel.offsets = {0, 3};
  SparseMatrix<double> out;
  Connect::Cache cache;
  Connect(ClusterConnect<double>{}, {.degree_norm = true}).forward(g, sel, out, cache);
  CHECK(out.nonZeros() == 4);  // the 1e-9 entries are dropped
  const double d0 = 2, d1 = 6, d2 = 4;
  CHECK(out.coeff(0, 1) == Approx(2 / std::sqrt(d0 * d1)));
  CHECK(out.coeff(2, 1) == Approx(4 / std::sqrt(d2 * d1)));
  Connect(ClusterConnect<double>{}, {.max_norm = true}).forward(g, sel, out, cache);
  CHECK(out.coeff(0, 1) == Approx(0.5));
  CHECK(out.coeff(1, 2) == 1.0);
  // The max's gradient goes to the first maximal entry in (source, target) order: 1 -> 2.
  Vector<double> dout = Vector<double>::Zero(out.nonZeros());
  dout[0] = 1;  // entry (0, 1): the edge 1 -> 0, value 2 / 4
  BatchGrad<double> din;
  din.adj.setZero(g.adj.nonZeros());
  Vector<double> dsel;
  Connect(ClusterConnect<double>{}, {.max_norm = true}).backward(g, sel, cache, dout, din, dsel);
  // Stored entries: row 0 (0,1) (0,2), row 1 (1,0) (1,2), row 2 (2,0) (2,1); adj(t, s) is s -> t.
  // d(w_10 / m)/dw_10 = 1/4; d/dm = -2/16 goes to the edge 1 -> 2 (entry (2,1), source 1), not
  // to its mirror 2 -> 1 (entry (1,2), source 2).
  CHECK(din.adj[0] == Approx(0.25));
  CHECK(din.adj[5] == Approx(-0.125));
  CHECK(din.adj[3] == 0);
}

TEST_CASE("NormalizedConnect backward passes the gradient check", "[connect][normalized][gradcheck]") {
  for (const bool degree : {false, true})
    for (const bool max : {false, true}) {
      INFO("degree_norm " << degree << ", max_norm " << max);
      Batch<double> g = directed_batch();
      const auto pool = make_pool({.degree_norm = degree, .max_norm = max});
      ParameterSet<double> params;
      const auto r = testing::check_pool(pool, params, g);
      INFO(r.log);
      CHECK(r.ok);
    }
}

}  // namespace gnnpool_test_connect_normalized
