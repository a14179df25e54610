// The libtorch modules and functions of modules.hpp: thin wrappers that turn their options into
// the options text of a layer and call the ops of ops.hpp with their parameters.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/torch/modules.hpp>

#include <torch/nn/modules/linear.h>
#include <torch/nn/functional/dropout.h>

#include <iomanip>
#include <limits>
#include <sstream>

namespace gnnpool::pyg {
namespace {

/// Builds "key=value;..." with full-precision numbers and `none` for empty optionals.
class ConfigText {
 public:
  ConfigText& add(std::string_view key, const std::string& value) {
    m_os << (m_empty ? "" : ";") << key << '=' << value;
    m_empty = false;
    return *this;
  }
  ConfigText& add(std::string_view key, const char* value) { return add(key, std::string(value)); }
  ConfigText& add(std::string_view key, int64_t value) { return add(key, std::to_string(value)); }
  ConfigText& add(std::string_view key, bool value) { return add(key, std::string(value ? "true" : "false")); }
  ConfigText& add(std::string_view key, double value) {
    std::ostringstream os;
    os << std::setprecision(std::numeric_limits<double>::max_digits10) << value;
    return add(key, os.str());
  }
  template <typename T>
  ConfigText& add(std::string_view key, const c10::optional<T>& value) {
    if (!value) return add(key, std::string("none"));
    return add(key, *value);
  }
  ConfigText& add(std::string_view key, const std::vector<int64_t>& values) {
    std::string s;
    for (const int64_t v : values) {
      if (!s.empty()) s += ',';
      s += std::to_string(v);  // appended, not `"," + to_string(v)`: GCC 12 -O3 -Wrestrict false positive
    }
    return add(key, s);
  }
  std::string str() const { return m_os.str(); }

 private:
  std::ostringstream m_os;
  bool m_empty = true;
};

std::vector<std::pair<std::string, at::Tensor>>::const_iterator find_loss(
    const std::vector<std::pair<std::string, at::Tensor>>& losses, std::string_view name) {
  for (auto it = losses.begin(); it != losses.end(); ++it)
    if (it->first == name) return it;
  std::string known;
  for (const auto& l : losses) known += (known.empty() ? "" : ", ") + l.first;
  ::gnnpool::detail::raise<invalid_argument>(::gnnpool::detail::concat(
      "gnnpool: no auxiliary loss named '", name, "' (this pooler has: ", known.empty() ? "none" : known, ")"));
}

at::Tensor sum_of(const std::vector<std::pair<std::string, at::Tensor>>& losses) {
  if (losses.empty()) return at::zeros({});
  at::Tensor s = losses.front().second;
  for (std::size_t i = 1; i < losses.size(); ++i) s = s + losses[i].second;
  return s;
}

/// Puts the op's outputs (named by `layer_outputs`) into the fields of a PoolingOutput.
PoolingOutput pooling_output(const std::vector<at::Tensor>& list, const std::vector<std::string>& names) {
  PoolingOutput out;
  for (std::size_t i = 0; i < list.size() && i < names.size(); ++i) {
    const std::string& n = names[i];
    if (n == "x") out.x = list[i];
    else if (n == "edge_index") out.edge_index = list[i];
    else if (n == "edge_attr") out.edge_attr = list[i];
    else if (n == "batch") out.batch = list[i];
    else if (n == "perm") out.perm = list[i];
    else if (n == "score") out.score = list[i];
    else if (n == "mis") out.mis = list[i];
    else if (n == "cluster") out.cluster = list[i];
    else if (n == "s") out.s = list[i];
    else out.losses.emplace_back(n, list[i]);
  }
  return out;
}

DensePoolingOutput dense_output(const std::string& function, const std::string& config, const at::Tensor& x,
                                const at::Tensor& adj, const at::Tensor& s, const c10::optional<at::Tensor>& mask) {
  const std::vector<at::Tensor> list = dense_pool(function, config, x, adj, s, mask);
  const std::vector<std::string> names = layer_outputs("dense_pool", function);
  DensePoolingOutput out;
  out.x = list[0];
  out.adj = list[1];
  out.s = list[2];
  for (std::size_t i = 3; i < list.size(); ++i) out.losses.emplace_back(names[i], list[i]);
  return out;
}

std::string topk_config(const TopKPoolingOptions& o) {
  return ConfigText()
      .add("in_channels", o.in_channels())
      .add("ratio", o.ratio())
      .add("min_score", o.min_score())
      .add("multiplier", o.multiplier())
      .add("nonlinearity", o.nonlinearity())
      .str();
}

}  // namespace

const at::Tensor& PoolingOutput::loss(std::string_view name) const { return find_loss(losses, name)->second; }
at::Tensor PoolingOutput::aux_loss() const { return sum_of(losses); }
const at::Tensor& DensePoolingOutput::loss(std::string_view name) const { return find_loss(losses, name)->second; }
at::Tensor DensePoolingOutput::aux_loss() const { return sum_of(losses); }

LayerModuleImpl::LayerModuleImpl(std::string layer, std::string config)
    : m_layer(std::move(layer)), m_config(std::move(config)) {
  const ParameterSpec spec = ::gnnpool::pyg::layer_parameters(m_layer, m_config);
  const auto dtype = c10::typeMetaToScalarType(at::get_default_dtype());
  for (std::size_t i = 0; i < spec.names.size(); ++i) {
    const std::string& name = spec.names[i];
    torch::nn::Module* m = this;
    std::size_t pos = 0;
    for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', pos)) {
      const std::string part = name.substr(pos, dot - pos);
      const auto children = m->named_children();
      if (const auto* child = children.find(part)) m = child->get();
      else m = m->register_module(part, std::make_shared<torch::nn::Module>()).get();
      pos = dot + 1;
    }
    m_parameters.push_back(m->register_parameter(name.substr(pos), spec.values[i].to(dtype)));
  }
}

void LayerModuleImpl::reset_parameters() {
  const ParameterSpec spec = ::gnnpool::pyg::layer_parameters(m_layer, m_config);
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < m_parameters.size(); ++i) m_parameters[i].copy_(spec.values[i]);
}

PoolingOutput LayerModuleImpl::run_pool(const at::Tensor& x, const at::Tensor& edge_index,
                                        const c10::optional<at::Tensor>& edge_weight, const c10::optional<at::Tensor>& batch,
                                        const c10::optional<at::Tensor>& index) const {
  const std::vector<at::Tensor> list = pool(m_layer, m_config, x, edge_index, edge_weight, batch, c10::nullopt, m_parameters, index);
  return pooling_output(list, layer_outputs("pool", m_layer));
}

at::Tensor LayerModuleImpl::run_graph_layer(const at::Tensor& x, const c10::optional<at::Tensor>& edge_index,
                                            const c10::optional<at::Tensor>& edge_weight,
                                            const c10::optional<at::Tensor>& batch, c10::optional<int64_t> size) const {
  return graph_layer(m_layer, m_config, x, edge_index, edge_weight, batch, size, m_parameters);
}

// --- score-based --------------------------------------------------------------------------

TopKPoolingImpl::TopKPoolingImpl(const TopKPoolingOptions& o) : TopKPoolingImpl(o, "topk", topk_config(o)) {}
TopKPoolingImpl::TopKPoolingImpl(const TopKPoolingOptions& o, std::string layer, std::string config)
    : LayerModuleImpl(std::move(layer), std::move(config)), options(o) {}
PoolingOutput TopKPoolingImpl::forward(const at::Tensor& x, const at::Tensor& edge_index,
                                       const c10::optional<at::Tensor>& edge_attr, const c10::optional<at::Tensor>& batch) {
  return run_pool(x, edge_index, edge_attr, batch);
}

TopKAugmentedPoolImpl::TopKAugmentedPoolImpl(const TopKPoolingOptions& o)
    : TopKPoolingImpl(o, "topk_augmented", topk_config(o)) {}

SAGPoolingImpl::SAGPoolingImpl(const SAGPoolingOptions& o)
    : LayerModuleImpl("sag", ConfigText()
                                 .add("in_channels", o.in_channels())
                                 .add("ratio", o.ratio())
                                 .add("gnn", o.gnn())
                                 .add("min_score", o.min_score())
                                 .add("multiplier", o.multiplier())
                                 .add("nonlinearity", o.nonlinearity())
                                 .str()),
      options(o) {}
PoolingOutput SAGPoolingImpl::forward(const at::Tensor& x, const at::Tensor& edge_index,
                                      const c10::optional<at::Tensor>& edge_attr, const c10::optional<at::Tensor>& batch) {
  return run_pool(x, edge_index, edge_attr, batch);
}

KMISPoolingImpl::KMISPoolingImpl(const KMISPoolingOptions& o)
    : LayerModuleImpl("kmis", ConfigText()
                                  .add("in_channels", o.in_channels())
                                  .add("k", o.k())
                                  .add("scorer", o.scorer())
                                  .add("score_heuristic", o.score_heuristic())
                                  .add("score_passthrough", o.score_passthrough())
                                  .add("aggr_x", o.aggr_x())
                                  .add("aggr_edge", o.aggr_edge())
                                  .add("remove_self_loops", o.remove_self_loops())
                                  .str()),
      options(o) {}
PoolingOutput KMISPoolingImpl::forward(const at::Tensor& x, const at::Tensor& edge_index,
                                       const c10::optional<at::Tensor>& edge_attr, const c10::optional<at::Tensor>& batch) {
  return run_pool(x, edge_index, edge_attr, batch);
}

NDPPoolingImpl::NDPPoolingImpl(const NDPPoolingOptions& o)
    : LayerModuleImpl("ndp", ConfigText()
                                 .add("sparse_threshold", o.sparse_threshold())
                                 .add("cut_threshold", o.cut_threshold())
                                 .add("seed", o.seed())
                                 .add("random_split", o.random_split())
                                 .str()),
      options(o) {}
PoolingOutput NDPPoolingImpl::forward(const at::Tensor& x, const at::Tensor& edge_index,
                                      const c10::optional<at::Tensor>& edge_weight, const c10::optional<at::Tensor>& batch,
                                      const c10::optional<at::Tensor>& fallback_partition) {
  return run_pool(x, edge_index, edge_weight, batch, fallback_partition);
}

// --- soft, unpadded -------------------------------------------------------------------------

SoftPoolImpl::SoftPoolImpl(std::string layer, const SoftPoolOptions& o)
    : LayerModuleImpl(layer, [&] {
        ConfigText c;
        c.add("in_channels", o.in_channels()).add("k", o.k()).add("temperature", o.temperature());
        if (layer != "diffpool") c.add("hidden", o.hidden());
        return c.str();
      }()),
      options(o) {}
PoolingOutput SoftPoolImpl::forward(const at::Tensor& x, const at::Tensor& edge_index,
                                    const c10::optional<at::Tensor>& edge_weight, const c10::optional<at::Tensor>& batch) {
  return run_pool(x, edge_index, edge_weight, batch);
}

// --- soft, padded ---------------------------------------------------------------------------

DensePoolingOutput dense_mincut_pool(const at::Tensor& x, const at::Tensor& adj, const at::Tensor& s,
                                     const c10::optional<at::Tensor>& mask, double temp) {
  return dense_output("mincut", ConfigText().add("temperature", temp).str(), x, adj, s, mask);
}

DensePoolingOutput dense_diff_pool(const at::Tensor& x, const at::Tensor& adj, const at::Tensor& s,
                                   const c10::optional<at::Tensor>& mask, bool normalize) {
  return dense_output("diffpool", ConfigText().add("normalize", normalize).str(), x, adj, s, mask);
}

DensePoolingOutput dense_dmon_pool(const at::Tensor& x, const at::Tensor& adj, const at::Tensor& s,
                                   const c10::optional<at::Tensor>& mask) {
  return dense_output("dmon", "", x, adj, s, mask);
}

DMoNPoolingImpl::DMoNPoolingImpl(const DMoNPoolingOptions& o) : options(o) {
  GNNPOOL_CHECK(!o.channels().empty() && o.k() >= 1, invalid_argument,
                "DMoNPooling: channels must list at least the input width and k must be >= 1");
  auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
  lins = mlp->register_module("lins", torch::nn::ModuleList());
  std::vector<int64_t> widths = o.channels();
  widths.push_back(o.k());
  for (std::size_t l = 0; l + 1 < widths.size(); ++l) lins->push_back(torch::nn::Linear(widths[l], widths[l + 1]));
}

DensePoolingOutput DMoNPoolingImpl::forward(const at::Tensor& x, const at::Tensor& adj, const c10::optional<at::Tensor>& mask) {
  at::Tensor s = x;
  for (const auto& lin : *lins) s = lin->as<torch::nn::Linear>()->forward(s);
  if (options.dropout() > 0)
    s = torch::nn::functional::dropout(s, torch::nn::functional::DropoutFuncOptions().p(options.dropout()).training(is_training()));
  return dense_dmon_pool(x, adj, s, mask);
}

// --- one-over-K ---------------------------------------------------------------------------

namespace {

PoolingOutput cluster_pool(const char* aggr, const at::Tensor& cluster, const at::Tensor& x, const at::Tensor& edge_index,
                           const c10::optional<at::Tensor>& edge_attr, const c10::optional<at::Tensor>& batch) {
  const std::vector<at::Tensor> list =
      pool("cluster", ConfigText().add("aggr", aggr).str(), x, edge_index, edge_attr, batch, c10::nullopt, {}, cluster);
  return pooling_output(list, layer_outputs("pool", "cluster"));
}

std::tuple<at::Tensor, at::Tensor> cluster_pool_x(const char* aggr, const at::Tensor& cluster, const at::Tensor& x,
                                                  const c10::optional<at::Tensor>& batch) {
  const at::Tensor no_edges = at::empty({2, 0}, at::TensorOptions().dtype(at::kLong));
  PoolingOutput out = cluster_pool(aggr, cluster, x, no_edges, {}, batch);
  return {out.x, out.batch};
}

}  // namespace

PoolingOutput max_pool(const at::Tensor& cluster, const at::Tensor& x, const at::Tensor& edge_index,
                       const c10::optional<at::Tensor>& edge_attr, const c10::optional<at::Tensor>& batch) {
  return cluster_pool("max", cluster, x, edge_index, edge_attr, batch);
}
PoolingOutput avg_pool(const at::Tensor& cluster, const at::Tensor& x, const at::Tensor& edge_index,
                       const c10::optional<at::Tensor>& edge_attr, const c10::optional<at::Tensor>& batch) {
  return cluster_pool("mean", cluster, x, edge_index, edge_attr, batch);
}
std::tuple<at::Tensor, at::Tensor> max_pool_x(const at::Tensor& cluster, const at::Tensor& x,
                                              const c10::optional<at::Tensor>& batch) {
  return cluster_pool_x("max", cluster, x, batch);
}
std::tuple<at::Tensor, at::Tensor> avg_pool_x(const at::Tensor& cluster, const at::Tensor& x,
                                              const c10::optional<at::Tensor>& batch) {
  return cluster_pool_x("mean", cluster, x, batch);
}

// --- readouts -------------------------------------------------------------------------------

at::Tensor global_add_pool(const at::Tensor& x, const c10::optional<at::Tensor>& batch, c10::optional<int64_t> size) {
  return graph_layer("sum", "", x, {}, {}, batch, size, {});
}
at::Tensor global_mean_pool(const at::Tensor& x, const c10::optional<at::Tensor>& batch, c10::optional<int64_t> size) {
  return graph_layer("mean", "", x, {}, {}, batch, size, {});
}
at::Tensor global_max_pool(const at::Tensor& x, const c10::optional<at::Tensor>& batch, c10::optional<int64_t> size) {
  return graph_layer("max", "", x, {}, {}, batch, size, {});
}

AttentionalAggregationImpl::AttentionalAggregationImpl(const AttentionalAggregationOptions& o)
    : LayerModuleImpl("attention", ConfigText()
                                       .add("in_channels", o.in_channels())
                                       .add("nn_out_channels", o.nn_out_channels())
                                       .str()),
      options(o) {}
at::Tensor AttentionalAggregationImpl::forward(const at::Tensor& x, const c10::optional<at::Tensor>& batch,
                                               c10::optional<int64_t> size) {
  return run_graph_layer(x, {}, {}, batch, size);
}

GatedAttentionReadoutImpl::GatedAttentionReadoutImpl(int64_t in_channels, int64_t channels)
    : LayerModuleImpl("gated_attention", ConfigText().add("in_channels", in_channels).add("channels", channels).str()) {}
at::Tensor GatedAttentionReadoutImpl::forward(const at::Tensor& x, const c10::optional<at::Tensor>& batch,
                                              c10::optional<int64_t> size) {
  return run_graph_layer(x, {}, {}, batch, size);
}

AttentionSumReadoutImpl::AttentionSumReadoutImpl(int64_t in_channels)
    : LayerModuleImpl("attention_sum", ConfigText().add("in_channels", in_channels).str()) {}
at::Tensor AttentionSumReadoutImpl::forward(const at::Tensor& x, const c10::optional<at::Tensor>& batch,
                                            c10::optional<int64_t> size) {
  return run_graph_layer(x, {}, {}, batch, size);
}

// --- convolutions ---------------------------------------------------------------------------

GCNConvImpl::GCNConvImpl(const GCNConvOptions& o)
    : LayerModuleImpl("gcn", ConfigText()
                                 .add("in_channels", o.in_channels())
                                 .add("out_channels", o.out_channels())
                                 .add("add_self_loops", o.add_self_loops())
                                 .add("normalize", o.normalize())
                                 .add("bias", o.bias())
                                 .str()),
      options(o) {}
at::Tensor GCNConvImpl::forward(const at::Tensor& x, const at::Tensor& edge_index, const c10::optional<at::Tensor>& edge_weight) {
  return run_graph_layer(x, edge_index, edge_weight, {}, {});
}

GraphConvImpl::GraphConvImpl(const GraphConvOptions& o)
    : LayerModuleImpl("graph_conv", ConfigText()
                                        .add("in_channels", o.in_channels())
                                        .add("out_channels", o.out_channels())
                                        .add("bias", o.bias())
                                        .str()),
      options(o) {}
at::Tensor GraphConvImpl::forward(const at::Tensor& x, const at::Tensor& edge_index,
                                  const c10::optional<at::Tensor>& edge_weight) {
  return run_graph_layer(x, edge_index, edge_weight, {}, {});
}

}  // namespace gnnpool::pyg
