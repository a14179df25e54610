// Conformance ops of the sparse / hard poolers of torch-geometric-pool (tgp 1.0.1): nopool
// (NoPool), ec (EdgeContractionPooling), maxcut (MaxCutPooling), pan (PANPooling), asap
// (ASAPooling) and sep (SEPPooling). Everything is configured from the case's hyper, params and
// recorded choices (debug_perm, debug_random_map); nothing knows a case by name.
//
// Every tgp file records the pooled x, the pooled edges (edge_index + edge_weight), the pooled
// batch, the selection (cluster / node_index + cluster_index, s_weight) and lift_x = the lift of
// the pooled x through the selection, and L = sum(output * weight) + aux. The handlers compare
// them all, run one backward with the matching upstream gradients (the lift's backward included)
// and compare dL/dx, dL/d(edge_weight) and every parameter gradient.
//
// Documented mappings (docs/sparse-pooling.md):
// - nopool: tgp's S covers max(edge_index) + 1 nodes, so `cluster` and `lift_x` miss trailing
//   isolated nodes; gnnpool keeps all N, and the first rows are compared.
// - asap, pan: tgp labels the pooled edges by the ascending-node-index rank of the kept nodes while
//   the pooled x rows are in score order; gnnpool's pooled graph is consistent (both in score
//   order), and the file's edge label j is mapped to cluster_index[j] before comparing.
// - ec: the file's edge order `debug_perm` (positions in its edge_index) becomes the explicit
//   visiting order of the CSR entries.
// - maxcut: the file's `debug_random_map` (node, kept node) pairs become the explicit fallback.

#include "conformance/conformance.hpp"

#include <gnnpool/pool/asap_pool.hpp>
#include <gnnpool/pool/edge_contraction_pool.hpp>
#include <gnnpool/pool/maxcut_pool.hpp>
#include <gnnpool/pool/no_pool.hpp>
#include <gnnpool/pool/pan_pool.hpp>
#include <gnnpool/pool/sep_pool.hpp>
#include <gnnpool/pool/sparse_lift.hpp>
#include <gnnpool/pool/weighted_lift.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace gnnpool::conformance {
namespace {

/// How a tgp output names the parts of gnnpool's hard selection.
struct HardView {
  /// Supernode of the file's pooled-edge label j (empty: the identity).
  IndexVector edge_label;
  /// Entry of the selection's weight vector that is s_weight[i] (empty: every entry in order).
  IndexVector weighted_slots;
};

/// CSR positions in `adj` of the file's edges (source, target) given as a 2 x E edge_index whose
/// labels go through `label` (identity when empty); -1 for an edge gnnpool does not store.
std::vector<Index> edge_positions(const SparseMatrix<double>& adj, const IndexVector& edge_index,
                                  const IndexVector& label) {
  const std::size_t m = edge_index.size() / 2;
  std::vector<Index> pos(m, -1);
  for (std::size_t e = 0; e < m; ++e) {
    Index s = edge_index[e], t = edge_index[m + e];
    if (!label.empty()) {
      if (s < 0 || t < 0 || s >= static_cast<Index>(label.size()) || t >= static_cast<Index>(label.size())) continue;
      s = label[static_cast<std::size_t>(s)];
      t = label[static_cast<std::size_t>(t)];
    }
    if (s >= 0 && t >= 0 && s < adj.rows() && t < adj.rows()) pos[e] = stored_entry(adj, t, s);
  }
  return pos;
}

/// The pooled edges of gnnpool and of the file (labels mapped) as sorted (source, target) lists.
void compare_edge_sets(const SparseMatrix<double>& adj, const IndexVector& file_edges, const IndexVector& label,
                       Comparison& cmp) {
  IndexVector mapped = file_edges;
  const std::size_t m = file_edges.size() / 2;
  if (!label.empty())
    for (auto& v : mapped) v = v >= 0 && v < static_cast<Index>(label.size()) ? label[static_cast<std::size_t>(v)] : -1;
  auto flatten = [](const std::vector<std::pair<Index, Index>>& e) {
    IndexVector v;
    for (const auto& [s, t] : e) v.insert(v.end(), {s, t});
    return v;
  };
  cmp.indices("edge_index (sorted, labels mapped)", flatten(sorted_edges(to_edge_index(adj))),
              flatten(sorted_edges(mapped)));
  (void)m;
}

/// Runs a hard-selection pooler like the recorded tgp call and compares everything the file has.
/// `view` tells how the file names gnnpool's selection; `extra(out, cache, cmp)` compares
/// op-specific debug outputs; `floor_of(param, upstream, cache)` gives the error floor of a
/// parameter gradient that is a cancelling sum (see Comparison::values): the size of the terms
/// whose round-off the file's value carries; 1e-6 for the others.
template <typename PoolT, typename Extra, typename FloorOf>
void run_hard(const Case& c, Comparison& cmp, const PoolT& pool, ParameterSet<double>& params,
              const Batch<double>& in, const std::function<HardView(const typename PoolT::Output&)>& make_view,
              Extra extra, FloorOf floor_of) {
  typename PoolT::Output out;
  typename PoolT::Cache cache;
  pool.forward(params, in, out, cache);
  const auto& sel = out.selection;
  using Selection = std::decay_t<decltype(sel)>;
  const HardView view = make_view(out);

  cmp.matrix("x", out.batch.x, c.output("x"));
  cmp.indices("batch", out.batch.graph_index(), c.output("batch").indices());
  if (c.outputs.count("cluster")) {
    const IndexVector expected = c.output("cluster").indices();
    IndexVector actual = sel.assignment;
    if (expected.size() < actual.size()) actual.resize(expected.size());  // nopool: tgp's N' <= N
    cmp.indices("cluster", actual, expected);
  }
  if (c.outputs.count("node_index")) {
    IndexVector kept = sel.representative;
    std::sort(kept.begin(), kept.end());
    cmp.indices("node_index", kept, c.output("node_index").indices());
    IndexVector cluster_index;
    for (const Index v : kept) cluster_index.push_back(sel.assignment[static_cast<std::size_t>(v)]);
    cmp.indices("cluster_index", cluster_index, c.output("cluster_index").indices());
  }
  IndexVector weighted = view.weighted_slots;
  if (weighted.empty())
    for (Index i = 0; i < sel.weight.size(); ++i) weighted.push_back(i);
  auto selection_values = [&](const std::string& key) {
    std::vector<double> v;
    for (const Index i : weighted) v.push_back(sel.weight[i]);
    cmp.values(key, v, c.output(key));
  };
  for (const std::string key : {"s_weight", "scores"})
    if (c.outputs.count(key)) selection_values(key);

  const IndexVector file_edges = c.output("edge_index").indices();
  compare_edge_sets(out.batch.adj, file_edges, view.edge_label, cmp);
  const std::vector<Index> pos = edge_positions(out.batch.adj, file_edges, view.edge_label);
  if (c.outputs.count("edge_weight")) {
    std::vector<double> w(pos.size(), std::nan(""));
    for (std::size_t e = 0; e < pos.size(); ++e)
      if (pos[e] >= 0) w[e] = out.batch.adj.valuePtr()[pos[e]];
    cmp.values("edge_weight", w, c.output("edge_weight"));
  }

  // tgp's lift: x = S x' (the selection weights included; ASAP: through the kept centres),
  // compared on the rows tgp has.
  const auto lift = [] {
    if constexpr (std::is_same_v<Selection, SparseSelection<double>>) return SparseLift<double>();
    else return WeightedHardLift<double>();
  }();
  Matrix<double> lifted;
  lift.forward(sel, out.batch.x, lifted);
  const Matrix<double> expected_lift = c.output("lift_x").matrix();
  if (expected_lift.rows() > lifted.rows()) {
    cmp.fail("lift_x has more rows than the batch has nodes");
    return;
  }
  cmp.matrix("lift_x", lifted.topRows(expected_lift.rows()), c.output("lift_x"));
  // tgp's aux value includes its coefficient (loss_coeff): gnnpool's weight * value.
  for (const auto& [name, value] : c.aux_losses) {
    double weighted_value = std::nan("");
    for (const auto& l : out.losses)
      if (l.name == name) weighted_value = l.weight * l.value;
    cmp.scalar("aux " + name, weighted_value, value.scalar());
  }
  extra(out, cache, cmp);

  // L and its upstream gradients.
  typename PoolT::OutputGrad g;
  double loss = 0;
  g.x = Matrix<double>::Zero(out.batch.x.rows(), out.batch.x.cols());
  g.adj = Vector<double>::Zero(out.batch.adj.nonZeros());
  g.selection = Vector<double>::Zero(sel.weight.size());
  for (const auto& [key, w] : c.loss_weights) {
    if (key == "x") {
      g.x += w.matrix();
      loss += (w.matrix().array() * out.batch.x.array()).sum();
    } else if (key == "edge_weight") {
      for (std::size_t e = 0; e < pos.size(); ++e)
        if (pos[e] >= 0) {
          g.adj[pos[e]] += w.data[e];
          loss += w.data[e] * out.batch.adj.valuePtr()[pos[e]];
        }
    } else if (key == "s_weight" || key == "scores") {
      for (std::size_t i = 0; i < weighted.size() && i < w.data.size(); ++i) {
        g.selection[weighted[i]] += w.data[i];
        loss += w.data[i] * sel.weight[weighted[i]];
      }
    } else if (key == "lift_x") {
      Matrix<double> dlift = Matrix<double>::Zero(lifted.rows(), lifted.cols());
      dlift.topRows(expected_lift.rows()) = w.matrix();
      loss += (dlift.array() * lifted.array()).sum();
      Matrix<double> dpooled;
      lift.backward(sel, out.batch.x, dlift, dpooled, g.selection);
      g.x += dpooled;
    } else {
      cmp.fail("loss weight '" + key + "' is not supported");
    }
  }
  loss += out.weighted_loss();  // tgp's L adds its (coefficient-scaled) aux losses
  cmp.scalar("loss", loss, c.loss);

  BatchGrad<double> din;
  ParameterSet<double> dparams = params.zeros_like();
  g.losses.clear();  // each aux loss enters with its weight
  pool.backward(params, in, out, cache, g, din, dparams);
  const IndexVector ei = c.has_input("edge_index") ? c.input("edge_index").indices() : IndexVector{};
  for (const auto& [key, expected] : c.grads) {
    if (key == "x") {
      cmp.matrix("grad x", din.x, expected);
    } else if (key == "edge_weight") {
      const std::vector<Index> in_pos = edge_positions(in.adj, ei, {});
      std::vector<double> ge(in_pos.size(), std::nan(""));
      for (std::size_t e = 0; e < in_pos.size(); ++e)
        if (in_pos[e] >= 0) ge[e] = din.adj[in_pos[e]];
      cmp.values("grad edge_weight", ge, expected);
    } else if (key.rfind("param:", 0) == 0) {
      const std::string name = key.substr(6);
      cmp.matrix("grad " + key, dparams.at(name), expected, floor_of(name, g, cache));
    } else {
      cmp.fail("gradient '" + key + "' is not supported");
    }
  }
}

const auto no_extra = [](const auto&, const auto&, Comparison&) {};
const auto default_floor = [](const std::string&, const auto&, const auto&) { return 1e-6; };

HardView identity_view(const HardSelection<double>&) { return {}; }

void nopool(const Case& c, Comparison& cmp) {
  const Batch<double> in = c.sparse_batch();
  ParameterSet<double> params;
  const NoPool<double> pool(params, "", in.num_features());
  c.load_params(params);
  run_hard<NoPool<double>>(c, cmp, pool, params, in,
                           [](const auto& out) { return identity_view(out.selection); }, no_extra, default_floor);
}

void edge_contraction(const Case& c, Comparison& cmp) {
  const Batch<double> in = c.sparse_batch();
  EdgeContractionPoolOptions o;
  o.select.add_to_edge_score = c.hyper_number("add_to_edge_score", 0.5);
  if (c.hyper_number("dropout", 0) != 0) throw std::runtime_error(c.file + ": dropout is not supported");
  const std::string method = c.hyper_string("edge_score_method", "softmax");
  if (method.find("softmax") != std::string::npos) o.select.score = EdgeScoreMethod::softmax;
  else if (method.find("tanh") != std::string::npos) o.select.score = EdgeScoreMethod::tanh;
  else if (method.find("sigmoid") != std::string::npos) o.select.score = EdgeScoreMethod::sigmoid;
  else throw std::runtime_error(c.file + ": unknown edge_score_method '" + method + "'");
  o.connect.keep_self_loops = c.hyper_number("remove_self_loops", 1) == 0;
  if (c.hyper_number("degree_norm", 0) != 0 || c.hyper_number("edge_weight_norm", 0) != 0)
    throw std::runtime_error(c.file + ": ec with degree_norm / edge_weight_norm is not supported");
  // debug_perm lists positions of the file's edge_index; the selector visits CSR entries.
  const IndexVector ei = c.input("edge_index").indices();
  const std::vector<Index> csr = edge_positions(in.adj, ei, {});
  if (c.outputs.count("debug_perm"))
    for (const Index e : c.output("debug_perm").indices()) o.select.edge_order.push_back(csr[static_cast<std::size_t>(e)]);
  ParameterSet<double> params;
  const EdgeContractionPool<double> pool(params, "", in.num_features(), o);
  c.load_params(params);
  const double add = o.select.add_to_edge_score;
  run_hard<EdgeContractionPool<double>>(
      c, cmp, pool, params, in, [](const auto& out) { return identity_view(out.selection); },
      [&](const auto&, const auto& cache, Comparison& k) {
        if (!c.outputs.count("debug_edge_score")) return;
        std::vector<double> e;
        for (const Index p : csr) e.push_back(p >= 0 ? cache.select.prob[p] + add : std::nan(""));
        k.values("debug_edge_score", e, c.output("debug_edge_score"));
      },
      [&](const std::string& name, const auto& g, const auto&) {
        // With the softmax, dL/d(bias) = sum_e p_e (de_e - sum_f p_f de_f) is 0 up to rounding; the
        // terms it cancels are bounded by 2 sum_i |dL/dw_i|.
        if (name != "selector.lin.bias" || o.select.score != EdgeScoreMethod::softmax) return 1e-6;
        return std::max(1e-6, 2 * g.selection.cwiseAbs().sum());
      });
}

/// A list hyper-parameter written as a string ("[8, 8]") or as a JSON array.
std::vector<Index> hyper_list(const Case& c, const std::string& key, std::vector<Index> fallback) {
  if (c.hyper_is_null(key)) return fallback;
  const nlohmann::json j = c.hyper.at(key).is_string() ? nlohmann::json::parse(c.hyper.at(key).get<std::string>())
                                                       : c.hyper.at(key);
  std::vector<Index> out;
  for (const auto& v : j) out.push_back(v.get<Index>());
  return out;
}

Activation hyper_activation(const Case& c, const std::string& key, Activation fallback) {
  const std::string name = c.hyper_string(key, "");
  if (name.empty()) return fallback;
  for (const auto act : {Activation::identity, Activation::relu, Activation::tanh, Activation::sigmoid, Activation::selu})
    if (name == activation_name(act)) return act;
  if (name == "none") return Activation::identity;
  throw std::runtime_error(c.file + ": unsupported activation '" + name + "' for " + key);
}

/// tgp's SparseConnect post-processing flags.
NormalizedConnectOptions connect_options(const Case& c, bool degree_norm_default, bool max_norm_default) {
  NormalizedConnectOptions o;
  o.degree_norm = c.hyper_number("degree_norm", degree_norm_default ? 1 : 0) != 0;
  o.max_norm = c.hyper_number("edge_weight_norm", max_norm_default ? 1 : 0) != 0;
  if (c.hyper_number("remove_self_loops", 1) == 0)
    throw std::runtime_error(c.file + ": remove_self_loops = False is not supported for this op");
  return o;
}

void maxcut(const Case& c, Comparison& cmp) {
  const Batch<double> in = c.sparse_batch();
  MaxCutPoolOptions o;
  MaxCutOptions& s = o.select;
  const double ratio = c.hyper_number("ratio", 0.5);
  if (ratio >= 1 && ratio == std::floor(ratio)) s.k = static_cast<Index>(ratio);  // tgp / PyG: an int is k
  else s.ratio = ratio;
  s.mp_units = hyper_list(c, "mp_units", s.mp_units);
  s.mlp_units = hyper_list(c, "mlp_units", s.mlp_units);
  s.mp_act = hyper_activation(c, "mp_act", s.mp_act);
  s.mlp_act = hyper_activation(c, "mlp_act", s.mlp_act);
  s.act = hyper_activation(c, "act", s.act);
  s.delta = c.hyper_number("delta", s.delta);
  s.assign_all_nodes = c.hyper_number("assign_all_nodes", 1) != 0;
  s.max_iter = static_cast<Index>(c.hyper_number("max_iter", 5));
  s.tgp_trailing_isolated = true;  // the files come from tgp, whose P misses trailing isolated nodes
  if (c.outputs.count("debug_random_map")) {
    const Tensor& map = c.output("debug_random_map");
    const IndexVector pairs = map.indices();
    const std::size_t m = pairs.size() / 2;
    for (std::size_t k = 0; k < m; ++k) s.random_map.emplace_back(pairs[k], pairs[m + k]);
  }
  o.loss_coeff = c.hyper_number("loss_coeff", 1.0);
  o.connect = connect_options(c, false, true);
  ParameterSet<double> params;
  const MaxCutPool<double> pool(params, "", in.num_features(), o);
  c.load_params(params);
  run_hard<MaxCutPool<double>>(c, cmp, pool, params, in, [](const auto& out) { return identity_view(out.selection); },
                               no_extra, default_floor);
}

/// tgp's score poolers label the pooled edges by the ascending-node-index rank of the kept nodes:
/// label j is the supernode of the j-th smallest kept node; s_weight follows the same order.
template <typename Selection>
HardView kept_node_view(const Selection& sel) {
  HardView v;
  IndexVector kept = sel.representative;
  std::sort(kept.begin(), kept.end());
  for (const Index node : kept) {
    const Index c = sel.assignment[static_cast<std::size_t>(node)];
    v.edge_label.push_back(c);
    // The score of a kept node: its own weight (hard), its supernode's scale (sparse).
    if constexpr (std::is_same_v<Selection, SparseSelection<double>>) v.weighted_slots.push_back(sel.num_entries() + c);
    else v.weighted_slots.push_back(node);
  }
  return v;
}

TopKOptions tgp_topk_options(const Case& c) {
  TopKOptions o;
  const double ratio = c.hyper_number("ratio", 0.5);
  if (ratio >= 1 && ratio == std::floor(ratio)) o.k = static_cast<Index>(ratio);
  else o.ratio = ratio;
  if (!c.hyper_is_null("min_score")) o.min_score = c.hyper_number("min_score", 0);
  const Activation act = hyper_activation(c, "nonlinearity", Activation::tanh);
  if (act != Activation::tanh && act != Activation::sigmoid)
    throw std::runtime_error(c.file + ": unsupported nonlinearity '" + c.hyper_string("nonlinearity", "") + "'");
  o.nonlinearity = act;
  o.multiplier = c.hyper_number("multiplier", 1.0);
  o.order = NodeOrder::score;
  return o;
}

void pan(const Case& c, Comparison& cmp) {
  const Batch<double> in = c.sparse_batch();
  PANOptions o;
  o.topk = tgp_topk_options(c);
  if (c.hyper_number("remove_self_loops", 0) != 0 || c.hyper_number("degree_norm", 0) != 0 ||
      c.hyper_number("edge_weight_norm", 0) != 0)
    throw std::runtime_error(c.file + ": pan with a post-processed connect is not supported");
  ParameterSet<double> params;
  const PANPool<double> pool(params, "", in.num_features(), o);
  c.load_params(params);
  // A saturated tanh (s near +-1) makes 1 - s^2 lose digits: the file's gradient of p and beta
  // carries an absolute error of a few eps sum_i |dL/ds_i| |dz_i/dtheta|, so the comparison floor
  // is 1e-5 of that sum (1e-10 relative to it is then ~1e-15 of the terms).
  const auto floor_of = [&](const std::string&, const auto& g, const auto& cache) {
    const Index n = in.num_nodes();
    const double b0 = std::abs(params.at("beta")(0, 0));
    double terms = 0;
    for (Index i = 0; i < n; ++i)
      terms += std::abs(g.selection[i]) * std::max({std::abs(cache.select.xp[i]), std::abs(cache.select.structure[i]),
                                                    b0 * in.x.row(i).cwiseAbs().maxCoeff()});
    return std::max(1e-6, 1e-5 * terms);
  };
  run_hard<PANPool<double>>(c, cmp, pool, params, in, [](const auto& out) { return kept_node_view(out.selection); },
                            no_extra, floor_of);
}

void asap(const Case& c, Comparison& cmp) {
  const Batch<double> in = c.sparse_batch();
  ASAPPoolOptions o;
  o.select.topk = tgp_topk_options(c);
  o.select.negative_slope = c.hyper_number("negative_slope", 0.2);
  if (c.hyper_number("dropout", 0) != 0) throw std::runtime_error(c.file + ": dropout is not supported");
  if (!c.hyper_is_null("GNN")) throw std::runtime_error(c.file + ": an intra-cluster GNN is not supported");
  if (c.hyper_number("add_self_loops", 0) != 0) throw std::runtime_error(c.file + ": add_self_loops is not supported");
  o.connect = connect_options(c, false, false);
  o.connect.remove_self_loops = true;
  ParameterSet<double> params;
  const ASAPPool<double> pool(params, "", in.num_features(), o);
  c.load_params(params);
  run_hard<ASAPPool<double>>(c, cmp, pool, params, in, [](const auto& out) { return kept_node_view(out.selection); },
                             no_extra, default_floor);
}

void sep(const Case& c, Comparison& cmp) {
  const Batch<double> in = c.sparse_batch();
  SEPPoolOptions o;
  o.connect = connect_options(c, true, false);
  ParameterSet<double> params;
  const SEPPool<double> pool(params, "", in.num_features(), o);
  c.load_params(params);
  // The partition is ported, not replayed: `cluster` is compared like every other output.
  run_hard<SEPPool<double>>(c, cmp, pool, params, in, [](const auto& out) { return identity_view(out.selection); },
                            no_extra, default_floor);
}

Register hard_ops_nopool({"nopool"}, nopool);
Register hard_ops_ec({"ec"}, edge_contraction);
Register hard_ops_maxcut({"maxcut"}, maxcut);
Register hard_ops_pan({"pan"}, pan);
Register hard_ops_asap({"asap"}, asap);
Register hard_ops_sep({"sep"}, sep);

}  // namespace
}  // namespace gnnpool::conformance
