#ifndef GNNPOOL_EXAMPLES_COMMON_MODEL_HPP
#define GNNPOOL_EXAMPLES_COMMON_MODEL_HPP

// `HierarchicalGNN`: the graph-classification model of the examples, written with gnnpool's
// layers and their explicit forward / backward passes:
//
//   x -> GraphConv -> act -> [ pool -> GraphConv -> act ] x levels -> readout -> MLP -> logits
//
// GraphConv on the normalised adjacency D^-1/2 A D^-1/2 is Spektral's GraphConvSkip (GCS):
// A_norm X W + X V + b, the convolution of the MinCutPool paper. Every pooler of the library can
// be plugged in (common/pool_stage.hpp). The objective is the cross-entropy plus the weighted
// auxiliary losses of the poolers.

#include <gnnpool/nn/activation.hpp>
#include <gnnpool/nn/cross_entropy.hpp>
#include <gnnpool/nn/graph_conv.hpp>
#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/readout/max.hpp>
#include <gnnpool/readout/mean.hpp>
#include <gnnpool/readout/sum.hpp>

#include "common/pool_stage.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace examples {

using gnnpool::Activation;
using gnnpool::GraphConv;
using gnnpool::MLP;

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

  /// Everything forward computed that backward needs; also the logits and auxiliary losses.
  struct Tape {
    struct Level {
      std::unique_ptr<typename PoolStage<Scalar>::State> pool;  ///< how this level's input was pooled (l >= 1)
      typename GraphConv<Scalar>::Cache conv;
      Matrix<Scalar> pre;    ///< GraphConv output before the activation
      Batch<Scalar> graph;   ///< this level's graph with x = act(pre): input of the next pool / readout
    };
    std::vector<Level> levels;
    std::variant<typename gnnpool::MeanReadout<Scalar>::Cache, typename gnnpool::SumReadout<Scalar>::Cache,
                 typename gnnpool::MaxReadout<Scalar>::Cache>
        readout_cache;
    Matrix<Scalar> pooled;  ///< readout, B x hidden
    typename MLP<Scalar>::Cache head;
    Matrix<Scalar> logits;  ///< B x classes

    /// sum of weight * value over every auxiliary loss of every level.
    Scalar aux_loss() const {
      Scalar s(0);
      for (const auto& l : levels)
        if (l.pool)
          for (const auto& a : l.pool->losses()) s += a.weight * a.value;
      return s;
    }
  };

  HierarchicalGNN(const ModelConfig& config, std::uint64_t seed)
      : m_config(config), m_head(m_params, "head", head_channels(config), config.activation) {
    if (config.in_features < 1 || config.num_classes < 1) throw std::invalid_argument("HierarchicalGNN: empty input or output");
    m_convs.emplace_back(m_params, "convs.0", config.in_features, config.hidden);
    for (std::size_t l = 0; l < config.levels.size(); ++l) {
      m_pools.push_back(make_pool_stage<Scalar>(config.pooler, m_params, "pools." + std::to_string(l), config.hidden,
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

  /// Runs the model on `batch` (x: N x in_features, adj: the normalised adjacency).
  void forward(const Batch<Scalar>& batch, Tape& tape) const {
    tape.levels.resize(m_convs.size());
    for (std::size_t l = 0; l < m_convs.size(); ++l) {
      auto& level = tape.levels[l];
      const Batch<Scalar>* in = &batch;
      if (l > 0) {
        level.pool = m_pools[l - 1]->forward(m_params, tape.levels[l - 1].graph);
        in = &level.pool->batch();
      } else {
        level.pool.reset();
      }
      m_convs[l].forward(m_params, in->adj, in->x, level.pre, level.conv);
      level.graph.adj = in->adj;
      level.graph.offsets = in->offsets;
      gnnpool::activation_forward<Scalar>(m_config.activation, level.pre, level.graph.x);
    }
    std::visit(
        [&](const auto& readout) {
          using Cache = typename std::decay_t<decltype(readout)>::Cache;
          readout.forward(m_params, tape.levels.back().graph, tape.pooled, tape.readout_cache.template emplace<Cache>());
        },
        m_readout);
    m_head.forward(m_params, tape.pooled, tape.logits, tape.head);
  }

  /// Assigns every gradient of `grads` (layout of parameters()) from dL/dlogits; the auxiliary
  /// losses of the poolers are added with their weights.
  void backward(const Batch<Scalar>& batch, const Tape& tape, const Matrix<Scalar>& dlogits,
                ParameterSet<Scalar>& grads) const {
    Matrix<Scalar> dpooled, dh, dz, dx;
    gnnpool::Vector<Scalar> dadj_next;  // gradient on the adjacency of level l from the pool of level l + 1
    m_head.backward(m_params, tape.pooled, tape.head, dlogits, dpooled, grads);
    std::visit(
        [&](const auto& readout) {
          using Cache = typename std::decay_t<decltype(readout)>::Cache;
          readout.backward(m_params, tape.levels.back().graph, std::get<Cache>(tape.readout_cache), dpooled, dh, grads);
        },
        m_readout);
    for (std::size_t l = m_convs.size(); l-- > 0;) {
      const auto& level = tape.levels[l];
      const Batch<Scalar>& in = l > 0 ? level.pool->batch() : batch;
      gnnpool::activation_backward<Scalar>(m_config.activation, level.pre, level.graph.x, dh, dz);
      if (l == 0) {
        m_convs[0].backward(m_params, in.adj, in.x, level.conv, dz, dx, nullptr, grads);
        break;
      }
      gnnpool::Vector<Scalar> dadj;
      m_convs[l].backward(m_params, in.adj, in.x, level.conv, dz, dx, &dadj, grads);
      if (dadj_next.size() == dadj.size()) dadj += dadj_next;
      BatchGrad<Scalar> din;
      m_pools[l - 1]->backward(m_params, tape.levels[l - 1].graph, *level.pool, dx, dadj, din, grads);
      dh = std::move(din.x);
      dadj_next = std::move(din.adj);
    }
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
  std::vector<GraphConv<Scalar>> m_convs;
  std::vector<std::unique_ptr<PoolStage<Scalar>>> m_pools;
  Readout m_readout;
  MLP<Scalar> m_head;
};

/// Compares the gradient of loss = cross-entropy + auxiliary losses from `backward` with central
/// finite differences on `samples` random entries of every parameter tensor (double precision).
/// Returns the worst |fd - analytic| / max(|fd|, |analytic|, floor). A pooler's discrete choice
/// (kept nodes, matching) can flip under the perturbation; the small step makes that rare.
template <typename Scalar>
double check_model_gradients(HierarchicalGNN<Scalar>& model, const Batch<Scalar>& batch, const std::vector<Index>& labels,
                             int samples = 3, std::uint64_t seed = 0) {
  auto& params = model.parameters();
  typename HierarchicalGNN<Scalar>::Tape tape;
  auto loss = [&] {
    model.forward(batch, tape);
    return static_cast<double>(gnnpool::softmax_cross_entropy(tape.logits, labels)) + static_cast<double>(tape.aux_loss());
  };
  Matrix<Scalar> dlogits;
  model.forward(batch, tape);
  gnnpool::softmax_cross_entropy(tape.logits, labels, &dlogits);
  auto grads = params.zeros_like();
  model.backward(batch, tape, dlogits, grads);
  std::mt19937_64 rng(seed);
  const double h = 1e-6, floor = 1e-5;
  double worst = 0;
  for (Index t = 0; t < params.size(); ++t)
    for (int r = 0; r < samples && params[t].size() > 0; ++r) {
      const Index e = std::uniform_int_distribution<Index>(0, params[t].size() - 1)(rng);
      Scalar& w = params[t].data()[e];
      const Scalar old = w;
      w = static_cast<Scalar>(static_cast<double>(old) + h);
      const double plus = loss();
      w = static_cast<Scalar>(static_cast<double>(old) - h);
      const double minus = loss();
      w = old;
      const double fd = (plus - minus) / (2 * h), an = static_cast<double>(grads[t].data()[e]);
      worst = std::max(worst, std::abs(fd - an) / std::max({std::abs(fd), std::abs(an), floor}));
    }
  return worst;
}

}  // namespace examples

#endif
