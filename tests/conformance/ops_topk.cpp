// Conformance ops of the score-based poolers: topk_* (PyG TopKPooling) and sag_* (PyG
// SAGPooling). Everything is configured from the case's hyper and params.

#include "conformance/conformance.hpp"

#include <gnnpool/pool/sag_pool.hpp>
#include <gnnpool/pool/topk_pool.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace gnnpool::conformance {
namespace {

TopKOptions topk_options(const Case& c) {
  TopKOptions o;
  if (!c.hyper_is_null("ratio")) o = TopKOptions::from_pyg_ratio(c.hyper_number("ratio", 0.5));
  if (!c.hyper_is_null("min_score")) o.min_score = c.hyper_number("min_score", 0);
  const std::string act = c.hyper_string("nonlinearity", "tanh");
  if (act == "tanh") o.nonlinearity = Activation::tanh;
  else if (act == "sigmoid") o.nonlinearity = Activation::sigmoid;
  else throw std::runtime_error(c.file + ": unsupported nonlinearity '" + act + "'");
  o.multiplier = c.hyper_number("multiplier", 1.0);
  o.order = NodeOrder::pyg;
  return o;
}

/// Position of the stored entry adj(row, col), or -1.
Index entry_of(const SparseMatrix<double>& adj, Index row, Index col) {
  const StorageIndex* first = adj.innerIndexPtr() + adj.outerIndexPtr()[row];
  const StorageIndex* last = adj.innerIndexPtr() + adj.outerIndexPtr()[row + 1];
  const StorageIndex* pos = std::lower_bound(first, last, static_cast<StorageIndex>(col));
  return pos != last && *pos == col ? static_cast<Index>(pos - adj.innerIndexPtr()) : -1;
}

/// The file's name of the pooled edge weights, if it has them.
std::string edge_weight_key(const std::map<std::string, Tensor>& m) {
  for (const char* key : {"edge_weight", "edge_attr"})
    if (m.count(key)) return key;
  return "";
}

/// Runs a hard-selection pooler the way PyG's TopKPooling / SAGPooling is called in the file and
/// compares outputs, loss and gradients.
/// `floor_of(name, in, out, cache, upstream)`: the error floor of the gradient of parameter
/// `name` (see Comparison::values).
template <typename PoolT, typename FloorOf>
void run_score_pool(const Case& c, Comparison& cmp, const PoolT& pool, ParameterSet<double>& params,
                    FloorOf floor_of) {
  Batch<double> in = c.sparse_batch();
  c.load_params(params);
  typename PoolT::Output out;
  typename PoolT::Cache cache;
  pool.forward(params, in, out, cache);
  const HardSelection<double>& sel = out.selection;
  const IndexVector& perm = sel.representative;

  cmp.matrix("x", out.batch.x, c.output("x"));
  cmp.indices("perm", perm, c.output("perm").indices());
  std::vector<double> score;
  for (Index i : perm) score.push_back(sel.weight[i]);
  cmp.values("score", score, c.output("score"));
  if (c.outputs.count("debug_all_scores"))
    cmp.values("debug_all_scores", std::vector<double>(sel.weight.data(), sel.weight.data() + sel.weight.size()),
               c.output("debug_all_scores"));
  cmp.indices("batch", out.batch.graph_index(), c.output("batch").indices());

  // Pooled edges as sorted (source, target) lists; with weights, as sorted triples.
  const IndexVector expected_ei = c.output("edge_index").indices();
  const std::size_t m_expected = expected_ei.size() / 2;
  {
    const auto actual = sorted_edges(to_edge_index(out.batch.adj));
    const auto expected = sorted_edges(expected_ei);
    IndexVector a, e;
    for (const auto& [s, t] : actual) a.insert(a.end(), {s, t});
    for (const auto& [s, t] : expected) e.insert(e.end(), {s, t});
    cmp.indices("edge_index (sorted)", a, e);
  }
  // Entry of the pooled adjacency for each of the file's pooled edges (-1 if absent).
  std::vector<Index> out_entry(m_expected);
  for (std::size_t e = 0; e < m_expected; ++e) {
    const Index s = expected_ei[e], t = expected_ei[m_expected + e];
    const bool in_range = s >= 0 && t >= 0 && s < out.batch.adj.rows() && t < out.batch.adj.rows();
    out_entry[e] = in_range ? entry_of(out.batch.adj, t, s) : -1;
  }
  const std::string out_w = edge_weight_key(c.outputs);
  if (!out_w.empty()) {
    std::vector<double> w(m_expected, 0.0);
    for (std::size_t e = 0; e < m_expected; ++e)
      if (out_entry[e] >= 0) w[e] = out.batch.adj.valuePtr()[out_entry[e]];
    cmp.values("pooled " + out_w, w, c.output(out_w));
  }

  // L = sum(x * w_x) + sum(score * w_score) (+ pooled edge weights), and its upstream gradients.
  typename PoolT::OutputGrad g;
  g.x = c.loss_weights.at("x").matrix();
  double loss = (out.batch.x.array() * g.x.array()).sum();
  g.selection = Vector<double>::Zero(in.num_nodes());
  if (c.loss_weights.count("score")) {
    const Tensor& ws = c.loss_weights.at("score");
    for (std::size_t r = 0; r < perm.size() && r < ws.data.size(); ++r) {
      g.selection[perm[r]] += ws.data[r];
      loss += score[r] * ws.data[r];
    }
  }
  const std::string lw_w = edge_weight_key(c.loss_weights);
  if (!lw_w.empty()) {
    g.adj = Vector<double>::Zero(out.batch.adj.nonZeros());
    const Tensor& ww = c.loss_weights.at(lw_w);
    for (std::size_t e = 0; e < m_expected; ++e)
      if (out_entry[e] >= 0) {
        g.adj[out_entry[e]] += ww.data[e];
        loss += out.batch.adj.valuePtr()[out_entry[e]] * ww.data[e];
      }
  }
  for (const auto& [key, tensor] : c.loss_weights)
    if (key != "x" && key != "score" && key != lw_w) cmp.fail("loss weight '" + key + "' is not supported");
  cmp.scalar("loss", loss, c.loss);

  BatchGrad<double> din;
  ParameterSet<double> dparams = params.zeros_like();
  pool.backward(params, in, out, cache, g, din, dparams);
  const IndexVector ei = c.has_input("edge_index") ? c.input("edge_index").indices() : IndexVector{};
  for (const auto& [key, expected] : c.grads) {
    if (key == "x") {
      cmp.matrix("grad x", din.x, expected);
    } else if (key == "edge_weight" || key == "edge_attr") {
      const std::size_t m = ei.size() / 2;
      std::vector<double> ge(m);
      for (std::size_t e = 0; e < m; ++e) ge[e] = din.adj[entry_of(in.adj, ei[m + e], ei[e])];
      cmp.values("grad " + key, ge, expected);
    } else if (key.rfind("param:", 0) == 0) {
      const std::string name = key.substr(6);
      cmp.matrix("grad " + key, dparams.at(name), expected, floor_of(name, in, out, cache, g));
    } else {
      cmp.fail("gradient '" + key + "' is not supported");
    }
  }
}

void topk_handler(const Case& c, Comparison& cmp) {
  ParameterSet<double> params;
  const auto pool = TopKPool(params, "", c.input("x").matrix().cols(), topk_options(c));
  run_score_pool(c, cmp, pool, params, [](const auto&...) { return 1e-6; });
}

void sag_handler(const Case& c, Comparison& cmp) {
  SAGOptions o;
  o.topk = topk_options(c);
  const std::string gnn = c.hyper_string("gnn", "GraphConv");
  if (gnn == "GraphConv") o.scorer = SAGScorer::graph_conv;
  else if (gnn == "GCNConv") o.scorer = SAGScorer::gcn;
  else throw std::runtime_error(c.file + ": unsupported SAG scorer '" + gnn + "'");
  o.select_weight = true;
  o.edge_weights = false;  // PyG's SAGPooling calls its GNN with edge_index only
  ParameterSet<double> params;
  const auto pool = SAGPool(params, "", c.input("x").matrix().cols(), o);
  // In ratio / k mode select.weight w enters only as sign(w): act(g w / |w|). Its exact gradient
  // is 0 and PyG stores the round-off of sum_i dL/ds_i act'(y_i) g_i (1/|w| - w^2/|w|^3), a
  // cancelling sum of terms bounded by S = max_i |g_i| sum_i |dL/ds_i| / |w|; the comparison
  // is made relative to S. Every other gradient keeps the default floor.
  const auto floor_of = [&](const std::string& name, const Batch<double>& in, const auto& out, const auto& cache,
                            const auto& g) {
    if (name != "select.weight" || o.topk.min_score) return 1e-6;
    Vector<double> ds = g.selection;
    const auto& perm = out.selection.representative;
    for (std::size_t r = 0; r < perm.size(); ++r)
      ds[perm[r]] += o.topk.multiplier * g.x.row(static_cast<Index>(r)).dot(in.x.row(perm[r]));
    const double w = std::abs(params.at("select.weight")(0, 0));
    return std::max(1e-6, cache.select.g.cwiseAbs().maxCoeff() * ds.cwiseAbs().sum() / w);
  };
  run_score_pool(c, cmp, pool, params, floor_of);
}

Register topk_ops({"topk_tanh", "topk_sigmoid", "topk_int_ratio", "topk_min_score"}, topk_handler);
Register sag_ops({"sag_graphconv", "sag_gcn"}, sag_handler);

}  // namespace
}  // namespace gnnpool::conformance
