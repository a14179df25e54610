// Tests of gnnpool/select/sag.hpp: GraphConv and GCN scores against dense references, the
// sign-only select weight, edge weights used or ignored, gradients to x, A and every
// parameter, float against double, and the errors of bad input.

#include <gnnpool/select/sag.hpp>
#include <gnnpool/core/concepts.hpp>

#include "select/score_test_support.hpp"
#include "support/approx.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_select_sag {

using gnnpool::Batch;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::SAGOptions;
using gnnpool::SAGScorer;
using gnnpool::SAGSelect;
using gnnpool::Vector;
using gnnpool::test::require_throws_with;

static_assert(gnnpool::SelectPolicy<SAGSelect<float>>);
static_assert(gnnpool::SelectPolicy<SAGSelect<double>>);

namespace {

struct Run {
  HardSelection<double> sel;
  SAGSelect<double>::Cache cache;
};

Run run(const SAGSelect<double>& select, const ParameterSet<double>& params, const Batch<double>& g) {
  Run r;
  select.forward(params, g, r.sel, r.cache);
  return r;
}

/// Dense GraphConv with one output channel: A X w_rel^T + b + X w_root^T.
Vector<double> dense_graph_conv(const Batch<double>& g, const ParameterSet<double>& p) {
  const Matrix<double> a(g.adj);
  return (a * g.x * p.at("gnn.lin_rel.weight").transpose()).col(0).array() + p.at("gnn.lin_rel.bias")(0, 0) +
         (g.x * p.at("gnn.lin_root.weight").transpose()).col(0).array();
}

/// Dense GCN: D^-1/2 (A + I) D^-1/2 X w^T + b (no stored self loops in the test graphs).
Vector<double> dense_gcn(const Batch<double>& g, const ParameterSet<double>& p) {
  Matrix<double> a(g.adj);
  a.diagonal().array() += 1;
  const Vector<double> s = a.rowwise().sum().array().rsqrt();
  const Matrix<double> norm = s.asDiagonal() * a * s.asDiagonal();
  return (norm * g.x * p.at("gnn.lin.weight").transpose()).col(0).array() + p.at("gnn.bias")(0, 0);
}

/// The k lowest-index-among-equals top nodes of `score` in one graph, score-descending.
IndexVector top(const Vector<double>& score, Index k) {
  IndexVector idx(static_cast<std::size_t>(score.size()));
  for (Index i = 0; i < score.size(); ++i) idx[static_cast<std::size_t>(i)] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](Index a, Index b) { return score[a] > score[b]; });
  idx.resize(static_cast<std::size_t>(k));
  return idx;
}

}  // namespace

TEST_CASE("SAGSelect scores with GraphConv (PyG) and the sign of its select weight", "[select][sag]") {
  const auto g = gnnpool::test::random_cluster_batch<double>({11}, 4.0, 3, 2, true);
  ParameterSet<double> params;
  const SAGSelect<double> select(params, "pool", 3, {});
  CHECK(params.find("pool.gnn.lin_rel.weight") >= 0);
  CHECK(params.find("pool.gnn.lin_rel.bias") >= 0);
  CHECK(params.find("pool.gnn.lin_root.weight") >= 0);
  CHECK(params.find("pool.select.weight") >= 0);
  CHECK(params.size() == 4);
  params.initialize(7);
  ParameterSet<double> plain;  // the same numbers under PyG's unprefixed names for the reference
  {
    const SAGSelect<double> unprefixed(plain, "", 3, {});
    for (Index s = 0; s < params.size(); ++s) plain[s] = params[s];
  }
  const Vector<double> gref = dense_graph_conv(g, plain);
  for (const double w : {0.3, -2.0}) {
    params.at("pool.select.weight")(0, 0) = w;
    const auto r = run(select, params, g);
    const Vector<double> expected = (w > 0 ? gref : Vector<double>(-gref)).array().tanh();
    CHECK(gnnpool::test::max_relative_error(r.sel.weight, expected) < 1e-14);
    CHECK(r.sel.representative == top(expected, 6));  // ceil(0.5 * 11); w < 0 keeps the lowest g
  }
}

TEST_CASE("SAGSelect scores with GCN (paper, Spektral), without the select weight", "[select][sag]") {
  const auto g = gnnpool::test::random_cluster_batch<double>({13}, 3.0, 4, 8, true);
  SAGOptions o;
  o.scorer = SAGScorer::gcn;
  o.select_weight = false;
  o.topk.k = 4;
  ParameterSet<double> params;
  const SAGSelect<double> select(params, "", 4, o);
  CHECK(params.size() == 2);
  CHECK(select.weight_slot() == -1);
  params.initialize(3);
  params.at("gnn.bias")(0, 0) = 0.25;
  const auto r = run(select, params, g);
  const Vector<double> expected = dense_gcn(g, params).array().tanh();
  CHECK(gnnpool::test::max_relative_error(r.sel.weight, expected) < 1e-14);
  CHECK(r.sel.representative == top(expected, 4));
}

TEST_CASE("SAGSelect reads edge weights, or counts every edge as 1 like PyG", "[select][sag]") {
  const auto weighted = gnnpool::test::random_cluster_batch<double>({15}, 4.0, 3, 5, true);
  auto unit = weighted;
  std::fill(unit.adj.valuePtr(), unit.adj.valuePtr() + unit.adj.nonZeros(), 1.0);
  for (const auto scorer : {SAGScorer::graph_conv, SAGScorer::gcn}) {
    SAGOptions o;
    o.scorer = scorer;
    ParameterSet<double> params;
    const SAGSelect<double> with(params, "", 3, o);
    params.initialize(4);
    o.edge_weights = false;
    ParameterSet<double> p2;
    const SAGSelect<double> without(p2, "", 3, o);
    for (Index s = 0; s < params.size(); ++s) p2[s] = params[s];
    const auto a = run(with, params, weighted);
    const auto b = run(without, p2, weighted);
    const auto c = run(with, params, unit);
    CHECK(gnnpool::test::max_relative_error(a.sel.weight, b.sel.weight) > 1e-3);
    CHECK(b.sel.weight == c.sel.weight);
  }
}

TEST_CASE("SAGSelect backward: gradients to x, edge weights and every parameter", "[select][sag][gradcheck]") {
  auto g = gnnpool::test::random_cluster_batch<double>({8, 0, 11}, 3.0, 3, 13, true);
  std::vector<SAGOptions> cases(6);
  cases[1].scorer = SAGScorer::gcn;
  cases[2].topk.min_score = 0.1;  // softmax(g w): here w gets a real gradient
  cases[3].scorer = SAGScorer::gcn;
  cases[3].select_weight = false;
  cases[3].topk.nonlinearity = gnnpool::Activation::sigmoid;
  cases[4].edge_weights = false;
  cases[5].scorer_bias = false;
  cases[5].topk.order = gnnpool::NodeOrder::node_index;
  for (const auto& o : cases) {
    ParameterSet<double> params;
    const SAGSelect<double> select(params, "", 3, o);
    params.initialize(17);
    const auto result = gnnpool::test::check_select(select, params, g, true);
    INFO(result.log);
    CHECK(result.ok);
  }
}

TEST_CASE("SAGSelect: the select weight only contributes its sign in ratio mode", "[select][sag]") {
  auto g = gnnpool::test::random_cluster_batch<double>({12}, 3.0, 3, 1, true);
  ParameterSet<double> params;
  const SAGSelect<double> select(params, "", 3, {});
  params.initialize(2);
  const auto r = run(select, params, g);
  gnnpool::BatchGrad<double> din{Matrix<double>::Zero(12, 3), Vector<double>::Zero(g.adj.nonZeros())};
  auto dparams = params.zeros_like();
  select.backward(params, g, r.sel, r.cache, Vector<double>::Ones(12), din, dparams);
  CHECK(std::abs(dparams.at("select.weight")(0, 0)) < 1e-14);
  CHECK(dparams.at("gnn.lin_root.weight").norm() > 1e-3);
}

TEST_CASE("SAGSelect in float matches double", "[select][sag]") {
  const auto g = gnnpool::test::random_cluster_batch<double>({30, 20}, 4.0, 5, 6, true);
  for (const auto scorer : {SAGScorer::graph_conv, SAGScorer::gcn}) {
    SAGOptions o;
    o.scorer = scorer;
    // select.weight's gradient is exactly 0 up to round-off in both precisions.
    gnnpool::test::check_select_float_double<SAGSelect>(o, g, 9, {"select.weight"});
  }
}

TEST_CASE("SAGSelect rejects bad options and feature widths", "[select][sag][errors]") {
  ParameterSet<double> params;
  SAGOptions o;
  o.topk.ratio = 1.5;
  require_throws_with<gnnpool::invalid_argument>([&] { SAGSelect<double>(params, "", 3, o); },
                                                 {"SAGSelect", "ratio must lie in (0, 1), got 1.5"});
  o = {};
  o.topk.k = -1;
  require_throws_with<gnnpool::invalid_argument>([&] { SAGSelect<double>(params, "", 3, o); }, {"SAGSelect", "k must be at least 1"});
  o = {};
  o.topk.min_score = 2.0;
  require_throws_with<gnnpool::invalid_argument>([&] { SAGSelect<double>(params, "", 3, o); }, {"SAGSelect", "min_score", "got 2"});
  require_throws_with<gnnpool::invalid_argument>([&] { SAGSelect<double>(params, "s", 0, {}); },
                                                 {"SAGSelect 's'", "in_features must be >= 1"});
  ParameterSet<double> p2;
  const SAGSelect<double> select(p2, "", 4, {});
  const auto g = gnnpool::test::random_cluster_batch<double>({5}, 2.0, 3, 1, false);
  HardSelection<double> sel;
  SAGSelect<double>::Cache cache;
  require_throws_with<gnnpool::shape_error>([&] { select.forward(p2, g, sel, cache); },
                                            {"SAGSelect", "x is 5 x 3", "expects 4 features"});
}

}  // namespace gnnpool_test_select_sag
