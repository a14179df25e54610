#ifndef GNNPOOL_EXAMPLES_COMMON_MODEL_HPP
#define GNNPOOL_EXAMPLES_COMMON_MODEL_HPP

// `HierarchicalGNN`: the graph-classification model of the examples, recorded on gnnpool's
// model layer (gnnpool::Tape):
//
//   x -> GraphConv -> act -> [ pool -> GraphConv -> act ] x levels -> readout -> MLP -> logits
//
// GraphConv on the normalised adjacency D^-1/2 A D^-1/2 is Spektral's GraphConvSkip (GCS):
// A_norm X W + X V + b, the convolution of the MinCutPool paper. Every pooler of the library can
// be plugged in, chosen by name at run time (`pooler_names()`). The objective is the
// cross-entropy plus the weighted auxiliary losses of the poolers; the tape runs the backward.

#include <gnnpool/gnnpool.hpp>

#include "graphs.hpp"

#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace examples {

using gnnpool::Activation;
using gnnpool::ParameterSet;

/// Settings of the poolers the examples can build.
struct PoolerSettings {
  double ratio = 0.5;              ///< TopK, SAG: fraction of the nodes kept
  Index clusters = 0;              ///< MinCut, DiffPool, DMoN, JustBalance, ACC, HOSC: clusters per graph (K)
  std::vector<Index> mlp_hidden;   ///< MinCut, DMoN, JustBalance, ACC, HOSC: hidden widths of the assignment MLP
  std::uint64_t seed = 0;          ///< Graclus visiting order, NDP random split, k-MIS (random scorer)
  double aux_weight = 1.0;         ///< multiplies every auxiliary loss coefficient
};

/// Every pooler name the examples accept.
inline const std::vector<std::string>& pooler_names() {
  static const std::vector<std::string> names{"none", "topk", "sag", "mincut", "diffpool", "dmon", "graclus", "ndp", "kmis",
                                              "nopool", "ec", "maxcut", "pan", "asap", "sep", "jb", "acc", "hosc", "lap"};
  return names;
}

/// Whether the pooler makes K clusters per graph (PoolerSettings::clusters must be set).
inline bool is_soft_pooler(const std::string& name) {
  return name == "mincut" || name == "diffpool" || name == "dmon" || name == "jb" || name == "acc" || name == "hosc";
}

/// Whether the pooled adjacency is renormalised (D^-1/2 A' D^-1/2) before the next GraphConvSkip,
/// as the first level's: for the poolers whose pooled adjacency does not depend on trainable
/// quantities (it is then a constant of the tape).
inline bool renormalizes(const std::string& name) {
  return name == "graclus" || name == "ndp" || name == "kmis" || name == "ec" || name == "maxcut" || name == "sep";
}

/// No pooling: the level passes through (the "no-pool" baseline).
struct NoPool {};

/// One pooler of any kind, chosen at run time.
template <typename Scalar>
using AnyPooler = std::variant<NoPool, gnnpool::TopKPool<Scalar>, gnnpool::SAGPool<Scalar>, gnnpool::MinCutPool<Scalar>,
                               gnnpool::DiffPool<Scalar>, gnnpool::DMoNPool<Scalar>, gnnpool::GraclusPool<Scalar>,
                               gnnpool::NDPPool<Scalar>, gnnpool::KMISPool<Scalar>, gnnpool::NoPool<Scalar>,
                               gnnpool::EdgeContractionPool<Scalar>, gnnpool::MaxCutPool<Scalar>, gnnpool::PANPool<Scalar>,
                               gnnpool::ASAPPool<Scalar>, gnnpool::SEPPool<Scalar>, gnnpool::JustBalancePool<Scalar>,
                               gnnpool::AsymCheegerCutPool<Scalar>, gnnpool::HOSCPool<Scalar>, gnnpool::LaPool<Scalar>>;

/// Builds pooler `name` on `in_features`-wide inputs, registering its parameters under `prefix`.
template <typename Scalar>
AnyPooler<Scalar> make_pooler(const std::string& name, ParameterSet<Scalar>& params, const std::string& prefix,
                              Index in_features, const PoolerSettings& s) {
  const auto w = static_cast<Scalar>(s.aux_weight);
  if (is_soft_pooler(name) && s.clusters < 1)
    throw std::invalid_argument("pooler '" + name + "' needs a number of clusters >= 1");
  if (name == "none") return NoPool{};
  if (name == "topk") return gnnpool::TopKPool<Scalar>(params, prefix, in_features, {.ratio = s.ratio});
  if (name == "sag") return gnnpool::SAGPool<Scalar>(params, prefix, in_features, {.topk = {.ratio = s.ratio}});
  if (name == "mincut")
    return gnnpool::MinCutPool<Scalar>(params, prefix, in_features,
                                       {.k = s.clusters, .hidden = s.mlp_hidden, .cut_weight = w, .ortho_weight = w});
  if (name == "diffpool")
    return gnnpool::DiffPool<Scalar>(params, prefix, in_features, {.k = s.clusters, .link_weight = w, .entropy_weight = w});
  if (name == "dmon")
    return gnnpool::DMoNPool<Scalar>(
        params, prefix, in_features,
        {.k = s.clusters, .hidden = s.mlp_hidden, .spectral_weight = w, .ortho_weight = w, .cluster_weight = w});
  if (name == "graclus") return gnnpool::GraclusPool<Scalar>(params, prefix, in_features, {.select = {.seed = s.seed}});
  if (name == "ndp") return gnnpool::NDPPool<Scalar>(params, prefix, in_features, {.select = {.seed = s.seed}});
  if (name == "kmis") return gnnpool::KMISPool<Scalar>(params, prefix, in_features, {.select = {.seed = s.seed}});
  if (name == "nopool") return gnnpool::NoPool<Scalar>(params, prefix, in_features);
  if (name == "ec") return gnnpool::EdgeContractionPool<Scalar>(params, prefix, in_features);
  if (name == "maxcut")
    return gnnpool::MaxCutPool<Scalar>(params, prefix, in_features,
                                       {.select = {.ratio = s.ratio, .mlp_act = gnnpool::Activation::tanh, .seed = s.seed}, .loss_coeff = s.aux_weight});
  if (name == "pan") return gnnpool::PANPool<Scalar>(params, prefix, in_features, {.topk = {.ratio = s.ratio}});
  if (name == "asap") return gnnpool::ASAPPool<Scalar>(params, prefix, in_features, {.select = {.topk = {.ratio = s.ratio, .nonlinearity = gnnpool::Activation::sigmoid}}});
  if (name == "sep") return gnnpool::SEPPool<Scalar>(params, prefix, in_features);
  // tgp's poolers; the assignment MLP gets ReLU between its layers, as MinCut's.
  if (name == "jb")
    return gnnpool::JustBalancePool<Scalar>(
        params, prefix, in_features, {.k = s.clusters, .hidden = s.mlp_hidden, .activation = Activation::relu, .balance_weight = w});
  if (name == "acc")
    return gnnpool::AsymCheegerCutPool<Scalar>(params, prefix, in_features,
                                               {.k = s.clusters, .hidden = s.mlp_hidden, .activation = Activation::relu,
                                                .total_variation_weight = w, .balance_weight = w});
  if (name == "hosc")
    return gnnpool::HOSCPool<Scalar>(params, prefix, in_features,
                                     {.k = s.clusters, .hidden = s.mlp_hidden, .activation = Activation::relu,
                                      .hosc_weight = w, .ortho_weight = Scalar(0.1) * w});
  if (name == "lap") return gnnpool::LaPool<Scalar>(params, prefix, in_features);
  std::string known;
  for (const auto& n : pooler_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown pooler '" + name + "' (known: " + known + ")");
}

/// Shape of a `HierarchicalGNN`.
struct ModelConfig {
  Index in_features = 0;
  Index num_classes = 0;
  Index hidden = 32;                ///< channels of every GraphConv
  std::string pooler = "none";      ///< a name of pooler_names()
  std::vector<PoolerSettings> levels{PoolerSettings{}};  ///< one pooling step per entry
  std::string readout = "mean";     ///< mean, sum or max
  std::vector<Index> head_hidden;   ///< hidden widths of the MLP after the readout ({} = one Linear)
  Activation activation = Activation::relu;
};

template <typename Scalar>
class HierarchicalGNN {
 public:
  using Readout = std::variant<gnnpool::MeanReadout<Scalar>, gnnpool::SumReadout<Scalar>, gnnpool::MaxReadout<Scalar>>;

  /// What one forward records: the logits (B x classes) and the weighted auxiliary losses.
  struct Output {
    gnnpool::Tensor<Scalar> logits;
    gnnpool::Loss<Scalar> aux;
  };

  HierarchicalGNN(const ModelConfig& config, std::uint64_t seed)
      : m_config(config), m_head(m_params, "head", head_channels(config), config.activation) {
    if (config.in_features < 1 || config.num_classes < 1) throw std::invalid_argument("HierarchicalGNN: empty input or output");
    m_convs.emplace_back(m_params, "convs.0", config.in_features, config.hidden);
    for (std::size_t l = 0; l < config.levels.size(); ++l) {
      m_pools.push_back(make_pooler<Scalar>(config.pooler, m_params, "pools." + std::to_string(l), config.hidden,
                                            config.levels[l]));
      m_convs.emplace_back(m_params, "convs." + std::to_string(l + 1), config.hidden, config.hidden);
    }
    if (config.readout == "mean") m_readout = gnnpool::MeanReadout<Scalar>();
    else if (config.readout == "sum") m_readout = gnnpool::SumReadout<Scalar>();
    else if (config.readout == "max") m_readout = gnnpool::MaxReadout<Scalar>();
    else throw std::invalid_argument("unknown readout '" + config.readout + "' (mean, sum, max)");
    m_params.initialize(seed);
  }

  ParameterSet<Scalar>& parameters() { return m_params; }
  const ParameterSet<Scalar>& parameters() const { return m_params; }
  const ModelConfig& config() const { return m_config; }

  /// Records the model on `batch` (x: N x in_features, adj: the normalised adjacency).
  Output forward(gnnpool::Tape<Scalar>& tape, const gnnpool::Batch<Scalar>& batch) const {
    auto [g, x] = tape.inputs(batch);
    auto h = gnnpool::activation(tape(m_convs[0], g, x), m_config.activation);
    std::vector<gnnpool::Loss<Scalar>> aux;
    for (std::size_t l = 0; l < m_pools.size(); ++l) {
      std::visit(
          [&](const auto& pool) {
            if constexpr (!std::is_same_v<std::decay_t<decltype(pool)>, NoPool>) {
              auto p = tape(pool, g, h);
              aux.push_back(p.aux_loss());
              h = p.x;
              g = renormalizes(m_config.pooler)
                      ? tape.constant_graph(normalized_adjacency(p.graph.adj()), p.graph.offsets())
                      : p.graph;
            }
          },
          m_pools[l]);
      h = gnnpool::activation(tape(m_convs[l + 1], g, h), m_config.activation);
    }
    auto pooled = std::visit([&](const auto& readout) { return tape(readout, g, h); }, m_readout);
    Output out{tape(m_head, pooled), tape.combine({})};
    for (const auto& a : aux) out.aux = out.aux + a;
    return out;
  }

 private:
  static std::vector<Index> head_channels(const ModelConfig& c) {
    std::vector<Index> ch{c.hidden};
    ch.insert(ch.end(), c.head_hidden.begin(), c.head_hidden.end());
    ch.push_back(c.num_classes);
    return ch;
  }

  ModelConfig m_config;
  ParameterSet<Scalar> m_params;
  gnnpool::MLP<Scalar> m_head;
  std::vector<gnnpool::GraphConv<Scalar>> m_convs;
  std::vector<AnyPooler<Scalar>> m_pools;
  Readout m_readout;
};

}  // namespace examples

#endif
