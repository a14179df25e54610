#ifndef GNNPOOL_TORCH_OPS_HPP
#define GNNPOOL_TORCH_OPS_HPP

/// \file
/// The operations of the compiled bridge library (`gnnpool::torch`, libgnnpool_torch.so), by
/// layer name. They are what `torch.ops.gnnpool.*` calls from Python (registered with
/// TORCH_LIBRARY) and what the C++ modules of modules.hpp call; each returns PyG's outputs in
/// PyG's order, differentiable through the layer's own backward. docs/torch.md lists the layers
/// and their options.
///
/// `config` is the layer's options as "key=value;key=value" (numbers, names, `none`,
/// `true`/`false`, comma-separated integer lists); an unknown key is an error.

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gnnpool::pyg {

/// Names (PyG's state_dict names, in the order the ops take them), and initial values (float64,
/// PyG's shapes) of a layer's parameters, drawn with gnnpool's initialisers from a seed taken
/// from torch's global generator (so `torch.manual_seed` makes them reproducible).
struct ParameterSpec {
  std::vector<std::string> names;
  std::vector<at::Tensor> values;
};

/// The parameters of the pooler or graph layer `layer` built with `config`.
ParameterSpec layer_parameters(const std::string& layer, const std::string& config);

/// A sparse pooler on PyG's batch (x [N, F], edge_index [2, E], edge_weight [E], batch [N];
/// `num_graphs` is PyG's `size`). `params`: the tensors named by `layer_parameters`, in that
/// order. `index`: the cluster of every node ("cluster") or the fallback split ("ndp").
/// Layers and outputs:
///   topk, topk_augmented, sag: x, edge_index, edge_attr (None without input weights), batch, perm, score
///   kmis:                      x, edge_index, edge_attr, batch, mis, cluster
///   cluster:                   x, edge_index, edge_attr (None without input weights), batch
///   ndp:                       x, edge_index, edge_weight, batch, perm
///   mincut, diffpool, dmon:    x, edge_index, edge_weight, batch, s, then the auxiliary losses
std::vector<at::Tensor> pool(const std::string& layer, const std::string& config, const at::Tensor& x,
                             const at::Tensor& edge_index, const c10::optional<at::Tensor>& edge_weight,
                             const c10::optional<at::Tensor>& batch, c10::optional<int64_t> num_graphs,
                             at::TensorList params, const c10::optional<at::Tensor>& index);

/// A readout (sum, mean, max, attention, gated_attention, attention_sum: [B, F']) or a graph
/// convolution (gcn, graph_conv: [N, F'], needs edge_index).
at::Tensor graph_layer(const std::string& layer, const std::string& config, const at::Tensor& x,
                       const c10::optional<at::Tensor>& edge_index, const c10::optional<at::Tensor>& edge_weight,
                       const c10::optional<at::Tensor>& batch, c10::optional<int64_t> num_graphs, at::TensorList params);

/// A functional soft pooler (mincut, diffpool, dmon) on PyG's padded batch: x [B, Nmax, F],
/// adj [B, Nmax, Nmax], logits s [B, Nmax, K], mask [B, Nmax]. Returns x [B, K, F],
/// adj [B, K, K], softmax(s) [B, Nmax, K] (padded rows 0), then the auxiliary losses.
std::vector<at::Tensor> dense_pool(const std::string& function, const std::string& config, const at::Tensor& x,
                                   const at::Tensor& adj, const at::Tensor& s, const c10::optional<at::Tensor>& mask);

/// PyG's `graclus(edge_index, weight, num_nodes)`: the cluster id (the smaller node of each
/// matched pair; a node's own index when unmatched) of every node. The visiting order is
/// `visit_order`, or `torch.randperm(num_nodes)` drawn from torch's global generator, as PyG
/// 2.8's CPU kernel draws it. Not differentiable. Needs an undirected graph.
at::Tensor graclus(const at::Tensor& edge_index, const c10::optional<at::Tensor>& weight,
                   c10::optional<int64_t> num_nodes, const c10::optional<at::Tensor>& visit_order);

/// Sets how many edge_index conversions are kept per dtype (tensor.hpp; 0: off) and returns the
/// previous capacity; a negative capacity only returns it.
int64_t structure_cache(int64_t capacity);

/// The names of the outputs of `pool` (for a pooler) or `dense_pool` (for a function), in
/// order: "x", "edge_index", ..., then the names of the auxiliary losses.
std::vector<std::string> layer_outputs(const std::string& op, const std::string& layer);

/// The layer names each op knows.
std::vector<std::string> pool_layers();
std::vector<std::string> graph_layers();
std::vector<std::string> dense_functions();

}  // namespace gnnpool::pyg

#endif
