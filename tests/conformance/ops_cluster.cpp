// Conformance ops of the one-over-K poolers: graclus_max, graclus_w_avg (PyG graclus +
// max_pool / avg_pool) and kmis_k1, kmis_k2_wsum (KMISPooling of PyG pull request #6488).
// Everything is configured from the case's hyper / params / inputs; Graclus replays the
// visiting order PyG drew (outputs.debug_visit_order).

#include "conformance/conformance.hpp"

#include <gnnpool/pool/graclus_pool.hpp>
#include <gnnpool/pool/kmis_pool.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace gnnpool::conformance {
namespace {

/// Compares the pooled edges (as sets), their values if the case has edge_attr, and builds the
/// upstream gradient of the pooled adjacency from loss_weights.edge_attr (empty if none).
Vector<double> compare_edges(const Case& c, const Batch<double>& pooled, Comparison& cmp) {
  const IndexVector expected_ei = c.output("edge_index").indices();
  const IndexVector actual_ei = to_edge_index(pooled.adj);
  auto flatten = [](const std::vector<std::pair<Index, Index>>& e) {
    IndexVector v;
    for (const auto& [s, t] : e) {
      v.push_back(s);
      v.push_back(t);
    }
    return v;
  };
  cmp.indices("edge_index (sorted)", flatten(sorted_edges(actual_ei)), flatten(sorted_edges(expected_ei)));
  const std::size_t m = expected_ei.size() / 2;
  Vector<double> dadj;
  if (c.outputs.count("edge_attr")) {
    const Tensor& attr = c.output("edge_attr");
    std::vector<double> actual(m, std::nan(""));
    for (std::size_t e = 0; e < m; ++e) {
      const Index q = stored_entry(pooled.adj, expected_ei[m + e], expected_ei[e]);
      if (q >= 0) actual[e] = pooled.adj.valuePtr()[q];
    }
    cmp.values("edge_attr", actual, attr);
  }
  if (c.loss_weights.count("edge_attr")) {
    const Tensor& lw = c.loss_weights.at("edge_attr");
    dadj.setZero(pooled.adj.nonZeros());
    for (std::size_t e = 0; e < m; ++e) {
      const Index q = stored_entry(pooled.adj, expected_ei[m + e], expected_ei[e]);
      if (q < 0) throw std::runtime_error("pooled edge missing; cannot map its loss weight");
      dadj[q] += lw.data[e];
    }
  }
  return dadj;
}

double pooled_loss(const Case& c, const Batch<double>& pooled) {
  double loss = 0;
  if (c.loss_weights.count("x")) {
    const Matrix<double> w = c.loss_weights.at("x").matrix();
    if (w.rows() == pooled.x.rows() && w.cols() == pooled.x.cols()) loss += (w.array() * pooled.x.array()).sum();
  }
  if (c.loss_weights.count("edge_attr")) {
    const IndexVector ei = c.output("edge_index").indices();
    const std::size_t m = ei.size() / 2;
    for (std::size_t e = 0; e < m; ++e) {
      const Index q = stored_entry(pooled.adj, ei[m + e], ei[e]);
      if (q >= 0) loss += c.loss_weights.at("edge_attr").data[e] * pooled.adj.valuePtr()[q];
    }
  }
  return loss;
}

template <typename PoolT>
void run_and_compare(const Case& c, const PoolT& pool, ParameterSet<double>& params, const Batch<double>& in,
                     Comparison& cmp, typename PoolT::Output& out, typename PoolT::Cache& cache) {
  pool.forward(params, in, out, cache);
  cmp.matrix("x", out.batch.x, c.output("x"));
  cmp.indices("batch", out.batch.graph_index(), c.output("batch").indices());
  typename PoolT::OutputGrad g;
  g.x = c.loss_weights.count("x") ? c.loss_weights.at("x").matrix() : Matrix<double>::Zero(out.batch.x.rows(), out.batch.x.cols());
  if (g.x.rows() != out.batch.x.rows() || g.x.cols() != out.batch.x.cols()) {
    cmp.fail("pooled x has the wrong shape; backward skipped");
    return;
  }
  g.adj = compare_edges(c, out.batch, cmp);
  cmp.scalar("loss", pooled_loss(c, out.batch), c.loss);
  BatchGrad<double> din;
  ParameterSet<double> dparams = params.zeros_like();
  pool.backward(params, in, out, cache, g, din, dparams);
  cmp.matrix("grad x", din.x, c.grad("x"));
  compare_edge_weight_grad(c, in, din.adj, cmp);
  for (Index s = 0; s < dparams.size(); ++s) cmp.matrix("grad " + dparams.name(s), dparams[s], c.grad("param:" + dparams.name(s)));
}

void graclus(const Case& c, Comparison& cmp) {
  const Batch<double> in = c.sparse_batch();
  GraclusPoolOptions options;
  options.select.weighting = c.hyper_number("weighted", 0) != 0 ? GraclusWeighting::edge_weight : GraclusWeighting::unweighted;
  options.select.visit_order = c.output("debug_visit_order").indices();
  const std::string pool = c.hyper_string("pool", "max");
  options.aggregation = parse_cluster_aggregation(pool);
  ParameterSet<double> params;
  GraclusPool<double> layer(params, "", in.num_features(), options);
  c.load_params(params);
  typename GraclusPool<double>::Output out;
  typename GraclusPool<double>::Cache cache;
  run_and_compare(c, layer, params, in, cmp, out, cache);
  // PyG's raw cluster ids: the smaller node of each pair.
  IndexVector raw(out.selection.assignment.size());
  for (std::size_t i = 0; i < raw.size(); ++i)
    raw[i] = out.selection.representative[static_cast<std::size_t>(out.selection.assignment[i])];
  cmp.indices("cluster", raw, c.output("cluster").indices());
}

void kmis(const Case& c, Comparison& cmp) {
  const Batch<double> in = c.sparse_batch();
  KMISPoolOptions options;
  options.select.k = static_cast<Index>(c.hyper_number("k", 1));
  options.select.scorer = parse_kmis_scorer(c.hyper_string("scorer", "linear"));
  options.select.heuristic = parse_kmis_heuristic(c.hyper_string("score_heuristic", "plain"));
  options.passthrough = parse_score_passthrough(c.hyper_string("score_passthrough", "none"));
  options.aggregation = parse_cluster_aggregation(c.hyper_string("aggr_x", "representative"));
  if (c.hyper_string("aggr_edge", "sum") != "sum")
    throw std::runtime_error("aggr_edge '" + c.hyper_string("aggr_edge", "") + "' is not supported (sum only)");
  options.connect.keep_self_loops = c.hyper_number("remove_self_loops", 1) == 0;
  ParameterSet<double> params;
  KMISPool<double> layer(params, "", in.num_features(), options);
  c.load_params(params);
  typename KMISPool<double>::Output out;
  typename KMISPool<double>::Cache cache;
  run_and_compare(c, layer, params, in, cmp, out, cache);
  cmp.indices("cluster", out.selection.assignment, c.output("cluster").indices());
  IndexVector mis(static_cast<std::size_t>(in.num_nodes()), 0);
  for (const Index r : out.selection.representative) mis[static_cast<std::size_t>(r)] = 1;
  cmp.indices("mis", mis, c.output("mis").indices());
  // PyG ranks the whole batch at once (argsort of s' descending); within a graph the order is
  // the one gnnpool used, so the global order is the stable sort of s' over the batch.
  if (c.outputs.count("debug_visit_order")) {
    const Vector<double>& key = cache.select.updated;
    IndexVector perm(static_cast<std::size_t>(key.size()));
    for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<Index>(i);
    std::stable_sort(perm.begin(), perm.end(), [&](Index a, Index b) { return key[a] > key[b]; });
    cmp.indices("perm (visit order)", perm, c.output("debug_visit_order").indices());
  }
}

static Register graclus_ops({"graclus_max", "graclus_w_avg"}, graclus);
static Register kmis_ops({"kmis_k1", "kmis_k2_wsum"}, kmis);

}  // namespace
}  // namespace gnnpool::conformance
