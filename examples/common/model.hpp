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
//
// Compile time: make_pooler, HierarchicalGNN's constructor and forward, and record_pool are only
// declared here. They are compiled once, for Scalar = double, into the static library
// `gnnpool_example_models` (common/model.cpp and one translation unit per pooler family,
// common/pools_*.cpp), which the programs that use them link. Instantiating every pooler in one
// translation unit took 70 s at -O2; the split units compile in parallel and a program that
// trains the model compiles none of the poolers (docs/getting-started.md has the numbers).

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
  Index clusters = 0;              ///< MinCut, DiffPool, DMoN, JustBalance, ACC, HOSC: clusters per graph (K); BN-Pool: at most K
  std::vector<Index> mlp_hidden;   ///< MinCut, DMoN, JustBalance, ACC, HOSC, BN-Pool: hidden widths of the assignment MLP
  std::uint64_t seed = 0;          ///< Graclus visiting order, NDP random split, k-MIS (random scorer), BN-Pool's draws
  double aux_weight = 1.0;         ///< multiplies every auxiliary loss coefficient
};

/// Every pooler name the examples accept.
inline const std::vector<std::string>& pooler_names() {
  static const std::vector<std::string> names{"none", "topk", "sag", "mincut", "diffpool", "dmon", "graclus", "ndp", "kmis",
                                              "nopool", "ec", "maxcut", "pan", "asap", "sep", "jb", "acc", "hosc", "lap",
                                              "bnpool"};
  return names;
}

/// Whether the pooler makes K clusters per graph (PoolerSettings::clusters must be set).
inline bool is_soft_pooler(const std::string& name) {
  return name == "mincut" || name == "diffpool" || name == "dmon" || name == "jb" || name == "acc" || name == "hosc" ||
         name == "bnpool";
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
                               gnnpool::AsymCheegerCutPool<Scalar>, gnnpool::HOSCPool<Scalar>, gnnpool::LaPool<Scalar>,
                               gnnpool::BNPool<Scalar>>;

/// Builds pooler `name` on `in_features`-wide inputs, registering its parameters under `prefix`.
/// Defined in common/model.cpp (Scalar = double; part of `gnnpool_example_models`).
template <typename Scalar>
AnyPooler<Scalar> make_pooler(const std::string& name, ParameterSet<Scalar>& params, const std::string& prefix,
                              Index in_features, const PoolerSettings& s);

/// Records one pooling level on `tape`: (g, h) become the pooled graph and features (the pooled
/// adjacency renormalised as a constant when `renormalize`), and the pooler's weighted auxiliary
/// loss is appended to `aux`. Declared here and defined in common/record_pool.hpp, which only the
/// pooler-family translation units (common/pools_*.cpp, Scalar = double) include and instantiate:
/// the cost of compiling a model is the poolers it instantiates, so a program that switches
/// between all of them at run time gets them from those units, compiled once and in parallel,
/// instead of instantiating all of them itself.
template <typename Scalar, typename Pool>
void record_pool(gnnpool::Tape<Scalar>& tape, const Pool& pool, bool renormalize, gnnpool::Graph<Scalar>& g,
                 gnnpool::Tensor<Scalar>& h, std::vector<gnnpool::Loss<Scalar>>& aux);

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

  /// Builds the layers of `config` (the poolers through make_pooler) and initialises the
  /// parameters from `seed`.
  HierarchicalGNN(const ModelConfig& config, std::uint64_t seed);

  ParameterSet<Scalar>& parameters() { return m_params; }
  const ParameterSet<Scalar>& parameters() const { return m_params; }
  const ModelConfig& config() const { return m_config; }

  /// Records the model on `batch` (x: N x in_features, adj: the normalised adjacency).
  Output forward(gnnpool::Tape<Scalar>& tape, const gnnpool::Batch<Scalar>& batch) const;

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
