// The hard-selection poolers of the bridge: topk, topk_augmented, sag (PyG TopKPooling,
// SAGPooling), kmis (KMISPooling of PyG pull request #6488), cluster (PyG max_pool / avg_pool
// after graclus, on a given clustering) and ndp (tgp's NDPPooling). Each kind is a gnnpool
// `PoolLayer` run by the generic `pool` wrapper; this file only reads the options and orders
// the outputs as PyG does.

#include "bridge.hpp"

#include <gnnpool/pool/kmis_pool.hpp>
#include <gnnpool/pool/ndp_pool.hpp>
#include <gnnpool/pool/sag_pool.hpp>
#include <gnnpool/pool/topk_pool.hpp>

#include <algorithm>
#include <numeric>

namespace gnnpool::pyg::impl {
namespace {

/// Select policy of a clustering given by the caller (PyG's `cluster` vector, as `graclus`
/// returns it): clusters become supernodes in ascending order of their ids (PyG's
/// `consecutive_cluster`), every node keeps weight 1. A cluster must lie inside one graph, and
/// the ascending ids must visit the graphs in order (true for graclus, whose ids are node
/// indices). No parameters and no gradient.
template <typename Scalar_>
class GivenClusterSelect {
 public:
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;
  struct Cache {};

  GivenClusterSelect(at::Tensor cluster, std::string layer) : m_cluster(std::move(cluster)), m_layer(std::move(layer)) {}

  void parameter_slots(std::vector<Index>&) const {}

  void forward(const ParameterSet<Scalar>&, const BatchRef<Scalar>& in, Selection& sel, Cache&) const {
    const Index n = in.num_nodes();
    check_index(m_cluster, 1, m_layer, "cluster");
    GNNPOOL_CHECK(m_cluster.size(0) == n, shape_error, m_layer, ": cluster has ", m_cluster.size(0),
                  " entries but x has ", n, " rows");
    const int64_t* c = m_cluster.data_ptr<int64_t>();
    // Sorted distinct ids: a mark array when the ids are small (graclus: node indices), else a sort.
    std::vector<int64_t> ids;
    const int64_t top = n == 0 ? 0 : *std::max_element(c, c + n);
    for (Index i = 0; i < n; ++i)
      GNNPOOL_CHECK(c[i] >= 0, invalid_argument, m_layer, ": cluster[", i, "] = ", c[i], " is negative");
    std::vector<Index> supernode;
    if (top <= 4 * n + 16) {
      supernode.assign(static_cast<std::size_t>(top) + 1, -1);
      for (Index i = 0; i < n; ++i) supernode[static_cast<std::size_t>(c[i])] = 0;
      Index next = 0;
      for (auto& s : supernode)
        if (s == 0) s = next++;
    } else {
      ids.assign(c, c + n);
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    }
    const auto id_of = [&](int64_t v) -> Index {
      if (!supernode.empty()) return supernode[static_cast<std::size_t>(v)];
      return std::lower_bound(ids.begin(), ids.end(), v) - ids.begin();
    };
    sel.assignment.resize(static_cast<std::size_t>(n));
    Index m = 0;
    for (Index i = 0; i < n; ++i) {
      sel.assignment[static_cast<std::size_t>(i)] = id_of(c[i]);
      m = std::max(m, sel.assignment[static_cast<std::size_t>(i)] + 1);
    }
    sel.representative.assign(static_cast<std::size_t>(m), -1);
    for (Index i = n; i-- > 0;) sel.representative[static_cast<std::size_t>(sel.assignment[static_cast<std::size_t>(i)])] = i;
    sel.weight = Vector<Scalar>::Ones(n);
    // Graph of every supernode: that of its members, which must agree; graphs in order.
    sel.offsets.assign(1, 0);
    Index graph = 0;
    for (Index s = 0; s < m; ++s) {
      const Index r = sel.representative[static_cast<std::size_t>(s)];
      const Index g = static_cast<Index>(std::upper_bound(in.offsets.begin(), in.offsets.end(), r) - in.offsets.begin()) - 1;
      GNNPOOL_CHECK(g >= graph, invalid_argument, m_layer, ": cluster ids must visit the graphs in order (PyG's "
                    "consecutive_cluster would interleave them), but cluster ", s, " lies in graph ", g,
                    " after a cluster of graph ", graph);
      while (graph < g) {
        sel.offsets.push_back(s);
        ++graph;
      }
    }
    while (static_cast<Index>(sel.offsets.size()) < in.num_graphs() + 1) sel.offsets.push_back(m);
    for (Index b = 0; b < in.num_graphs(); ++b)
      for (Index i = in.graph_begin(b); i < in.graph_begin(b + 1); ++i) {
        const Index s = sel.assignment[static_cast<std::size_t>(i)];
        GNNPOOL_CHECK(s >= sel.offsets[static_cast<std::size_t>(b)] && s < sel.offsets[static_cast<std::size_t>(b) + 1],
                      invalid_argument, m_layer, ": cluster id ", c[i], " holds nodes of several graphs (node ", i,
                      " of graph ", b, ")");
      }
  }

  void backward(const ParameterSet<Scalar>&, const BatchRef<Scalar>&, const Selection&, const Cache&,
                const Vector<Scalar>&, BatchGrad<Scalar>&, ParameterSet<Scalar>&) const {}

 private:
  at::Tensor m_cluster;
  std::string m_layer;
};

template <typename Scalar>
using GivenClusterPool = Pool<GivenClusterSelect<Scalar>, ClusterReduce<Scalar>, ClusterConnect<Scalar>>;

TopKOptions topk_options(Config& c) {
  const auto ratio = c.has("ratio") ? c.optional_number("ratio") : c10::optional<double>(0.5);  // PyG's default
  const auto min_score = c.optional_number("min_score");
  GNNPOOL_CHECK(ratio || min_score, invalid_argument, c.layer(), ": set ratio or min_score");
  TopKOptions o = ratio ? TopKOptions::from_pyg_ratio(*ratio) : TopKOptions{};
  if (min_score) o.min_score = *min_score;
  const std::string act = c.text("nonlinearity", "tanh");
  if (act == "tanh") o.nonlinearity = Activation::tanh;
  else if (act == "sigmoid") o.nonlinearity = Activation::sigmoid;
  else unknown_value(c.layer(), "nonlinearity", act, "tanh or sigmoid");
  o.multiplier = c.number("multiplier", 1.0);
  o.order = NodeOrder::pyg;
  return o;
}

/// [x, edge_index, edge_attr, batch, perm, score]: TopKPooling's and SAGPooling's outputs.
std::vector<at::Tensor> score_outputs(PoolResult&& r, const GraphInput& in) {
  at::Tensor score = r.weight.index_select(0, r.representative);
  return {r.x, r.edge_index, keep_if(has_tensor(in.edge_weight), r.edge_weight), r.batch, r.representative, score};
}

struct MakeTopK {
  template <typename S>
  TopKPool<S> operator()(ParameterSet<S>& ps, Config& c, const Extra&) const {
    return TopKPool<S>(ps, "", c.integer("in_channels"), topk_options(c));
  }
};
struct MakeTopKAugmented {
  template <typename S>
  TopKAugmentedPool<S> operator()(ParameterSet<S>& ps, Config& c, const Extra&) const {
    return TopKAugmentedPool<S>(ps, "", c.integer("in_channels"), topk_options(c));
  }
};
struct MakeSAG {
  template <typename S>
  SAGPool<S> operator()(ParameterSet<S>& ps, Config& c, const Extra&) const {
    SAGOptions o;
    o.topk = topk_options(c);
    const std::string gnn = c.text("gnn", "GraphConv");
    if (gnn == "GraphConv") o.scorer = SAGScorer::graph_conv;
    else if (gnn == "GCNConv") o.scorer = SAGScorer::gcn;
    else unknown_value(c.layer(), "gnn", gnn, "GraphConv or GCNConv");
    o.select_weight = true;   // PyG's SelectTopK(1) weight: act(g w / |w|)
    o.edge_weights = false;   // PyG's SAGPooling calls its GNN with edge_index only
    return SAGPool<S>(ps, "", c.integer("in_channels"), o);
  }
};
struct ScoreOutputs {
  std::vector<at::Tensor> operator()(PoolResult&& r, const GraphInput& in, const Extra&) const {
    return score_outputs(std::move(r), in);
  }
};

struct MakeKMIS {
  template <typename S>
  KMISPool<S> operator()(ParameterSet<S>& ps, Config& c, const Extra&) const {
    KMISPoolOptions o;
    o.select.k = c.integer("k", 1);
    o.select.scorer = parse_kmis_scorer(c.text("scorer", "linear"));
    o.select.heuristic = parse_kmis_heuristic(c.text("score_heuristic", "greedy"));
    o.passthrough = parse_score_passthrough(c.text("score_passthrough", "before"));
    o.aggregation = parse_cluster_aggregation(c.text("aggr_x", "none"));
    const std::string aggr_edge = c.text("aggr_edge", "sum");
    if (aggr_edge != "sum" && aggr_edge != "add") unknown_value(c.layer(), "aggr_edge", aggr_edge, "sum");
    o.connect.keep_self_loops = !c.flag("remove_self_loops", true);
    return KMISPool<S>(ps, "", c.integer("in_channels", 1), o);  // from x when run
  }
};
/// [x, edge_index, edge_attr, batch, mis, cluster] (PR #6488's KMISPooling).
struct KMISOutputs {
  std::vector<at::Tensor> operator()(PoolResult&& r, const GraphInput& in, const Extra&) const {
    at::Tensor mis = at::zeros({in.x.size(0)}, at::TensorOptions().dtype(at::kBool));
    mis.index_fill_(0, r.representative, true);
    return {r.x, r.edge_index, r.edge_weight, r.batch, mis, r.assignment};
  }
};

struct MakeCluster {
  template <typename S>
  GivenClusterPool<S> operator()(ParameterSet<S>&, Config& c, const Extra& extra) const {
    const std::string aggr = c.text("aggr", "max");
    // Without a cluster tensor (only when the parameter list is asked for) forward would throw.
    return GivenClusterPool<S>(c.layer(), GivenClusterSelect<S>(extra.index.value_or(at::Tensor()), c.layer()),
                               ClusterReduce<S>(ClusterReduceOptions{parse_cluster_aggregation(aggr), ScorePassthrough::none}),
                               ClusterConnect<S>{});
  }
};
/// [x, edge_index, edge_attr, batch] (PyG's max_pool / avg_pool).
struct ClusterOutputs {
  std::vector<at::Tensor> operator()(PoolResult&& r, const GraphInput& in, const Extra&) const {
    return {r.x, r.edge_index, keep_if(has_tensor(in.edge_weight), r.edge_weight), r.batch};
  }
};

struct MakeNDP {
  template <typename S>
  NDPPool<S> operator()(ParameterSet<S>& ps, Config& c, const Extra& extra) const {
    NDPPoolOptions o;
    o.select.cut_threshold = c.number("cut_threshold", 0.5);
    o.select.seed = static_cast<std::uint64_t>(c.integer("seed", 0));
    const std::string split = c.text("random_split", "tgp");
    if (split == "tgp") o.select.random_split = NDPRandomSplit::tgp;
    else if (split == "numpy") o.select.random_split = NDPRandomSplit::numpy;
    else unknown_value(c.layer(), "random_split", split, "tgp or numpy");
    o.connect.threshold = c.number("sparse_threshold", 1e-2);
    if (has_tensor(extra.index)) {
      const at::Tensor& z = *extra.index;
      check_index(z, 1, c.layer(), "fallback_partition");
      const int64_t* p = z.data_ptr<int64_t>();
      for (int64_t i = 0; i < z.numel(); ++i) {
        GNNPOOL_CHECK(p[i] == 1 || p[i] == -1, invalid_argument, c.layer(), ": fallback_partition[", i,
                      "] must be +1 or -1, got ", p[i]);
        o.select.fallback_partition.push_back(static_cast<int>(p[i]));
      }
    }
    return NDPPool<S>(ps, "", c.integer("in_channels", 1), std::move(o));  // from x when run
  }
};
/// [x, edge_index, edge_weight, batch, perm].
struct NDPOutputs {
  std::vector<at::Tensor> operator()(PoolResult&& r, const GraphInput&, const Extra&) const {
    return {r.x, r.edge_index, r.edge_weight, r.batch, r.representative};
  }
};

}  // namespace

void add_score_kinds(Registry& r) {
  const std::vector<std::string> score{"x", "edge_index", "edge_attr", "batch", "perm", "score"};
  r.pools["topk"] = pool_kind<MakeTopK, ScoreOutputs>(score);
  r.pools["topk_augmented"] = pool_kind<MakeTopKAugmented, ScoreOutputs>(score);
  r.pools["sag"] = pool_kind<MakeSAG, ScoreOutputs>(score);
  r.pools["kmis"] = pool_kind<MakeKMIS, KMISOutputs>({"x", "edge_index", "edge_attr", "batch", "mis", "cluster"});
  r.pools["cluster"] = pool_kind<MakeCluster, ClusterOutputs>({"x", "edge_index", "edge_attr", "batch"});
  r.pools["ndp"] = pool_kind<MakeNDP, NDPOutputs>({"x", "edge_index", "edge_attr", "batch", "perm"});
}

}  // namespace gnnpool::pyg::impl
