#ifndef GNNPOOL_EXAMPLES_COMMON_POOL_STAGE_HPP
#define GNNPOOL_EXAMPLES_COMMON_POOL_STAGE_HPP

// `PoolStage`: any gnnpool pooler behind one run-time interface, so that the example models can
// pick their pooler from the command line. gnnpool's poolers are class templates composed at
// compile time (Pool<Select, Reduce, Connect, Losses...>); the examples wrap each one in
// `PoolAdapter`, which keeps the pooler's own Output and Cache types inside a `State` object.
// Adding a pooler to the examples is one `if` in `make_pool_stage`.

#include <gnnpool/pool/diff_pool.hpp>
#include <gnnpool/pool/dmon_pool.hpp>
#include <gnnpool/pool/graclus_pool.hpp>
#include <gnnpool/pool/kmis_pool.hpp>
#include <gnnpool/pool/mincut_pool.hpp>
#include <gnnpool/pool/ndp_pool.hpp>
#include <gnnpool/pool/sag_pool.hpp>
#include <gnnpool/pool/topk_pool.hpp>

#include "common/graphs.hpp"

#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace examples {

using gnnpool::AuxLoss;
using gnnpool::BatchGrad;
using gnnpool::ParameterSet;

/// One pooling step of a model: forward returns a `State` holding the pooled batch, the
/// auxiliary losses and whatever backward needs; backward turns the gradient of the pooled
/// batch (x and the stored adjacency values) into the gradient of the input batch and of the
/// pooler's parameters. The auxiliary losses enter the objective with their weights.
template <typename Scalar>
class PoolStage {
 public:
  class State {
   public:
    virtual ~State() = default;
    virtual const Batch<Scalar>& batch() const = 0;
    virtual std::span<const AuxLoss<Scalar>> losses() const = 0;
  };

  virtual ~PoolStage() = default;
  virtual std::string name() const = 0;
  virtual std::unique_ptr<State> forward(const ParameterSet<Scalar>& params, const Batch<Scalar>& in) const = 0;
  /// Assigns din (x and adj) and the pooler's slots of dparams.
  virtual void backward(const ParameterSet<Scalar>& params, const Batch<Scalar>& in, const State& state,
                        const Matrix<Scalar>& dx, const gnnpool::Vector<Scalar>& dadj, BatchGrad<Scalar>& din,
                        ParameterSet<Scalar>& dparams) const = 0;
};

/// No pooling: the batch passes through unchanged (the "no-pool" baseline).
template <typename Scalar>
class IdentityStage final : public PoolStage<Scalar> {
  struct IdentityState final : PoolStage<Scalar>::State {
    Batch<Scalar> out;
    const Batch<Scalar>& batch() const override { return out; }
    std::span<const AuxLoss<Scalar>> losses() const override { return {}; }
  };

 public:
  std::string name() const override { return "none"; }
  std::unique_ptr<typename PoolStage<Scalar>::State> forward(const ParameterSet<Scalar>&,
                                                             const Batch<Scalar>& in) const override {
    auto s = std::make_unique<IdentityState>();
    s->out = in;
    return s;
  }
  void backward(const ParameterSet<Scalar>&, const Batch<Scalar>&, const typename PoolStage<Scalar>::State&,
                const Matrix<Scalar>& dx, const gnnpool::Vector<Scalar>& dadj, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>&) const override {
    din.x = dx;
    din.adj = dadj;
  }
};

/// Wraps any gnnpool pooler P (a `gnnpool::Pool` composition). With `renormalize`, the pooled
/// adjacency is replaced by D^-1/2 A' D^-1/2 so that the next GraphConvSkip sees the same
/// operator as the first one; use it only for poolers whose pooled adjacency does not depend on
/// trainable quantities (Graclus, NDP, k-MIS), since no gradient flows through that step.
template <typename P>
class PoolAdapter final : public PoolStage<typename P::Scalar> {
  using Scalar = typename P::Scalar;
  using Base = PoolStage<Scalar>;

  struct AdapterState final : Base::State {
    typename P::Output out;
    typename P::Cache cache;
    Batch<Scalar> renormalized;
    bool use_renormalized = false;
    const Batch<Scalar>& batch() const override { return use_renormalized ? renormalized : out.batch; }
    std::span<const AuxLoss<Scalar>> losses() const override { return out.losses; }
  };

 public:
  PoolAdapter(std::string name, P pool, bool renormalize = false)
      : m_name(std::move(name)), m_pool(std::move(pool)), m_renormalize(renormalize) {}

  std::string name() const override { return m_name; }

  std::unique_ptr<typename Base::State> forward(const ParameterSet<Scalar>& params,
                                                const Batch<Scalar>& in) const override {
    auto s = std::make_unique<AdapterState>();
    m_pool.forward(params, in, s->out, s->cache);
    if (m_renormalize) {
      s->renormalized.x = s->out.batch.x;
      s->renormalized.adj = normalized_adjacency(s->out.batch.adj);
      s->renormalized.offsets = s->out.batch.offsets;
      s->use_renormalized = true;
    }
    return s;
  }

  void backward(const ParameterSet<Scalar>& params, const Batch<Scalar>& in, const typename Base::State& state,
                const Matrix<Scalar>& dx, const gnnpool::Vector<Scalar>& dadj, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const override {
    const auto& s = static_cast<const AdapterState&>(state);
    typename P::OutputGrad grad;
    grad.x = dx;
    if (!m_renormalize) grad.adj = dadj;  // renormalised adjacency: constant (see the class comment)
    m_pool.backward(params, in, s.out, s.cache, grad, din, dparams);
  }

 private:
  std::string m_name;
  P m_pool;
  bool m_renormalize;
};

/// Settings of the poolers the examples can build.
struct PoolerSettings {
  double ratio = 0.5;              ///< TopK, SAG: fraction of the nodes kept
  Index clusters = 0;              ///< MinCut, DiffPool, DMoN: clusters per graph (K)
  std::vector<Index> mlp_hidden;   ///< MinCut, DMoN: hidden widths of the assignment MLP
  std::uint64_t seed = 0;          ///< Graclus visiting order, NDP random split, k-MIS (random scorer)
  double aux_weight = 1.0;         ///< multiplies every auxiliary loss coefficient
};

/// Every pooler name `make_pool_stage` accepts.
inline const std::vector<std::string>& pooler_names() {
  static const std::vector<std::string> names{"none", "topk", "sag", "mincut", "diffpool", "dmon", "graclus", "ndp", "kmis"};
  return names;
}

/// Whether the pooler makes K clusters per graph (PoolerSettings::clusters must be set).
inline bool is_soft_pooler(const std::string& name) { return name == "mincut" || name == "diffpool" || name == "dmon"; }

/// Builds pooler `name` on `in_features`-wide inputs, registering its parameters under `prefix`.
template <typename Scalar>
std::unique_ptr<PoolStage<Scalar>> make_pool_stage(const std::string& name, ParameterSet<Scalar>& params,
                                                   const std::string& prefix, Index in_features,
                                                   const PoolerSettings& s) {
  auto adapt = [&](auto pool, bool renormalize = false) -> std::unique_ptr<PoolStage<Scalar>> {
    return std::make_unique<PoolAdapter<decltype(pool)>>(name, std::move(pool), renormalize);
  };
  const auto w = static_cast<Scalar>(s.aux_weight);
  if (is_soft_pooler(name) && s.clusters < 1)
    throw std::invalid_argument("pooler '" + name + "' needs a number of clusters >= 1");
  if (name == "none") return std::make_unique<IdentityStage<Scalar>>();
  if (name == "topk") {
    gnnpool::TopKOptions o;
    o.ratio = s.ratio;
    return adapt(gnnpool::make_topk_pool<Scalar>(params, prefix, in_features, o));
  }
  if (name == "sag") {
    gnnpool::SAGOptions o;
    o.topk.ratio = s.ratio;
    return adapt(gnnpool::make_sag_pool<Scalar>(params, prefix, in_features, o));
  }
  if (name == "mincut") {
    gnnpool::MinCutPoolOptions<Scalar> o;
    o.cut_weight = o.ortho_weight = w;
    return adapt(gnnpool::MinCutPool<Scalar>(params, prefix, in_features, s.clusters, s.mlp_hidden, o));
  }
  if (name == "diffpool") {
    gnnpool::DiffPoolOptions<Scalar> o;
    o.link_weight = o.entropy_weight = w;
    return adapt(gnnpool::DiffPool<Scalar>(params, prefix, in_features, s.clusters, o));
  }
  if (name == "dmon") {
    gnnpool::DMoNPoolOptions<Scalar> o;
    o.spectral_weight = o.ortho_weight = o.cluster_weight = w;
    return adapt(gnnpool::DMoNPool<Scalar>(params, prefix, in_features, s.clusters, s.mlp_hidden, o));
  }
  if (name == "graclus") {
    gnnpool::GraclusPoolOptions o;
    o.select.seed = s.seed;
    return adapt(gnnpool::GraclusPool<Scalar>(o), true);
  }
  if (name == "ndp") {
    gnnpool::NDPPoolOptions o;
    o.select.seed = s.seed;
    return adapt(gnnpool::NDPPool<Scalar>(o), true);
  }
  if (name == "kmis") {
    gnnpool::KMISPoolOptions o;
    o.select.seed = s.seed;
    return adapt(gnnpool::KMISPool<Scalar>(params, prefix, in_features, o), true);
  }
  std::string known;
  for (const auto& n : pooler_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown pooler '" + name + "' (known: " + known + ")");
}

}  // namespace examples

#endif
