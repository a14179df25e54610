#ifndef GNNPOOL_SELECT_TOPK_HPP
#define GNNPOOL_SELECT_TOPK_HPP

/// \file
/// `TopKSelect`: score-based hard selection (Graph U-Net / PyG `TopKPooling`), its options
/// `TopKOptions`, and the score-and-rank machinery that `SAGSelect` reuses.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/rank_keys.hpp>
#include <gnnpool/nn/activation.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool {

/// Order of the kept nodes inside each output graph (output graphs are always graph-major).
/// Reduce and connect both read the order from the selection, so pooled rows and pooled edges
/// can never disagree about it.
enum class NodeOrder {
  /// PyG: score descending (ties: lower node index first) with a ratio or k; ascending node
  /// index in min_score mode.
  pyg,
  /// Score descending, ties by lower node index, in every mode.
  score,
  /// Ascending node index in every mode (Spektral's and the SRC repository's `TopKPool`).
  node_index,
};

/// Hyper-parameters of `TopKSelect` (and of the top-k stage of `SAGSelect`).
///
/// How many nodes graph g keeps (N_g nodes):
/// - `k` set: min(k, N_g) (PyG `ratio` given as an integer >= 1);
/// - otherwise ceil(ratio * N_g), computed in the batch's Scalar type as PyG does in x's dtype;
/// - `min_score` set: the score becomes a per-graph softmax and every node with
///   score > min(min_score, max_g score - 1e-7) is kept (ratio and k are then unused).
///
/// PyG's `ratio` is one argument with two meanings (a fraction below 1, `int(ratio)` nodes from
/// 1 up, so that `ratio = 1.0` keeps ONE node); `from_pyg_ratio` reproduces that mapping.
struct TopKOptions {
  double ratio = 0.5;                    ///< fraction of nodes kept, in (0, 1)
  std::optional<Index> k{};              ///< fixed number of nodes kept per graph, >= 1
  std::optional<double> min_score{};     ///< PyG's softmax threshold mode, in (0, 1)
  Activation nonlinearity = Activation::tanh;  ///< tanh (PyG default) or sigmoid
  double multiplier = 1.0;               ///< applied to the pooled features (see GatherReduce)
  NodeOrder order = NodeOrder::pyg;

  /// Options for PyG's `ratio` argument: a fraction when < 1, `int(ratio)` nodes otherwise.
  static TopKOptions from_pyg_ratio(double ratio) {
    TopKOptions o;
    GNNPOOL_CHECK(std::isfinite(ratio) && ratio > 0, invalid_argument,
                  "TopKOptions::from_pyg_ratio: ratio must be positive and finite, got ", ratio);
    if (ratio < 1) o.ratio = ratio;
    else o.k = static_cast<Index>(ratio);
    return o;
  }
};

/// Throws `invalid_argument` naming `layer` when an option is outside its domain.
inline void check_topk_options(const TopKOptions& o, std::string_view layer) {
  if (o.k) {
    GNNPOOL_CHECK(*o.k >= 1, invalid_argument, layer, ": k must be at least 1, got ", *o.k);
  } else {
    GNNPOOL_CHECK(o.ratio > 0 && o.ratio < 1, invalid_argument, layer,
                  ": ratio must lie in (0, 1), got ", o.ratio,
                  " (to keep a fixed number of nodes per graph set k instead)");
  }
  if (o.min_score)
    GNNPOOL_CHECK(*o.min_score > 0 && *o.min_score < 1, invalid_argument, layer,
                  ": min_score must lie in (0, 1), got ", *o.min_score);
  GNNPOOL_CHECK(o.nonlinearity == Activation::tanh || o.nonlinearity == Activation::sigmoid,
                invalid_argument, layer, ": the score nonlinearity must be tanh or sigmoid, got ",
                activation_name(o.nonlinearity));
  GNNPOOL_CHECK(std::isfinite(o.multiplier), invalid_argument, layer,
                ": multiplier must be finite, got ", o.multiplier);
}

namespace detail {

/// The score head shared by TopK and SAG: a projection z = X p^T of an N x F input by a 1 x F
/// weight p, then
///   ratio / k mode:  y = z / ||p||,  s = act(y)            (act = tanh or sigmoid)
///   min_score mode:  s_i = exp(z_i - m_g) / (sum_{j in g} exp(z_j - m_g) + 1e-16),
///                    m_g = max_{j in g} z_j (a constant for the gradient, as PyG detaches it).
/// Backward, for ds = dL/ds:
///   ratio:      dy = ds act'(y);  dX = dy p / ||p||;
///               dp = X^T dy / ||p|| - (dy . y) p / ||p||^2   (the norm is differentiated)
///   min_score:  dz_i = s_i (ds_i - sum_{j in g} ds_j s_j);  dX = dz p;  dp = X^T dz.
/// Cost O(N F) both ways; the cache holds y (N scalars) and ||p||.
template <typename Scalar>
struct ScoreHead {
  struct Cache {
    Vector<Scalar> y;  ///< z / ||p|| (ratio mode); unused in min_score mode
    Scalar norm = 0;
  };

  /// Fills `score` (N). Throws when p is zero or non-finite or a score is not finite (which is
  /// the case whenever a row of x holds a NaN or an infinity).
  static void forward(const ConstMatrixRef<Scalar>& x, const ConstMatrixRef<Scalar>& p,
                      const IndexVector& offsets, const TopKOptions& options, std::string_view layer,
                      std::string_view weight_name, Vector<Scalar>& score, Cache& cache) {
    const Index n = x.rows();
    cache.norm = p.norm();
    GNNPOOL_CHECK(std::isfinite(cache.norm), invalid_argument, layer, ": the weight '", weight_name,
                  "' holds a non-finite value");
    score.resize(n);
    detail::product_rows(x, p.transpose(), score);
    detail::parallel_rows_checked(
        n, [&](Index lo, Index hi) { return score.segment(lo, hi - lo).allFinite(); },
        [&](Index lo) {
          for (Index i = lo; i < n; ++i)
            GNNPOOL_CHECK(std::isfinite(score[i]), invalid_argument, layer, ": the score of node ", i,
                          " is not finite (the features of node ", i, " hold a NaN or an infinity)");
        });
    if (options.min_score) {
      cache.y.resize(0);
      for (std::size_t b = 0; b + 1 < offsets.size(); ++b) {
        const Index lo = offsets[b], len = offsets[b + 1] - lo;
        if (len == 0) continue;
        auto seg = score.segment(lo, len);
        const Scalar m = seg.maxCoeff();
        seg = (seg.array() - m).exp().matrix();
        const Scalar denom = seg.sum() + static_cast<Scalar>(pyg_constants::softmax_denominator_eps);
        seg /= denom;
      }
      return;
    }
    GNNPOOL_CHECK(cache.norm > Scalar(0), invalid_argument, layer, ": the weight '", weight_name,
                  "' is zero, so the score x p / ||p|| is undefined");
    cache.y.resize(n);
    const bool use_tanh = options.nonlinearity == Activation::tanh;
    detail::parallel_rows(n, [&](Index lo, Index hi) {
      auto y = cache.y.segment(lo, hi - lo);
      auto s = score.segment(lo, hi - lo);
      y = s / cache.norm;
      if (use_tanh) s = y.array().tanh().matrix();
      else s = (Scalar(1) / (Scalar(1) + (-y.array()).exp())).matrix();
    });
  }

  /// ADDS dL/dX into dx (when non-null) and ASSIGNS dL/dp into dp (when non-null). `dz` is
  /// scratch (N).
  static void backward(const ConstMatrixRef<Scalar>& x, const ConstMatrixRef<Scalar>& p,
                       const IndexVector& offsets, const TopKOptions& options, const Vector<Scalar>& score,
                       const Cache& cache, const Vector<Scalar>& ds, Matrix<Scalar>* dx,
                       Matrix<Scalar>* dp, Vector<Scalar>& dz) {
    if (options.min_score) {
      dz.resize(score.size());
      for (std::size_t b = 0; b + 1 < offsets.size(); ++b) {
        const Index lo = offsets[b], len = offsets[b + 1] - lo;
        if (len == 0) continue;
        const Scalar dot = ds.segment(lo, len).dot(score.segment(lo, len));
        dz.segment(lo, len) = (score.segment(lo, len).array() * (ds.segment(lo, len).array() - dot)).matrix();
      }
      if (dx) detail::product_rows(dz, p, *dx, true);
      if (dp) detail::assign_product_transpose(*dp, dz, x);
      return;
    }
    dz.resize(score.size());
    const bool use_tanh = options.nonlinearity == Activation::tanh;
    detail::parallel_rows(score.size(), [&](Index lo, Index hi) {
      const auto sa = score.segment(lo, hi - lo).array();
      const auto da = ds.segment(lo, hi - lo).array();
      if (use_tanh) dz.segment(lo, hi - lo) = (da * (Scalar(1) - sa.square())).matrix();
      else dz.segment(lo, hi - lo) = (da * sa * (Scalar(1) - sa)).matrix();
    });
    // dz now holds dy = dL/d(z / ||p||).
    if (dx) detail::product_rows(dz, p / cache.norm, *dx, true);
    if (dp) {
      detail::assign_product_transpose(*dp, dz, x);
      *dp /= cache.norm;
      *dp -= (dz.dot(cache.y) / (cache.norm * cache.norm)) * p;
    }
  }
};

/// Number of nodes a graph of n nodes keeps in ratio / k mode (PyG: ceil in the input dtype).
template <typename Scalar>
Index topk_count(const TopKOptions& options, Index n) {
  if (options.k) return std::min(*options.k, n);
  const Scalar kept = std::ceil(static_cast<Scalar>(options.ratio) * static_cast<Scalar>(n));
  return std::min(static_cast<Index>(kept), n);
}

/// Builds the hard selection from per-node scores: per graph, the top-k by (score descending,
/// node index ascending), or the min_score threshold set, then ordered by `options.order`.
/// assignment[i] = output position (graph-major) or dropped; weight = score (every node);
/// representative = kept nodes in output order (PyG's perm).
/// Ranking: `keep_smallest_keys` leaves the kept keys in node-index order (O(N_g)); score order
/// sorts them (`sort_rank_keys`: O(k_g) for float, O(k_g log k_g) for double). Cost O(N) for
/// float.
/// Parallel (ratio / k mode, where every graph's kept count is known first): runs of whole graphs
/// of a batch; inside one large graph, the keys and the assignment (and double's sort). The
/// selection of the kept keys and float's radix sort are serial.
template <typename Scalar>
void rank_and_select(const Vector<Scalar>& score, const IndexVector& offsets, const TopKOptions& options,
                     HardSelection<Scalar>& sel) {
  const Index n = score.size();
  sel.weight = score;
  using Rank = RankKey<Scalar>;
  using Key = typename Rank::Type;
  const bool by_node = options.order == NodeOrder::node_index ||
                       (options.order == NodeOrder::pyg && options.min_score.has_value());
  if (options.min_score) {
    sel.assignment.assign(static_cast<std::size_t>(n), HardSelection<Scalar>::dropped);
    sel.representative.clear();
    sel.offsets.assign(1, 0);
    sel.offsets.reserve(offsets.size());
    std::vector<Key> keys, buffer;
    for (std::size_t b = 0; b + 1 < offsets.size(); ++b) {
      const Index lo = offsets[b], hi = offsets[b + 1];
      const std::size_t first = sel.representative.size();
      if (hi > lo) {
        const Scalar margin = static_cast<Scalar>(pyg_constants::min_score_margin);
        const Scalar top = score.segment(lo, hi - lo).maxCoeff() - margin;
        const Scalar threshold = std::min(top, static_cast<Scalar>(*options.min_score));
        keys.clear();
        for (Index i = lo; i < hi; ++i)
          if (score[i] > threshold) keys.push_back(Rank::make(score[i], static_cast<StorageIndex>(i)));
        if (!by_node) sort_rank_keys<Scalar>(keys.data(), static_cast<Index>(keys.size()), buffer);
        for (const Key& key : keys) sel.representative.push_back(Rank::node(key));
      }
      for (std::size_t r = first; r < sel.representative.size(); ++r)
        sel.assignment[static_cast<std::size_t>(sel.representative[r])] = static_cast<Index>(r);
      sel.offsets.push_back(static_cast<Index>(sel.representative.size()));
    }
    return;
  }
  // ratio / k: the kept counts, hence every graph's output range, are known before ranking.
  const std::size_t graphs = offsets.empty() ? 0 : offsets.size() - 1;
  sel.offsets.resize(graphs + 1);
  sel.offsets[0] = 0;
  for (std::size_t b = 0; b < graphs; ++b)
    sel.offsets[b + 1] = sel.offsets[b] + topk_count<Scalar>(options, offsets[b + 1] - offsets[b]);
  sel.representative.resize(static_cast<std::size_t>(sel.offsets[graphs]));
  sel.assignment.resize(static_cast<std::size_t>(n));
  parallel_graphs(offsets, [&](Index b_lo, Index b_hi) {
    // Inside a run of several graphs the nested parallel_rows / parallel_sort below run inline;
    // a batch of one graph is one run, and they use every thread.
    std::vector<Key> keys, buffer;
    for (Index b = b_lo; b < b_hi; ++b) {
      const Index lo = offsets[static_cast<std::size_t>(b)], len = offsets[static_cast<std::size_t>(b + 1)] - lo;
      const Index out = sel.offsets[static_cast<std::size_t>(b)];
      const Index k = sel.offsets[static_cast<std::size_t>(b + 1)] - out;
      keys.resize(static_cast<std::size_t>(len));
      parallel_rows(len, [&](Index r_lo, Index r_hi) {
        for (Index r = r_lo; r < r_hi; ++r) {
          keys[static_cast<std::size_t>(r)] = Rank::make(score[lo + r], static_cast<StorageIndex>(lo + r));
          sel.assignment[static_cast<std::size_t>(lo + r)] = HardSelection<Scalar>::dropped;
        }
      });
      if (k == 0) continue;
      if (k < len) keep_smallest_keys<Scalar>(keys.data(), len, k, buffer);
      if (!by_node) sort_rank_keys<Scalar>(keys.data(), k, buffer);
      parallel_rows(k, [&](Index r_lo, Index r_hi) {
        for (Index r = r_lo; r < r_hi; ++r) {
          const StorageIndex node = Rank::node(keys[static_cast<std::size_t>(r)]);
          sel.representative[static_cast<std::size_t>(out + r)] = node;
          sel.assignment[static_cast<std::size_t>(node)] = out + r;
        }
      });
    }
  });
}

}  // namespace detail

/// Top-k selection by a learned projection (Gao & Ji, Graph U-Nets; PyG `TopKPooling`'s select).
///
/// Forward (per graph g of the batch, p = `<prefix>.select.weight`, 1 x F):
///   ratio / k:  s = act(X p^T / ||p||), act = tanh (default) or sigmoid; keep the k_g nodes of
///               highest score (k_g = ceil(ratio N_g) or min(k, N_g); ties: lower index first).
///   min_score:  s = softmax_g(X p^T) (no norm, no act, PyG), keep s_i > min(min_score,
///               max_g s - 1e-7), so a non-empty graph never loses every node.
///   Output: `HardSelection` with assignment[i] = output row of kept node i (graph-major,
///   ordered by `TopKOptions::order`) or dropped, representative = PyG's perm, weight = s for
///   EVERY node (so dL/ds reaches dropped nodes too when the caller differentiates the scores),
///   offsets = cumulative kept counts per graph. An empty graph stays an empty graph.
/// Backward: from dL/ds (one entry per node, summed over the consumers) the score head gives
///   dL/dX (added into din.x) and dL/dp (assigned); see `detail::ScoreHead` for the formulas.
///   The kept set is the branch forward took (read from the selection).
/// Parameters: `<prefix>.select.weight` [1, F], U(-1/sqrt(F), 1/sqrt(F)) as PyG. The prefix is
///   the pooling module's name, so the names match PyG's `TopKPooling.state_dict()`.
/// Cache: y = X p^T / ||p|| (N scalars) and ||p||. Cost: O(N F) for the projection plus
///   O(N + sum_g k_g log k_g) for the ranking; memory O(N).
/// Errors: `invalid_argument` for options outside their domain (constructor), a zero or
///   non-finite weight, non-finite features; `shape_error` when x has a width other than F.
template <typename Scalar_>
class TopKSelect {
 public:
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;

  struct Cache {
    typename detail::ScoreHead<Scalar>::Cache head;
  };

  TopKSelect(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features,
             TopKOptions options = {})
      : m_in(in_features), m_options(std::move(options)) {
    GNNPOOL_CHECK(in_features >= 1, invalid_argument, "TopKSelect '", prefix,
                  "': in_features must be >= 1, got ", in_features);
    check_topk_options(m_options, "TopKSelect");
    m_weight_name = join_name(prefix, "select.weight");
    m_weight = params.add(m_weight_name, 1, in_features, Init::torch_linear, in_features);
  }

  Index in_features() const { return m_in; }
  const TopKOptions& options() const { return m_options; }
  /// Slot of `<prefix>.select.weight` in the ParameterSet.
  Index weight_slot() const { return m_weight; }
  /// Appends the slot this selector registered (`<prefix>.weight`).
  void parameter_slots(std::vector<Index>& out) const { out.push_back(m_weight); }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    check_features(in, m_in, "TopKSelect");
    Vector<Scalar> score;
    detail::ScoreHead<Scalar>::forward(in.x, params[m_weight], in.offsets, m_options, "TopKSelect",
                                       m_weight_name, score, cache.head);
    detail::rank_and_select(score, in.offsets, m_options, sel);
  }

  /// Adds dL/dX into din.x (din.adj untouched: the score does not read A) and assigns
  /// dL/d(select.weight).
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Selection& sel,
                const Cache& cache, const Vector<Scalar>& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const {
    GNNPOOL_CHECK(dsel.size() == in.x.rows() && sel.weight.size() == in.x.rows(), shape_error,
                  "TopKSelect: the selection gradient has ", dsel.size(), " entries but the batch has ",
                  in.x.rows(), " nodes");
    GNNPOOL_CHECK(din.x.rows() == in.x.rows() && din.x.cols() == in.x.cols(), shape_error,
                  "TopKSelect: din.x is ", detail::shape(din.x.rows(), din.x.cols()), ", expected ",
                  detail::shape(in.x.rows(), in.x.cols()));
    Vector<Scalar> dz;
    detail::ScoreHead<Scalar>::backward(in.x, params[m_weight], in.offsets, m_options, sel.weight,
                                        cache.head, dsel, &din.x, &dparams[m_weight], dz);
  }

 private:
  Index m_in;
  TopKOptions m_options;
  std::string m_weight_name;
  Index m_weight = -1;
};

}  // namespace gnnpool

#endif
