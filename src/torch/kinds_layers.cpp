// The graph layers of the bridge, run by the generic `graph_layer` wrapper: the readouts (PyG's
// global_add_pool, global_mean_pool, global_max_pool, AttentionalAggregation; Spektral's
// GlobalAttentionPool and GlobalAttnSumPool) and the graph convolutions (PyG's GCNConv,
// GraphConv). Also PyG's graclus clustering (forward only).

#include "bridge.hpp"

#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/nn/graph_conv.hpp>
#include <gnnpool/readout/attention.hpp>
#include <gnnpool/readout/attention_sum.hpp>
#include <gnnpool/readout/gated_attention.hpp>
#include <gnnpool/readout/max.hpp>
#include <gnnpool/readout/mean.hpp>
#include <gnnpool/readout/sum.hpp>
#include <gnnpool/select/graclus.hpp>

namespace gnnpool::pyg::impl {
namespace {

template <typename Make>
GraphLayerKind layer_kind() {
  return GraphLayerKind{
      [](Config& c, const GraphInput& in, at::TensorList params) {
        const std::string op = c.layer();  // "gnnpool.graph_layer(<layer>)"
        return dispatch(in.x, op, [&]<typename S>() {
          ParameterSet<S> ps;
          auto built = Make{}.template operator()<S>(ps, c);
          c.finish();
          auto layer = std::make_shared<const decltype(built)>(std::move(built));
          return graph_layer(std::move(layer), std::move(ps), in, params, op);
        });
      },
      [](Config& c) {
        return parameter_spec([&](ParameterSet<double>& ps) {
          auto layer = Make{}.template operator()<double>(ps, c);
          c.finish();
          return layer;
        });
      }};
}

template <template <typename> class Readout>
struct MakeParameterFree {
  template <typename S>
  Readout<S> operator()(ParameterSet<S>&, Config&) const {
    return Readout<S>{};
  }
};
struct MakeAttention {
  template <typename S>
  AttentionReadout<S> operator()(ParameterSet<S>& ps, Config& c) const {
    const auto nn_out = c.optional_integer("nn_out_channels");
    return AttentionReadout<S>(ps, "", c.integer("in_channels"),
                               nn_out ? std::optional<Index>(*nn_out) : std::optional<Index>());
  }
};
struct MakeGatedAttention {
  template <typename S>
  GatedAttentionReadout<S> operator()(ParameterSet<S>& ps, Config& c) const {
    return GatedAttentionReadout<S>(ps, "", c.integer("in_channels"), c.integer("channels"));
  }
};
struct MakeAttentionSum {
  template <typename S>
  AttentionSumReadout<S> operator()(ParameterSet<S>& ps, Config& c) const {
    AttentionSumOptions o;
    o.softmax_eps = c.number("softmax_eps", o.softmax_eps);
    return AttentionSumReadout<S>(ps, "", c.integer("in_channels"), o);
  }
};
struct MakeGCN {
  template <typename S>
  GCNConv<S> operator()(ParameterSet<S>& ps, Config& c) const {
    GCNConvOptions o;
    o.add_self_loops = c.flag("add_self_loops", true);
    o.normalize = c.flag("normalize", true);
    o.bias = c.flag("bias", true);
    return GCNConv<S>(ps, "", c.integer("in_channels"), c.integer("out_channels"), o);
  }
};
struct MakeGraphConv {
  template <typename S>
  GraphConv<S> operator()(ParameterSet<S>& ps, Config& c) const {
    const std::string aggr = c.text("aggr", "add");
    if (aggr != "add" && aggr != "sum") unknown_value(c.layer(), "aggr", aggr, "add");
    return GraphConv<S>(ps, "", c.integer("in_channels"), c.integer("out_channels"), c.flag("bias", true));
  }
};

template <typename Scalar>
at::Tensor graclus_typed(const at::Tensor& edge_index, const c10::optional<at::Tensor>& weight, Index n,
                         const at::Tensor& order) {
  constexpr std::string_view op = "gnnpool.graclus";
  const auto structure = edge_structure<Scalar>(edge_index, n, op);
  SparseMatrix<Scalar> weighted;
  if (has_tensor(weight)) weighted_adjacency(*structure, *weight, weighted, op);
  const IndexVector offsets{0, n};
  const Matrix<Scalar> x(n, 0);
  const BatchRef<Scalar> in(x, has_tensor(weight) ? weighted : structure->ones, offsets);
  GraclusOptions o;
  o.weighting = has_tensor(weight) ? GraclusWeighting::edge_weight : GraclusWeighting::unweighted;
  const int64_t* v = order.data_ptr<int64_t>();
  o.visit_order.assign(v, v + order.numel());
  const GraclusSelect<Scalar> select(o);
  HardSelection<Scalar> sel;
  typename GraclusSelect<Scalar>::Cache cache;
  const ParameterSet<Scalar> none;
  select.forward(none, in, sel, cache);
  at::Tensor cluster = at::empty({n}, at::TensorOptions().dtype(at::kLong));
  int64_t* c = cluster.data_ptr<int64_t>();
  for (Index i = 0; i < n; ++i)
    c[i] = sel.representative[static_cast<std::size_t>(sel.assignment[static_cast<std::size_t>(i)])];
  return cluster;
}

}  // namespace

void add_layer_kinds(Registry& r) {
  r.layers["sum"] = layer_kind<MakeParameterFree<SumReadout>>();
  r.layers["mean"] = layer_kind<MakeParameterFree<MeanReadout>>();
  r.layers["max"] = layer_kind<MakeParameterFree<MaxReadout>>();
  r.layers["attention"] = layer_kind<MakeAttention>();
  r.layers["gated_attention"] = layer_kind<MakeGatedAttention>();
  r.layers["attention_sum"] = layer_kind<MakeAttentionSum>();
  r.layers["gcn"] = layer_kind<MakeGCN>();
  r.layers["graph_conv"] = layer_kind<MakeGraphConv>();
}

}  // namespace gnnpool::pyg::impl

namespace gnnpool::pyg {

at::Tensor graclus(const at::Tensor& edge_index, const c10::optional<at::Tensor>& weight, c10::optional<int64_t> num_nodes,
                   const c10::optional<at::Tensor>& visit_order) {
  constexpr std::string_view op = "gnnpool.graclus";
  check_index(edge_index, 2, op, "edge_index");
  GNNPOOL_CHECK(edge_index.size(0) == 2, shape_error, op, ": edge_index must be [2, E], got ", detail::sizes_of(edge_index));
  Index n = 0;
  if (num_nodes) {
    GNNPOOL_CHECK(*num_nodes >= 0, invalid_argument, op, ": num_nodes must be >= 0, got ", *num_nodes);
    n = *num_nodes;
  } else if (edge_index.numel() > 0) {
    n = edge_index.max().item<int64_t>() + 1;
  }
  at::Tensor order;
  if (impl::has_tensor(visit_order)) {
    order = *visit_order;
    check_index(order, 1, op, "visit_order");
    GNNPOOL_CHECK(order.size(0) == n, shape_error, op, ": visit_order has ", order.size(0), " entries for ", n, " nodes");
  } else {
    order = at::randperm(n, at::TensorOptions().dtype(at::kLong));  // PyG 2.8's kernel: torch's global generator
  }
  if (impl::has_tensor(weight)) {
    check_floating(*weight, 1, op, "weight");
    if (weight->scalar_type() == at::kFloat) return impl::graclus_typed<float>(edge_index, weight, n, order);
  }
  return impl::graclus_typed<double>(edge_index, weight, n, order);
}

}  // namespace gnnpool::pyg
