#ifndef GNNPOOL_TORCH_MODULES_HPP
#define GNNPOOL_TORCH_MODULES_HPP

/// \file
/// gnnpool's poolers, readouts and graph convolutions as libtorch `torch::nn::Module`s and
/// functions with PyTorch Geometric's names, constructor arguments, forward signatures and
/// parameter names (`named_parameters()` gives PyG's `state_dict` keys), so that `torch::optim`
/// trains them and their state moves to and from PyG. Every forward runs the gnnpool layer's
/// own forward and, under autograd, its hand-written backward (ops.hpp, function.hpp). Part of
/// the optional bridge (`gnnpool::torch`, docs/torch.md).
///
/// Tensors follow PyG: x [N, F] float32 / float64, edge_index [2, E] int64, edge_attr /
/// edge_weight [E], batch [N] int64, all on the CPU and contiguous; the dense poolers take the
/// padded x [B, Nmax, F], adj [B, Nmax, Nmax], mask [B, Nmax]. A module's parameters must have
/// the dtype of x (`module->to(torch::kFloat64)` for double).

#include <gnnpool/torch/ops.hpp>

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace gnnpool::pyg {

/// What a sparse pooler returns, under PyG's names. Fields a pooler does not produce are
/// undefined tensors: TopK / SAG fill perm and score, k-MIS mis and cluster, NDP perm, the
/// soft poolers s and their losses. `edge_attr` is undefined when the input had no edge
/// weights and the pooler passes weights through (TopK, SAG, max_pool, avg_pool).
struct PoolingOutput {
  at::Tensor x, edge_index, edge_attr, batch;
  at::Tensor perm, score;
  at::Tensor mis, cluster;
  at::Tensor s;
  std::vector<std::pair<std::string, at::Tensor>> losses;

  /// The auxiliary loss called `name` (throws `invalid_argument` when absent).
  const at::Tensor& loss(std::string_view name) const;
  /// The sum of the auxiliary losses (0 when there are none).
  at::Tensor aux_loss() const;
};

/// What a dense (padded) soft pooler returns: x [B, K, F], adj [B, K, K], s = softmax of the
/// logits [B, Nmax, K], and the auxiliary losses (PyG's names).
struct DensePoolingOutput {
  at::Tensor x, adj, s;
  std::vector<std::pair<std::string, at::Tensor>> losses;
  const at::Tensor& loss(std::string_view name) const;
  at::Tensor aux_loss() const;
};

/// A module holding the parameters of one gnnpool layer of the bridge (`layer` and `config` as
/// in ops.hpp), registered under their PyG names (nested modules for the dotted parts) with
/// gnnpool's initialisers, seeded from torch's global generator.
class LayerModuleImpl : public torch::nn::Module {
 public:
  LayerModuleImpl(std::string layer, std::string config);

  const std::string& layer() const { return m_layer; }
  const std::string& config() const { return m_config; }
  /// The parameters in the order the ops take them.
  const std::vector<at::Tensor>& layer_parameters() const { return m_parameters; }
  /// Draws new initial values (gnnpool's initialisers, torch's global generator).
  void reset_parameters();

 protected:
  /// Runs the pooler (ops.hpp `pool`) with this module's parameters.
  PoolingOutput run_pool(const at::Tensor& x, const at::Tensor& edge_index, const c10::optional<at::Tensor>& edge_weight,
                         const c10::optional<at::Tensor>& batch, const c10::optional<at::Tensor>& index = {}) const;
  /// Runs the graph layer (ops.hpp `graph_layer`) with this module's parameters.
  at::Tensor run_graph_layer(const at::Tensor& x, const c10::optional<at::Tensor>& edge_index,
                             const c10::optional<at::Tensor>& edge_weight, const c10::optional<at::Tensor>& batch,
                             c10::optional<int64_t> size) const;

 private:
  std::string m_layer, m_config;
  std::vector<at::Tensor> m_parameters;
};

// ---------------------------------------------------------------------------------------------
// Score-based poolers
// ---------------------------------------------------------------------------------------------

/// PyG's `TopKPooling(in_channels, ratio=0.5, min_score=None, multiplier=1.0, nonlinearity='tanh')`.
struct TopKPoolingOptions {
  TopKPoolingOptions(int64_t in_channels) : in_channels_(in_channels) {}  // NOLINT: as torch's options
  TORCH_ARG(int64_t, in_channels);
  /// A fraction of every graph's nodes when < 1, int(ratio) nodes otherwise (PyG's rule).
  TORCH_ARG(c10::optional<double>, ratio) = 0.5;
  TORCH_ARG(c10::optional<double>, min_score) = c10::nullopt;
  TORCH_ARG(double, multiplier) = 1.0;
  TORCH_ARG(std::string, nonlinearity) = "tanh";  ///< "tanh" or "sigmoid"
};

/// Parameter `select.weight` [1, F]. forward(x, edge_index, edge_attr, batch) -> x, edge_index,
/// edge_attr, batch, perm, score.
class TopKPoolingImpl : public LayerModuleImpl {
 public:
  explicit TopKPoolingImpl(const TopKPoolingOptions& o);
  PoolingOutput forward(const at::Tensor& x, const at::Tensor& edge_index, const c10::optional<at::Tensor>& edge_attr = {},
                        const c10::optional<at::Tensor>& batch = {});
  TopKPoolingOptions options;

 protected:
  TopKPoolingImpl(const TopKPoolingOptions& o, std::string layer, std::string config);
};
TORCH_MODULE(TopKPooling);

/// gnnpool's `TopKAugmentedPool` (Graph U-Net's augmented connectivity (A + I)^2): the options,
/// parameter and outputs of `TopKPooling`.
class TopKAugmentedPoolImpl : public TopKPoolingImpl {
 public:
  explicit TopKAugmentedPoolImpl(const TopKPoolingOptions& o);
};
TORCH_MODULE(TopKAugmentedPool);

/// PyG's `SAGPooling(in_channels, ratio=0.5, GNN=GraphConv, min_score=None, multiplier=1.0,
/// nonlinearity='tanh')`; `gnn` is "GraphConv" or "GCNConv".
struct SAGPoolingOptions {
  SAGPoolingOptions(int64_t in_channels) : in_channels_(in_channels) {}  // NOLINT
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(c10::optional<double>, ratio) = 0.5;
  TORCH_ARG(std::string, gnn) = "GraphConv";
  TORCH_ARG(c10::optional<double>, min_score) = c10::nullopt;
  TORCH_ARG(double, multiplier) = 1.0;
  TORCH_ARG(std::string, nonlinearity) = "tanh";
};

/// Parameters `gnn.*` (GraphConv: `gnn.lin_rel.weight`, `gnn.lin_rel.bias`, `gnn.lin_root.weight`;
/// GCNConv: `gnn.lin.weight`, `gnn.bias`) and `select.weight` [1, 1]. The scoring GNN reads
/// edge_index only, as PyG's. Outputs as `TopKPooling`.
class SAGPoolingImpl : public LayerModuleImpl {
 public:
  explicit SAGPoolingImpl(const SAGPoolingOptions& o);
  PoolingOutput forward(const at::Tensor& x, const at::Tensor& edge_index, const c10::optional<at::Tensor>& edge_attr = {},
                        const c10::optional<at::Tensor>& batch = {});
  SAGPoolingOptions options;
};
TORCH_MODULE(SAGPooling);

/// `KMISPooling(in_channels, k=1, scorer='linear', score_heuristic='greedy',
/// score_passthrough='before', aggr_x=None, aggr_edge='sum', remove_self_loops=True)` of PyG
/// pull request #6488. "none" stands for Python's None.
struct KMISPoolingOptions {
  KMISPoolingOptions(int64_t in_channels) : in_channels_(in_channels) {}  // NOLINT
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, k) = 1;
  TORCH_ARG(std::string, scorer) = "linear";
  TORCH_ARG(std::string, score_heuristic) = "greedy";
  TORCH_ARG(std::string, score_passthrough) = "before";
  TORCH_ARG(std::string, aggr_x) = "none";
  TORCH_ARG(std::string, aggr_edge) = "sum";
  TORCH_ARG(bool, remove_self_loops) = true;
};

/// Parameters `lin.weight` [1, F], `lin.bias` [1] (linear scorer). forward -> x, edge_index,
/// edge_attr (summed; 1 per input edge without weights), batch, mis (bool [N]), cluster.
class KMISPoolingImpl : public LayerModuleImpl {
 public:
  explicit KMISPoolingImpl(const KMISPoolingOptions& o);
  PoolingOutput forward(const at::Tensor& x, const at::Tensor& edge_index, const c10::optional<at::Tensor>& edge_attr = {},
                        const c10::optional<at::Tensor>& batch = {});
  KMISPoolingOptions options;
};
TORCH_MODULE(KMISPooling);

/// Node Decimation Pooling (torch-geometric-pool's `NDPPooling`): no parameters.
struct NDPPoolingOptions {
  TORCH_ARG(double, sparse_threshold) = 1e-2;
  TORCH_ARG(double, cut_threshold) = 0.5;
  TORCH_ARG(int64_t, seed) = 0;
  TORCH_ARG(std::string, random_split) = "tgp";  ///< "tgp" or "numpy" (the SRC code's draw)
};

/// forward(x, edge_index, edge_weight, batch, fallback_partition) -> x, edge_index,
/// edge_weight, batch, perm. Not differentiable in the edge weights (docs/ndp.md).
class NDPPoolingImpl : public LayerModuleImpl {
 public:
  explicit NDPPoolingImpl(const NDPPoolingOptions& o = {});
  PoolingOutput forward(const at::Tensor& x, const at::Tensor& edge_index, const c10::optional<at::Tensor>& edge_weight = {},
                        const c10::optional<at::Tensor>& batch = {},
                        const c10::optional<at::Tensor>& fallback_partition = {});
  NDPPoolingOptions options;
};
TORCH_MODULE(NDPPooling);

// ---------------------------------------------------------------------------------------------
// Soft poolers on gnnpool's unpadded batch (x [N, F], edge_index, batch)
// ---------------------------------------------------------------------------------------------

/// gnnpool's `MinCutPool` / `DMoNPool` (MLP scorer, `mlp.lins.<l>.{weight,bias}`) and
/// `DiffPool` (GCN scorer, `gnn.lin.weight`, `gnn.bias`) with K clusters per graph.
struct SoftPoolOptions {
  SoftPoolOptions(int64_t in_channels, int64_t k) : in_channels_(in_channels), k_(k) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, k);
  TORCH_ARG(std::vector<int64_t>, hidden) = {};  ///< hidden widths of the MLP (not DiffPool)
  TORCH_ARG(double, temperature) = 1.0;
};

/// forward(x, edge_index, edge_weight, batch) -> x [B K, F], edge_index and edge_weight of the
/// pooled block-diagonal graph (K x K dense blocks), batch, s [N, K], losses (MinCut:
/// mincut_loss, ortho_loss; DiffPool: link_loss, ent_loss; DMoN: spectral_loss, ortho_loss,
/// cluster_loss).
class SoftPoolImpl : public LayerModuleImpl {
 public:
  SoftPoolImpl(std::string layer, const SoftPoolOptions& o);
  PoolingOutput forward(const at::Tensor& x, const at::Tensor& edge_index, const c10::optional<at::Tensor>& edge_weight = {},
                        const c10::optional<at::Tensor>& batch = {});
  SoftPoolOptions options;
};
class MinCutPoolImpl : public SoftPoolImpl {
 public:
  explicit MinCutPoolImpl(const SoftPoolOptions& o) : SoftPoolImpl("mincut", o) {}
};
class DiffPoolImpl : public SoftPoolImpl {
 public:
  explicit DiffPoolImpl(const SoftPoolOptions& o) : SoftPoolImpl("diffpool", o) {}
};
class DMoNPoolImpl : public SoftPoolImpl {
 public:
  explicit DMoNPoolImpl(const SoftPoolOptions& o) : SoftPoolImpl("dmon", o) {}
};
TORCH_MODULE(MinCutPool);
TORCH_MODULE(DiffPool);
TORCH_MODULE(DMoNPool);

// ---------------------------------------------------------------------------------------------
// Dense (padded) soft poolers, PyG's API
// ---------------------------------------------------------------------------------------------

/// PyG's `dense_mincut_pool(x, adj, s, mask, temp)`: losses mincut_loss, ortho_loss.
DensePoolingOutput dense_mincut_pool(const at::Tensor& x, const at::Tensor& adj, const at::Tensor& s,
                                     const c10::optional<at::Tensor>& mask = {}, double temp = 1.0);
/// PyG's `dense_diff_pool(x, adj, s, mask, normalize)`: losses link_loss, ent_loss.
DensePoolingOutput dense_diff_pool(const at::Tensor& x, const at::Tensor& adj, const at::Tensor& s,
                                   const c10::optional<at::Tensor>& mask = {}, bool normalize = true);
/// DMoN on given logits (the pooling part of PyG's `DMoNPooling`): losses spectral_loss,
/// ortho_loss, cluster_loss; x is SELU(Sᵀ X).
DensePoolingOutput dense_dmon_pool(const at::Tensor& x, const at::Tensor& adj, const at::Tensor& s,
                                   const c10::optional<at::Tensor>& mask = {});

/// PyG's `DMoNPooling(channels, k, dropout=0.0)`: `channels` = [in, hidden...]; parameters
/// `mlp.lins.<l>.{weight,bias}` (torch Linear layers, no activation between them).
struct DMoNPoolingOptions {
  DMoNPoolingOptions(std::vector<int64_t> channels, int64_t k) : channels_(std::move(channels)), k_(k) {}
  DMoNPoolingOptions(int64_t channels, int64_t k) : channels_({channels}), k_(k) {}
  TORCH_ARG(std::vector<int64_t>, channels);
  TORCH_ARG(int64_t, k);
  TORCH_ARG(double, dropout) = 0.0;
};

/// forward(x, adj, mask) -> s, out, out_adj and the three losses (`DensePoolingOutput`).
class DMoNPoolingImpl : public torch::nn::Module {
 public:
  explicit DMoNPoolingImpl(const DMoNPoolingOptions& o);
  DensePoolingOutput forward(const at::Tensor& x, const at::Tensor& adj, const c10::optional<at::Tensor>& mask = {});
  DMoNPoolingOptions options;
  torch::nn::ModuleList lins;  ///< registered as mlp.lins
};
TORCH_MODULE(DMoNPooling);

// ---------------------------------------------------------------------------------------------
// One-over-K: graclus and the pools on a clustering
// ---------------------------------------------------------------------------------------------

/// PyG's `max_pool(cluster, data)` / `avg_pool(cluster, data)` on the tensors of data: x,
/// edge_index, edge_attr and batch of the coarsened graph (edges within a cluster dropped,
/// parallel ones summed). Differentiable in x and edge_attr.
PoolingOutput max_pool(const at::Tensor& cluster, const at::Tensor& x, const at::Tensor& edge_index,
                       const c10::optional<at::Tensor>& edge_attr = {}, const c10::optional<at::Tensor>& batch = {});
PoolingOutput avg_pool(const at::Tensor& cluster, const at::Tensor& x, const at::Tensor& edge_index,
                       const c10::optional<at::Tensor>& edge_attr = {}, const c10::optional<at::Tensor>& batch = {});
/// PyG's `max_pool_x(cluster, x, batch)` / `avg_pool_x`: the pooled x and batch.
std::tuple<at::Tensor, at::Tensor> max_pool_x(const at::Tensor& cluster, const at::Tensor& x,
                                              const c10::optional<at::Tensor>& batch = {});
std::tuple<at::Tensor, at::Tensor> avg_pool_x(const at::Tensor& cluster, const at::Tensor& x,
                                              const c10::optional<at::Tensor>& batch = {});

// ---------------------------------------------------------------------------------------------
// Readouts
// ---------------------------------------------------------------------------------------------

/// PyG's `global_add_pool(x, batch, size)`, `global_mean_pool`, `global_max_pool`: [B, F].
at::Tensor global_add_pool(const at::Tensor& x, const c10::optional<at::Tensor>& batch = {},
                           c10::optional<int64_t> size = c10::nullopt);
at::Tensor global_mean_pool(const at::Tensor& x, const c10::optional<at::Tensor>& batch = {},
                            c10::optional<int64_t> size = c10::nullopt);
at::Tensor global_max_pool(const at::Tensor& x, const c10::optional<at::Tensor>& batch = {},
                           c10::optional<int64_t> size = c10::nullopt);

/// PyG's `AttentionalAggregation(gate_nn=Linear(F, 1), nn=Linear(F, F') or None)`: parameters
/// `gate_nn.weight`, `gate_nn.bias`, `nn.weight`, `nn.bias`.
struct AttentionalAggregationOptions {
  AttentionalAggregationOptions(int64_t in_channels) : in_channels_(in_channels) {}  // NOLINT
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(c10::optional<int64_t>, nn_out_channels) = c10::nullopt;
};
class AttentionalAggregationImpl : public LayerModuleImpl {
 public:
  explicit AttentionalAggregationImpl(const AttentionalAggregationOptions& o);
  at::Tensor forward(const at::Tensor& x, const c10::optional<at::Tensor>& batch = {},
                     c10::optional<int64_t> size = c10::nullopt);
  AttentionalAggregationOptions options;
};
TORCH_MODULE(AttentionalAggregation);

/// Spektral's `GlobalAttentionPool(channels)` (gnnpool's `GatedAttentionReadout`): parameters
/// `features_layer.*`, `attn_layer.*`.
class GatedAttentionReadoutImpl : public LayerModuleImpl {
 public:
  GatedAttentionReadoutImpl(int64_t in_channels, int64_t channels);
  at::Tensor forward(const at::Tensor& x, const c10::optional<at::Tensor>& batch = {},
                     c10::optional<int64_t> size = c10::nullopt);
};
TORCH_MODULE(GatedAttentionReadout);

/// Spektral's `GlobalAttnSumPool` (gnnpool's `AttentionSumReadout`): parameter `attn_kernel` [F, 1].
class AttentionSumReadoutImpl : public LayerModuleImpl {
 public:
  explicit AttentionSumReadoutImpl(int64_t in_channels);
  at::Tensor forward(const at::Tensor& x, const c10::optional<at::Tensor>& batch = {},
                     c10::optional<int64_t> size = c10::nullopt);
};
TORCH_MODULE(AttentionSumReadout);

// ---------------------------------------------------------------------------------------------
// Graph convolutions
// ---------------------------------------------------------------------------------------------

/// PyG's `GCNConv(in_channels, out_channels, add_self_loops=True, normalize=True, bias=True)`:
/// parameters `lin.weight`, `bias`.
struct GCNConvOptions {
  GCNConvOptions(int64_t in_channels, int64_t out_channels) : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(bool, add_self_loops) = true;
  TORCH_ARG(bool, normalize) = true;
  TORCH_ARG(bool, bias) = true;
};
class GCNConvImpl : public LayerModuleImpl {
 public:
  explicit GCNConvImpl(const GCNConvOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& edge_index, const c10::optional<at::Tensor>& edge_weight = {});
  GCNConvOptions options;
};
TORCH_MODULE(GCNConv);

/// PyG's `GraphConv(in_channels, out_channels, aggr='add', bias=True)`: parameters
/// `lin_rel.weight`, `lin_rel.bias`, `lin_root.weight`.
struct GraphConvOptions {
  GraphConvOptions(int64_t in_channels, int64_t out_channels) : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(bool, bias) = true;
};
class GraphConvImpl : public LayerModuleImpl {
 public:
  explicit GraphConvImpl(const GraphConvOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& edge_index, const c10::optional<at::Tensor>& edge_weight = {});
  GraphConvOptions options;
};
TORCH_MODULE(GraphConv);

}  // namespace gnnpool::pyg

#endif
