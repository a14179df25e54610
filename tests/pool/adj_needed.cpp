// `BatchGrad::adj_needed = false` (the caller needs no dL/dA, as in PyG and tgp, which never
// differentiate the adjacency): every pooler must return the same pooled batch, losses, dL/dX and
// parameter gradients as with dL/dA, and a dL/dA of zeros, sized. Every pooler of the layer zoo
// and the variants whose backward has its own dL/dA path (GCN scorers, edge weights, both HOSC
// motifs, k-MIS's degree scorer) run on a batch of weighted graphs and compare bytes.

#include "support/layer_zoo.hpp"

#include <gnnpool/model/ops.hpp>
#include <gnnpool/model/tape.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <vector>

namespace gnnpool_test_pool_adj_needed {

using namespace gnnpool;

namespace {

using test::zoo_detail::PoolEntry;

std::vector<std::unique_ptr<test::ZooEntry<double>>> every_pooler(ParameterSet<double>& params, Index f) {
  auto layers = test::make_zoo<double>(params, f, test::ZooHyper{.clusters = 3});
  const auto add = [&](auto entry) { test::zoo_detail::add<double>(layers, std::move(entry)); };
  add(PoolEntry("SAGPool(gcn, edge weights)", SAGPool<double>(params, "sag_gcn", f, {.scorer = SAGScorer::gcn})));
  test::add_hard_family<double>(layers, params, f);
  HOSCPoolOptions<double> triangles{.k = 3};
  triangles.cut.motif = MotifAdjacency::triangles;
  add(PoolEntry("HOSCPool(triangles)", HOSCPool<double>(params, "hosc_tri", f, triangles)));
  KMISPoolOptions kmis;
  kmis.select.scorer = KMISScorer::degree;
  add(PoolEntry("KMISPool(degree)", KMISPool<double>(params, "kmis_degree", f, kmis)));
  return layers;
}

bool same_bytes(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

}  // namespace

TEST_CASE("adj_needed = false: the same outputs, dL/dX and parameter gradients, a zero dL/dA, for every pooler",
          "[pool][adj_needed]") {
  constexpr Index f = 5;
  const std::vector<Index> sizes{9, 14, 6, 11};
  const Batch<double> batch = testing::random_batch<double>(sizes, 3.0, f, 21, {.weighted = true});
  ParameterSet<double> params;
  const auto layers = every_pooler(params, f);
  params.initialize(4);
  int with_adjacency_gradient = 0;
  for (const auto& layer : layers) {
    INFO(layer->name());
    const auto [zeroed, skipped] = layer->run_adj_needed_pair(params, batch, 3);
    if (zeroed.empty()) continue;  // a readout, or a pooler without a Pool backward
    CHECK(same_bytes(zeroed, skipped));
    // The check is not vacuous: the full run's dL/dA differs from zero for the poolers that read A.
    if (!same_bytes(layer->run(params, batch, 3), zeroed)) ++with_adjacency_gradient;
  }
  // The soft poolers (MinCut, DiffPool, DMoN, JB, ACC, HOSC x2, LaPool, BN-Pool, the functional
  // forms), the hard ones with a connect or score on A (TopK's, SAG's, Graclus, k-MIS, ASAP, PAN,
  // MaxCut, ...): most of the zoo has a dL/dA.
  CHECK(with_adjacency_gradient >= 20);
}

TEST_CASE("adj_needed = false in the model layer: a graph that requires no gradient gets the same parameter gradients",
          "[pool][adj_needed][model]") {
  constexpr Index f = 4;
  const std::vector<Index> sizes{7, 10};
  const Batch<double> batch = testing::random_batch<double>(sizes, 3.0, f, 5, {.weighted = true});
  ParameterSet<double> params;
  const MaxCutPool<double> maxcut(params, "maxcut", f);
  const MinCutPool<double> mincut(params, "mincut", f, {.k = 3});
  const GCNConv<double> conv(params, "conv", f, 2);
  params.initialize(2);
  const Matrix<double> target = Matrix<double>::Constant(2 * 3, 2, 0.25);
  const auto gradients = [&](bool graph_requires_grad) {
    Tape<double> tape(params);
    const Graph<double> g = tape.graph(batch.adj, batch.offsets, graph_requires_grad);
    const Tensor<double> x = tape.input(batch.x);
    const auto p = tape(maxcut, g, x);
    const auto q = tape(mincut, p.graph, p.x);  // its S^T A S carries a gradient to S
    const Loss<double> loss = mean_squared_error(tape(conv, q.graph, q.x), target) + p.aux_loss() + q.aux_loss();
    ParameterSet<double> grads = params.zeros_like();
    tape.backward(loss, grads);
    std::vector<double> r;
    test::zoo_detail::append(grads, r);
    if (graph_requires_grad) CHECK(tape.grad(g).size() == batch.adj.nonZeros());
    return r;
  };
  CHECK(same_bytes(gradients(false), gradients(true)));
}

}  // namespace gnnpool_test_pool_adj_needed
