#ifndef GNNPOOL_POOL_NDP_POOL_HPP
#define GNNPOOL_POOL_NDP_POOL_HPP

/// \file
/// `NDPPool`: Node Decimation Pooling (NDPSelect + GatherReduce + KronConnect), and
/// `NDPMultiLevelPool`, several NDP levels each applied to the previous level's output.

#include <gnnpool/connect/kron.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/gather.hpp>
#include <gnnpool/select/ndp.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gnnpool {

struct NDPPoolOptions {
  NDPSelectOptions select{};
  KronOptions connect{};
};

/// Node Decimation Pooling: `Pool<NDPSelect, GatherReduce, KronConnect>`.
///
/// Forward:  V+ = NDPSelect(A) (spectral split with the cut check), X' = X[V+] (rows of the kept
///           nodes in ascending order, unscaled: GatherReduce without gate), A' = Kron reduction
///           of L = D - A onto V+, -offdiag, sparsified |w| > threshold.
/// Backward: dL/dX[V+] = dL/dX' (a scatter into the kept rows; other rows 0). dL/dA = 0: the
///           split and the Kron weights are treated as constants w.r.t. A, as in SRC and tgp
///           (docs/ndp.md). No parameters.
/// Shapes: in.x N x F -> out.batch.x K x F, K = |V+| summed over the graphs; out.batch.adj
///         K x K block-diagonal over out.batch.offsets (= the selection's offsets).
/// Cache: the caches of the three policies (eigenvector, split and per-graph report of the
///        select; KronStats of the connect).
/// Cost: NDPSelect + O(K F) + KronConnect (see there). The whole forward depends on A only
/// except the gather, so a dataset's levels can be precomputed (pool/pyramid.hpp).
/// Thread safety: forward and backward are const.
template <typename Scalar>
class NDPPool : public Pool<NDPSelect<Scalar>, GatherReduce<Scalar>, KronConnect<Scalar>> {
 public:
  using Base = Pool<NDPSelect<Scalar>, GatherReduce<Scalar>, KronConnect<Scalar>>;

  /// The construction every pooler shares; NDP registers no parameter in `params`.
  NDPPool(ParameterSet<Scalar>& /*params*/, std::string_view prefix, Index in_channels, NDPPoolOptions options = {})
      : NDPPool(std::move(options), layer_label(prefix, "NDPPool")) {
    this->expect_features(in_channels);
  }
 private:
  template <typename>
  friend class NDPMultiLevelPool;
  /// Any feature width, no parameter set: the levels of `NDPMultiLevelPool`.
  explicit NDPPool(NDPPoolOptions options, std::string name)
      : Base(std::move(name), NDPSelect<Scalar>(options.select),
             GatherReduce<Scalar>(Scalar(1), /*gate=*/false), KronConnect<Scalar>(connect_options(options))) {}

  // The select step checks the symmetry of the same adjacency already.
  static KronOptions connect_options(const NDPPoolOptions& options) {
    KronOptions o = options.connect;
    if (options.select.check_symmetric) o.check_symmetric = false;
    return o;
  }
};

/// When the multi-level pooler sparsifies the Kron weights.
enum class NDPSparsify {
  /// After every level; the next level sees the sparsified graph (tgp, and the conformance
  /// fixtures).
  every_level,
  /// Only the last level's output (SRC's `_pool(A, level)`): earlier levels keep every
  /// non-zero Kron weight.
  at_end,
};

/// L levels of NDP, level l pooling the output of level l - 1.
///
/// Forward:  out[0] = NDPPool_0(in), out[l] = NDPPool_l(out[l-1].batch).
/// Backward: dL/dX = the upstream gradient of the last pooled x scattered back level by level
///           (each level a scatter into its kept rows). No gradient for A (see NDPPool).
/// Seeds: the convenience constructor gives level l the seed `options.select.seed + l` (and
/// `fallback_partition` to the first level only); pass one `NDPPoolOptions` per level for full
/// control (seeds, explicit fallback partitions of each level's nodes).
/// Shapes: in.x N x F -> out[l].batch.x K_l x F. Cache: one NDPPool cache per level.
/// Cost: the sum of the levels; each level roughly halves the nodes. Thread safety: const.
template <typename Scalar_>
class NDPMultiLevelPool {
 public:
  using Scalar = Scalar_;
  using Level = NDPPool<Scalar>;
  using LevelOutput = typename Level::Output;
  using Output = std::vector<LevelOutput>;
  using Cache = std::vector<typename Level::Cache>;

  NDPMultiLevelPool(std::vector<NDPPoolOptions> levels, NDPSparsify sparsify = NDPSparsify::every_level) {
    GNNPOOL_CHECK(!levels.empty(), invalid_argument, "NDPMultiLevelPool: at least one level is needed");
    const double threshold = levels.back().connect.threshold;
    for (std::size_t l = 0; l < levels.size(); ++l) {
      if (sparsify == NDPSparsify::at_end) levels[l].connect.threshold = l + 1 == levels.size() ? threshold : 0.0;
      m_levels.push_back(Level(std::move(levels[l]), "NDPPool level " + std::to_string(l + 1)));
    }
  }

  NDPMultiLevelPool(Index levels, const NDPPoolOptions& options = {},
                    NDPSparsify sparsify = NDPSparsify::every_level)
      : NDPMultiLevelPool(per_level(levels, options), sparsify) {}

  Index num_levels() const { return static_cast<Index>(m_levels.size()); }
  const Level& level(Index l) const { return m_levels[static_cast<std::size_t>(l)]; }

  void forward(const BatchRef<Scalar>& in, Output& out, Cache& cache) const {
    const ParameterSet<Scalar> none;
    out.resize(m_levels.size());
    cache.resize(m_levels.size());
    for (std::size_t l = 0; l < m_levels.size(); ++l)
      m_levels[l].forward(none, l == 0 ? in : out[l - 1].batch, out[l], cache[l]);
  }

  /// The input node each final supernode stands for (the composition of the levels' kept sets).
  IndexVector kept_nodes(const Output& out) const {
    GNNPOOL_CHECK(!out.empty(), invalid_argument, "NDPMultiLevelPool: kept_nodes needs the output of forward");
    IndexVector nodes = out.back().selection.representative;
    for (std::size_t l = out.size() - 1; l-- > 0;)
      for (auto& v : nodes) v = out[l].selection.representative[static_cast<std::size_t>(v)];
    return nodes;
  }

  /// ASSIGNS dx (N x F): dL/dX for dL/d(last pooled x) = dx_last.
  void backward(const BatchRef<Scalar>& in, const Output& out, const Cache& cache, const Matrix<Scalar>& dx_last,
                Matrix<Scalar>& dx) const {
    GNNPOOL_CHECK(out.size() == m_levels.size() && cache.size() == m_levels.size(), invalid_argument,
                  "NDPMultiLevelPool: backward needs the output and cache of forward (", m_levels.size(),
                  " levels), got ", out.size(), " and ", cache.size());
    const ParameterSet<Scalar> none;
    ParameterSet<Scalar> dnone;
    typename Level::OutputGrad grad;
    grad.x = dx_last;
    BatchGrad<Scalar> din;
    for (std::size_t l = m_levels.size(); l-- > 0;) {
      m_levels[l].backward(none, l == 0 ? in : out[l - 1].batch, out[l], cache[l], grad, din, dnone);
      grad.x = std::move(din.x);
    }
    dx = std::move(grad.x);
  }

 private:
  static std::vector<NDPPoolOptions> per_level(Index levels, const NDPPoolOptions& options) {
    GNNPOOL_CHECK(levels >= 1, invalid_argument, "NDPMultiLevelPool: levels must be >= 1, got ", levels);
    std::vector<NDPPoolOptions> v(static_cast<std::size_t>(levels), options);
    for (std::size_t l = 0; l < v.size(); ++l) {
      v[l].select.seed = options.select.seed + l;
      if (l > 0) v[l].select.fallback_partition.clear();  // sized for the first level's nodes
    }
    return v;
  }

  std::vector<Level> m_levels;
};

}  // namespace gnnpool

#endif
