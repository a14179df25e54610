#ifndef GNNPOOL_TESTS_SUPPORT_LAYER_ZOO_HPP
#define GNNPOOL_TESTS_SUPPORT_LAYER_ZOO_HPP

// Every pooler and readout of gnnpool behind one interface, built from one set of
// hyper-parameters: the pooler-API fuzz harness (tests/fuzz/fuzz_api.cpp) drives them with random
// batches and settings, the empty-batch regression test runs them on degenerate batches, and the
// thread-safety test (tests/tsan/threads.cpp) runs them from several threads on shared objects.
//
// `ZooEntry::run` is one forward and one backward with bounded upstream gradients drawn from a
// seed; it returns everything the layer computed (outputs, losses, every gradient) flattened to
// doubles, so callers can check that it is finite or compare two runs bit for bit. gnnpool's
// errors propagate out of run; nothing else is caught.

#include <gnnpool/pool/asap_pool.hpp>
#include <gnnpool/pool/asym_cheeger_cut_pool.hpp>
#include <gnnpool/pool/bn_pool.hpp>
#include <gnnpool/pool/diff_pool.hpp>
#include <gnnpool/pool/dmon_pool.hpp>
#include <gnnpool/pool/edge_contraction_pool.hpp>
#include <gnnpool/pool/eigen_pool.hpp>
#include <gnnpool/pool/graclus_pool.hpp>
#include <gnnpool/pool/hosc_pool.hpp>
#include <gnnpool/pool/just_balance_pool.hpp>
#include <gnnpool/pool/kmis_pool.hpp>
#include <gnnpool/pool/lapool.hpp>
#include <gnnpool/pool/maxcut_pool.hpp>
#include <gnnpool/pool/mincut_pool.hpp>
#include <gnnpool/pool/ndp_pool.hpp>
#include <gnnpool/pool/nmf_pool.hpp>
#include <gnnpool/pool/no_pool.hpp>
#include <gnnpool/pool/pan_pool.hpp>
#include <gnnpool/pool/pyramid.hpp>
#include <gnnpool/pool/sag_pool.hpp>
#include <gnnpool/pool/sep_pool.hpp>
#include <gnnpool/pool/topk_pool.hpp>
#include <gnnpool/readout/attention.hpp>
#include <gnnpool/readout/attention_sum.hpp>
#include <gnnpool/readout/gated_attention.hpp>
#include <gnnpool/readout/max.hpp>
#include <gnnpool/readout/mean.hpp>
#include <gnnpool/readout/set2set.hpp>
#include <gnnpool/readout/sort.hpp>
#include <gnnpool/readout/sum.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace gnnpool::test {

/// The knobs of every layer in the zoo (the fuzz harness decodes them from its input).
struct ZooHyper {
  double ratio = 0.5;          ///< TopK / SAG ratio, in (0, 1)
  Index topk_k = 0;            ///< > 0: keep k nodes per graph instead of the ratio
  double min_score = 0;        ///< in (0, 1): TopK / SAG min_score mode
  bool sigmoid = false;        ///< TopK / SAG nonlinearity sigmoid instead of tanh
  bool sag_gcn = false;        ///< SAG with the GCN scorer
  Index clusters = 2;          ///< K of the soft poolers
  double temperature = 1;      ///< soft poolers' softmax temperature
  double logit_scale = 1;      ///< magnitude of the functional forms' logits
  bool normalize = true;       ///< soft connect's symmetric normalisation (MinCut, DMoN)
  bool cluster_mean = false;   ///< DMoN's soft cluster mean
  int graclus_weighting = 0;   ///< GraclusWeighting, 0..3
  int graclus_order = 0;       ///< GraclusOrder, 0..2
  int aggregation = 0;         ///< ClusterAggregation, 0..3 (Graclus uses 0..2)
  Index kmis_k = 1;            ///< k of k-MIS
  int kmis_scorer = 0;         ///< KMISScorer, 0..3
  int kmis_heuristic = 0;      ///< KMISHeuristic, 0..2
  bool kmis_self_loops = false;
  std::uint64_t seed = 0;      ///< Graclus order, k-MIS random scorer, NDP fallback
  double cut_threshold = 0.5;  ///< NDP
  bool ndp_dense = true;       ///< NDP without the bipartite closed form
  bool check_symmetric = true; ///< NDP / Graclus / k-MIS symmetry checks
};

/// One pooler or readout, with its parameters registered in the zoo's ParameterSet.
template <typename Scalar>
class ZooEntry {
 public:
  virtual ~ZooEntry() = default;
  virtual const std::string& name() const = 0;
  /// Forward and backward on `in` (upstream gradients uniform in [-1, 1] from `seed`). Returns
  /// every output and gradient, flattened. const: the layer and params are shared read-only.
  virtual std::vector<double> run(const ParameterSet<Scalar>& params, const Batch<Scalar>& in,
                                   std::uint64_t seed) const = 0;
  /// For the check of `BatchGrad::adj_needed`: what `run` returns with dL/dA set to zero, and
  /// what it returns when the backward is told that no one needs dL/dA; the two must be the same
  /// bytes. Entries whose backward gives no dL/dA return two empty vectors.
  virtual std::pair<std::vector<double>, std::vector<double>> run_adj_needed_pair(const ParameterSet<Scalar>&,
                                                                                   const Batch<Scalar>&,
                                                                                   std::uint64_t) const {
    return {};
  }
};

namespace zoo_detail {

template <typename Scalar>
struct Upstream {
  std::mt19937_64 rng;
  explicit Upstream(std::uint64_t seed) : rng(seed) {}
  Scalar next() { return static_cast<Scalar>(static_cast<double>(rng() >> 11) * 0x1.0p-52 - 1.0); }
  Matrix<Scalar> matrix(Index rows, Index cols) {
    Matrix<Scalar> m(rows, cols);
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = next();
    return m;
  }
  Vector<Scalar> vector(Index size) {
    Vector<Scalar> v(size);
    for (Index i = 0; i < size; ++i) v[i] = next();
    return v;
  }
};

template <typename Derived>
void append(const Eigen::DenseBase<Derived>& m, std::vector<double>& out) {
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j) out.push_back(static_cast<double>(m(i, j)));
}

template <typename Scalar>
void append(const SparseMatrix<Scalar>& a, std::vector<double>& out) {
  for (Index e = 0; e < a.nonZeros(); ++e) out.push_back(static_cast<double>(a.valuePtr()[e]));
}

template <typename Scalar>
void append(const ParameterSet<Scalar>& p, std::vector<double>& out) {
  for (Index s = 0; s < p.size(); ++s) append(p[s], out);
}

/// What a pooler's forward and backward produced: pooled x and adjacency, losses, dL/dx, dL/dA.
template <typename Output, typename Scalar>
std::vector<double> collect(const Output& out, const BatchGrad<Scalar>& din) {
  std::vector<double> r;
  append(out.batch.x, r);
  append(out.batch.adj, r);
  for (const auto& l : out.losses) r.push_back(static_cast<double>(l.value));
  append(din.x, r);
  append(din.adj, r);
  return r;
}

/// A `Pool<...>` (or a class with its forward / backward).
template <typename P>
class PoolEntry final : public ZooEntry<typename P::Scalar> {
 public:
  using Scalar = typename P::Scalar;
  PoolEntry(std::string name, P pool) : m_name(std::move(name)), m_pool(std::move(pool)) {}
  const std::string& name() const override { return m_name; }
  std::vector<double> run(const ParameterSet<Scalar>& params, const Batch<Scalar>& in,
                          std::uint64_t seed) const override {
    return run_with(params, in, seed, true, false);
  }
  std::pair<std::vector<double>, std::vector<double>> run_adj_needed_pair(const ParameterSet<Scalar>& params,
                                                                           const Batch<Scalar>& in,
                                                                           std::uint64_t seed) const override {
    return {run_with(params, in, seed, true, true), run_with(params, in, seed, false, false)};
  }

 private:
  std::vector<double> run_with(const ParameterSet<Scalar>& params, const Batch<Scalar>& in, std::uint64_t seed,
                               bool adj_needed, bool zero_adj) const {
    typename P::Output out;
    typename P::Cache cache;
    m_pool.forward(params, in, out, cache);
    Upstream<Scalar> up(seed);
    typename P::OutputGrad grad;
    grad.x = up.matrix(out.batch.x.rows(), out.batch.x.cols());
    grad.adj = up.vector(out.batch.adj.nonZeros());
    BatchGrad<Scalar> din;
    din.adj_needed = adj_needed;
    ParameterSet<Scalar> dparams = params.zeros_like();
    m_pool.backward(params, in, out, cache, grad, din, dparams);
    if (zero_adj) din.adj.setZero();
    std::vector<double> r = collect(out, din);
    append(dparams, r);
    return r;
  }

  std::string m_name;
  P m_pool;
};

/// A functional soft pooler (logits from the caller, drawn here from the seed).
template <typename F>
class FunctionEntry final : public ZooEntry<typename F::Scalar> {
 public:
  using Scalar = typename F::Scalar;
  FunctionEntry(std::string name, F f, Index k, double scale)
      : m_name(std::move(name)), m_f(std::move(f)), m_k(k), m_scale(scale) {}
  const std::string& name() const override { return m_name; }
  std::vector<double> run(const ParameterSet<Scalar>&, const Batch<Scalar>& in, std::uint64_t seed) const override {
    return run_with(in, seed, true, false);
  }
  std::pair<std::vector<double>, std::vector<double>> run_adj_needed_pair(const ParameterSet<Scalar>&,
                                                                           const Batch<Scalar>& in,
                                                                           std::uint64_t seed) const override {
    return {run_with(in, seed, true, true), run_with(in, seed, false, false)};
  }

 private:
  std::vector<double> run_with(const Batch<Scalar>& in, std::uint64_t seed, bool adj_needed, bool zero_adj) const {
    Upstream<Scalar> up(seed ^ 0x5bd1e995ULL);
    const Matrix<Scalar> logits = up.matrix(in.num_nodes(), m_k) * static_cast<Scalar>(m_scale);
    typename F::Output out;
    typename F::Cache cache;
    m_f.forward(in, logits, out, cache);
    Upstream<Scalar> g(seed);
    typename F::OutputGrad grad;
    grad.x = g.matrix(out.batch.x.rows(), out.batch.x.cols());
    grad.adj = g.vector(out.batch.adj.nonZeros());
    BatchGrad<Scalar> din;
    din.adj_needed = adj_needed;
    Matrix<Scalar> dlogits;
    m_f.backward(in, out, cache, grad, din, dlogits);
    if (zero_adj) din.adj.setZero();
    std::vector<double> r = collect(out, din);
    append(dlogits, r);
    return r;
  }

  std::string m_name;
  F m_f;
  Index m_k;
  double m_scale;
};

/// NDP over two levels.
template <typename Scalar>
class NDPMultiLevelEntry final : public ZooEntry<Scalar> {
 public:
  explicit NDPMultiLevelEntry(const NDPPoolOptions& o) : m_pool(2, o) {}
  const std::string& name() const override { return m_name; }
  std::vector<double> run(const ParameterSet<Scalar>&, const Batch<Scalar>& in, std::uint64_t seed) const override {
    typename NDPMultiLevelPool<Scalar>::Output out;
    typename NDPMultiLevelPool<Scalar>::Cache cache;
    m_pool.forward(in, out, cache);
    Upstream<Scalar> up(seed);
    const Matrix<Scalar> g = up.matrix(out.back().batch.x.rows(), out.back().batch.x.cols());
    Matrix<Scalar> dx;
    m_pool.backward(in, out, cache, g, dx);
    std::vector<double> r;
    for (const auto& level : out) {
      append(level.batch.x, r);
      append(level.batch.adj, r);
    }
    append(dx, r);
    return r;
  }

 private:
  std::string m_name = "NDPMultiLevelPool";
  NDPMultiLevelPool<Scalar> m_pool;
};

/// PyramidPool on a one-level Graclus pyramid of the batch (built inside run: it is data).
template <typename Scalar>
class PyramidEntry final : public ZooEntry<Scalar> {
 public:
  explicit PyramidEntry(GraclusOptions o) : m_coarsen(make_coarsener(GraclusSelect<Scalar>(std::move(o)))) {}
  const std::string& name() const override { return m_name; }
  std::vector<double> run(const ParameterSet<Scalar>&, const Batch<Scalar>& in, std::uint64_t seed) const override {
    const Pyramid<Scalar> pyramid = build_pyramid(in, 1, m_coarsen);
    Batch<Scalar> out;
    typename PyramidPool<Scalar>::Cache cache;
    m_pool.forward(pyramid, 0, in, out, cache);
    Upstream<Scalar> up(seed);
    Matrix<Scalar> dx;
    m_pool.backward(pyramid, 0, in, cache, up.matrix(out.x.rows(), out.x.cols()), dx);
    std::vector<double> r;
    append(out.x, r);
    append(out.adj, r);
    append(dx, r);
    return r;
  }

 private:
  std::string m_name = "PyramidPool";
  decltype(make_coarsener(GraclusSelect<Scalar>(GraclusOptions{}))) m_coarsen;
  PyramidPool<Scalar> m_pool;
};

/// A global readout (B x F' output).
template <typename R>
class ReadoutEntry final : public ZooEntry<typename R::Scalar> {
 public:
  using Scalar = typename R::Scalar;
  ReadoutEntry(std::string name, R readout) : m_name(std::move(name)), m_readout(std::move(readout)) {}
  const std::string& name() const override { return m_name; }
  std::vector<double> run(const ParameterSet<Scalar>& params, const Batch<Scalar>& in,
                          std::uint64_t seed) const override {
    Matrix<Scalar> out;
    typename R::Cache cache;
    m_readout.forward(params, in, out, cache);
    Upstream<Scalar> up(seed);
    Matrix<Scalar> dx;
    ParameterSet<Scalar> dparams = params.zeros_like();
    m_readout.backward(params, in, cache, up.matrix(out.rows(), out.cols()), BatchGradRef<Scalar>{&dx, nullptr}, dparams);
    std::vector<double> r;
    append(out, r);
    append(dx, r);
    append(dparams, r);
    return r;
  }

 private:
  std::string m_name;
  R m_readout;
};

template <typename Scalar, typename Layer>
void add(std::vector<std::unique_ptr<ZooEntry<Scalar>>>& zoo, Layer&& entry) {
  zoo.push_back(std::make_unique<std::decay_t<Layer>>(std::forward<Layer>(entry)));
}

}  // namespace zoo_detail

/// Appends the poolers of tgp's sparse/hard family that `make_zoo` does not hold (the fuzz
/// harness decodes the zoo's entries only): ASAP, PAN, EdgeContraction, MaxCut, SEP and NoPool,
/// with their default options, for features of width `features`.
template <typename Scalar>
void add_hard_family(std::vector<std::unique_ptr<ZooEntry<Scalar>>>& zoo, ParameterSet<Scalar>& params,
                     Index features) {
  using zoo_detail::PoolEntry;
  zoo_detail::add<Scalar>(zoo, PoolEntry("ASAPPool", ASAPPool<Scalar>(params, "asap", features)));
  zoo_detail::add<Scalar>(zoo, PoolEntry("PANPool", PANPool<Scalar>(params, "pan", features)));
  zoo_detail::add<Scalar>(zoo, PoolEntry("EdgeContractionPool", EdgeContractionPool<Scalar>(params, "ec", features)));
  zoo_detail::add<Scalar>(zoo, PoolEntry("MaxCutPool", MaxCutPool<Scalar>(params, "maxcut", features)));
  zoo_detail::add<Scalar>(zoo, PoolEntry("SEPPool", SEPPool<Scalar>(params, "sep", features)));
  zoo_detail::add<Scalar>(zoo, PoolEntry("NoPool", NoPool<Scalar>(params, "none", features)));
}

/// Number of entries `make_zoo` builds.
inline constexpr int zoo_size = 30;

/// Every pooler and readout of gnnpool for node features of width `features` (only entry
/// `only` when it is >= 0), with their parameters registered in `params` (call
/// `params.initialize` afterwards). Constructors that reject the hyper-parameters throw gnnpool
/// errors, as they would for a user.
template <typename Scalar>
std::vector<std::unique_ptr<ZooEntry<Scalar>>> make_zoo(ParameterSet<Scalar>& params, Index features,
                                                        const ZooHyper& h, int only = -1) {
  using namespace zoo_detail;
  std::vector<std::unique_ptr<ZooEntry<Scalar>>> zoo;
  const auto s = [](double v) { return static_cast<Scalar>(v); };
  int next = 0;
  const auto want = [&] {
    const bool w = only < 0 || only == next;
    ++next;
    return w;
  };

  TopKOptions topk;
  topk.ratio = h.ratio;
  if (h.topk_k > 0) topk.k = h.topk_k;
  if (h.min_score > 0) topk.min_score = h.min_score;
  topk.nonlinearity = h.sigmoid ? Activation::sigmoid : Activation::tanh;
  SAGOptions sag;
  sag.topk = topk;
  sag.scorer = h.sag_gcn ? SAGScorer::gcn : SAGScorer::graph_conv;
  MinCutPoolOptions<Scalar> mincut;
  mincut.k = h.clusters;
  mincut.temperature = s(h.temperature);
  mincut.normalization = h.normalize ? SoftConnectNormalization::symmetric : SoftConnectNormalization::none;
  DiffPoolOptions<Scalar> diff;
  diff.k = h.clusters;
  diff.temperature = s(h.temperature);
  DMoNPoolOptions<Scalar> dmon;
  dmon.k = h.clusters;
  dmon.temperature = s(h.temperature);
  dmon.cluster_mean = h.cluster_mean;
  dmon.normalization = mincut.normalization;
  GraclusPoolOptions graclus;
  graclus.select.weighting = static_cast<GraclusWeighting>(h.graclus_weighting % 4);
  graclus.select.order = static_cast<GraclusOrder>(h.graclus_order % 3);
  graclus.select.seed = h.seed;
  graclus.select.check_symmetric = h.check_symmetric;
  graclus.aggregation = static_cast<ClusterAggregation>(h.aggregation % 3);
  KMISPoolOptions kmis;
  kmis.select.k = h.kmis_k;
  kmis.select.scorer = static_cast<KMISScorer>(h.kmis_scorer % 4);
  kmis.select.heuristic = static_cast<KMISHeuristic>(h.kmis_heuristic % 3);
  kmis.select.heuristic_self_loops = h.kmis_self_loops;
  kmis.select.seed = h.seed;
  kmis.select.check_symmetric = h.check_symmetric;
  kmis.aggregation = static_cast<ClusterAggregation>(h.aggregation % 4);
  NDPPoolOptions ndp;
  ndp.select.cut_threshold = h.cut_threshold;
  ndp.select.seed = h.seed;
  ndp.select.bipartite_closed_form = !h.ndp_dense;
  ndp.select.check_symmetric = h.check_symmetric;

  if (want()) add(zoo, PoolEntry("TopKPool", TopKPool<Scalar>(params, "topk", features, topk)));
  if (want())
    add(zoo, PoolEntry("TopKAugmentedPool", TopKAugmentedPool<Scalar>(params, "topk_aug", features, topk)));
  if (want()) add(zoo, PoolEntry("SAGPool", SAGPool<Scalar>(params, "sag", features, sag)));
  if (want()) add(zoo, PoolEntry("MinCutPool", MinCutPool<Scalar>(params, "mincut", features, mincut)));
  if (want()) add(zoo, PoolEntry("DiffPool", DiffPool<Scalar>(params, "diff", features, diff)));
  if (want()) add(zoo, PoolEntry("DMoNPool", DMoNPool<Scalar>(params, "dmon", features, dmon)));
  if (want())
    add(zoo, FunctionEntry("mincut_pool_function", mincut_pool_function<Scalar>(mincut), h.clusters, h.logit_scale));
  if (want()) add(zoo, FunctionEntry("diff_pool_function", diff_pool_function<Scalar>(diff), h.clusters, h.logit_scale));
  if (want()) add(zoo, FunctionEntry("dmon_pool_function", dmon_pool_function<Scalar>(dmon), h.clusters, h.logit_scale));
  if (want()) add(zoo, PoolEntry("GraclusPool", GraclusPool<Scalar>(params, "graclus", features, graclus)));
  if (want()) add(zoo, PyramidEntry<Scalar>(graclus.select));
  if (want()) add(zoo, PoolEntry("KMISPool", KMISPool<Scalar>(params, "kmis", features, kmis)));
  if (want()) add(zoo, PoolEntry("NDPPool", NDPPool<Scalar>(params, "ndp", features, ndp)));
  if (want()) add(zoo, NDPMultiLevelEntry<Scalar>(ndp));
  if (want()) add(zoo, ReadoutEntry("SumReadout", SumReadout<Scalar>()));
  if (want()) add(zoo, ReadoutEntry("MeanReadout", MeanReadout<Scalar>()));
  if (want()) add(zoo, ReadoutEntry("MaxReadout", MaxReadout<Scalar>()));
  if (want()) add(zoo, ReadoutEntry("AttentionReadout", AttentionReadout<Scalar>(params, "att", features)));
  if (want()) add(zoo, ReadoutEntry("AttentionReadout(nn)", AttentionReadout<Scalar>(params, "att_nn", features, 3)));
  if (want())
    add(zoo, ReadoutEntry("GatedAttentionReadout", GatedAttentionReadout<Scalar>(params, "gated", features, 3)));
  if (want()) add(zoo, ReadoutEntry("AttentionSumReadout", AttentionSumReadout<Scalar>(params, "attsum", features)));
  // The tgp soft family (the dense MLP poolers with tgp's clamped column-degree connect).
  if (want())
    add(zoo, PoolEntry("JustBalancePool", JustBalancePool<Scalar>(params, "jb", features,
                                                                   {.k = h.clusters, .temperature = s(h.temperature)})));
  if (want())
    add(zoo, PoolEntry("AsymCheegerCutPool", AsymCheegerCutPool<Scalar>(params, "acc", features,
                                                                         {.k = h.clusters, .temperature = s(h.temperature)})));
  if (want())
    add(zoo, PoolEntry("HOSCPool", HOSCPool<Scalar>(params, "hosc", features, {.k = h.clusters, .temperature = s(h.temperature)})));
  if (want()) add(zoo, PoolEntry("LaPool", LaPool<Scalar>(params, "lap", features)));
  if (want())
    add(zoo, PoolEntry("BNPool", BNPool<Scalar>(params, "bn", features,
                                                {.k = std::max<Index>(2, h.clusters), .sampling = {.seed = h.seed}})));
  if (want()) add(zoo, PoolEntry("NMFPool", NMFPool<Scalar>(params, "nmf", features, {.k = h.clusters})));
  if (want()) add(zoo, PoolEntry("EigenPool", EigenPool<Scalar>(params, "eigen", features, {.select = {.k = h.clusters}})));
  if (want()) add(zoo, ReadoutEntry("SortReadout", SortReadout<Scalar>(std::max<Index>(1, h.clusters))));
  if (want()) add(zoo, ReadoutEntry("Set2SetReadout", Set2SetReadout<Scalar>(params, "s2s", features, 2)));
  GNNPOOL_ASSERT(next == zoo_size, "make_zoo has ", next, " entries, zoo_size says ", zoo_size);
  return zoo;
}

}  // namespace gnnpool::test

#endif
