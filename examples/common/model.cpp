// The out-of-line parts of model.hpp, compiled once for Scalar = double into the library
// `gnnpool_example_models`: make_pooler (the constructors of every pooler the examples know) and
// HierarchicalGNN's constructor and forward. With these and record_pool (common/pools_*.cpp)
// out of the programs' translation units, a program that trains the model compiles none of the
// poolers itself.

#include "model.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace examples {

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
  // BN-Pool draws a fresh sample at every forward, in evaluation too (tgp's DPSelect always
  // calls rsample); its draw counter lives in the tape's cache, so one tape's steps differ.
  if (name == "bnpool")
    return gnnpool::BNPool<Scalar>(params, prefix, in_features,
                                   {.k = std::max<Index>(s.clusters, 2), .hidden = s.mlp_hidden, .activation = Activation::relu,
                                    .quality_weight = w, .kl_weight = w, .k_prior_weight = w,
                                    .sampling = {.seed = s.seed}});
  std::string known;
  for (const auto& n : pooler_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown pooler '" + name + "' (known: " + known + ")");
}

template AnyPooler<double> make_pooler<double>(const std::string&, ParameterSet<double>&, const std::string&, Index,
                                               const PoolerSettings&);

template <typename Scalar>
HierarchicalGNN<Scalar>::HierarchicalGNN(const ModelConfig& config, std::uint64_t seed)
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

template <typename Scalar>
typename HierarchicalGNN<Scalar>::Output HierarchicalGNN<Scalar>::forward(gnnpool::Tape<Scalar>& tape,
                                                                           const gnnpool::Batch<Scalar>& batch) const {
  auto in = tape.inputs(batch);  // named, not bound: clang 14 cannot capture a structured binding
  auto h = gnnpool::activation(tape(m_convs[0], in.graph, in.x), m_config.activation);
  std::vector<gnnpool::Loss<Scalar>> aux;
  for (std::size_t l = 0; l < m_pools.size(); ++l) {
    std::visit(
        [&](const auto& pool) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(pool)>, NoPool>)
            record_pool(tape, pool, renormalizes(m_config.pooler), in.graph, h, aux);
        },
        m_pools[l]);
    h = gnnpool::activation(tape(m_convs[l + 1], in.graph, h), m_config.activation);
  }
  auto pooled = std::visit([&](const auto& readout) { return tape(readout, in.graph, h); }, m_readout);
  Output out{tape(m_head, pooled), tape.combine({})};
  for (const auto& a : aux) out.aux = out.aux + a;
  return out;
}

template class HierarchicalGNN<double>;

}  // namespace examples
