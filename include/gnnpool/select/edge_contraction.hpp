#ifndef GNNPOOL_SELECT_EDGE_CONTRACTION_HPP
#define GNNPOOL_SELECT_EDGE_CONTRACTION_HPP

/// \file
/// `EdgeContractionSelect`: edge scores from the concatenated endpoint features, then a greedy
/// maximal matching of the best-scored edges (Diehl, "Edge Contraction Pooling"; PyG
/// `EdgePooling`, tgp `EdgeContractionSelect`).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/segment_softmax.hpp>
#include <gnnpool/select/graclus.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gnnpool {

/// How raw edge scores become edge scores (tgp's `edge_score_method`).
enum class EdgeScoreMethod {
  softmax,  ///< softmax over the incoming edges of each target node (tgp / PyG default)
  tanh,     ///< tanh(raw)
  sigmoid,  ///< 1 / (1 + exp(-raw))
};

struct EdgeContractionOptions {
  EdgeScoreMethod score = EdgeScoreMethod::softmax;
  /// Added to every edge score (tgp / PyG: 0.5, "greatly helps with unpooling stability").
  double add_to_edge_score = 0.5;
  /// Explicit visiting order of the stored entries of the adjacency (CSR positions, a
  /// permutation of 0 .. E-1), e.g. the order torch's unstable argsort produced (tgp's `perm`,
  /// recorded as `debug_perm`). Empty: gnnpool's order, score descending with ties broken by
  /// lower source node, then lower target node (a stable sort of a (source, target)-sorted
  /// edge_index).
  IndexVector edge_order{};
};

/// Edge-contraction selection.
///
/// Forward, for each stored entry e = (t, s) of A (the edge s -> t; A's values are not read):
///   raw_e = w_src . x_s + w_dst . x_t + b      ([w_src | w_dst] = `selector.lin.weight`, 1 x 2F)
///   p_e   = softmax_{f enters t}(raw)_e (PyG softmax: max-shifted, sum + 1e-16), or tanh / sigmoid
///   e_e   = p_e + add_to_edge_score
/// Greedy matching: visit the entries by decreasing e (or `edge_order`); an entry whose two ends
/// are both unmatched is taken, matching s and t (a self loop s -> s takes s alone: tgp's
/// Blelloch matching and PyG's greedy loop both do so). Each match is a cluster named by its
/// source s, each unmatched node a singleton; clusters are numbered by ascending name (tgp's
/// `torch.unique`), hence graph-major. `weight[i]` is the score e of the entry that matched i, or
/// 1 for an unmatched node; `representative[c]` is the cluster's name.
/// Backward: dL/de_e = sum of dL/dw_i over the nodes i the entry e matched (0 for the others);
///   softmax: dL/draw_e = p_e (dL/de_e - sum_{f enters t} p_f dL/de_f); tanh: dL/de (1 - p^2);
///   sigmoid: dL/de p (1 - p); then dL/dx_s += dL/draw_e w_src, dL/dx_t += dL/draw_e w_dst,
///   dL/dw_src = sum_e dL/draw_e x_s, dL/dw_dst = sum_e dL/draw_e x_t, dL/db = sum_e dL/draw_e.
///   With the softmax, w_dst only shifts all logits of a target: its exact gradient is 0.
/// Parameters: `<prefix>.selector.lin.weight` [1, 2F], `<prefix>.selector.lin.bias` [1, 1]
///   (tgp's names; PyTorch Linear initialisation).
/// Cache: u = X w_src, v = X w_dst (N each), p (E), the entry that matched each node (N), the
///   row of each entry (E). Cost: O(N F + E log E) forward (the sort; O(N F + E) with an
///   explicit order), O(N F + E) backward.
/// Errors: `shape_error` for x of the wrong width or an `edge_order` of the wrong length;
///   `invalid_argument` when `edge_order` is not a permutation or a score is not finite.
template <typename Scalar_>
class EdgeContractionSelect {
 public:
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;

  struct Cache {
    Vector<Scalar> u, v;                  ///< X w_src^T, X w_dst^T
    Vector<Scalar> prob;                  ///< p_e (before add_to_edge_score)
    std::vector<StorageIndex> row;        ///< target node of each entry
    std::vector<StorageIndex> matched_by; ///< entry that matched node i, -1 if none
  };

  EdgeContractionSelect(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features,
                        EdgeContractionOptions options = {})
      : m_in(in_features), m_options(std::move(options)) {
    GNNPOOL_CHECK(in_features >= 1, invalid_argument, "EdgeContractionSelect '", prefix,
                  "': in_features must be >= 1, got ", in_features);
    GNNPOOL_CHECK(std::isfinite(m_options.add_to_edge_score), invalid_argument,
                  "EdgeContractionSelect: add_to_edge_score must be finite, got ", m_options.add_to_edge_score);
    if (!m_options.edge_order.empty())
      detail::check_permutation(m_options.edge_order, static_cast<Index>(m_options.edge_order.size()),
                                "EdgeContractionSelect", "edge_order");
    m_weight = params.add(join_name(prefix, "selector.lin.weight"), 1, 2 * in_features, Init::torch_linear,
                          2 * in_features);
    m_bias = params.add(join_name(prefix, "selector.lin.bias"), 1, 1, Init::torch_linear, 2 * in_features);
  }

  Index in_features() const { return m_in; }
  const EdgeContractionOptions& options() const { return m_options; }
  void parameter_slots(std::vector<Index>& out) const {
    out.push_back(m_weight);
    out.push_back(m_bias);
  }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    constexpr std::string_view layer = "EdgeContractionSelect";
    check_features(in, m_in, layer);
    const Index n = in.num_nodes(), f = m_in, m = in.num_edges();
    const Matrix<Scalar>& w = params[m_weight];
    const Scalar bias = params[m_bias](0, 0);
    cache.u.noalias() = in.x * w.leftCols(f).transpose();
    cache.v.noalias() = in.x * w.rightCols(f).transpose();
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    cache.row.resize(static_cast<std::size_t>(m));
    cache.prob.resize(m);
    for (Index t = 0; t < n; ++t) {
      for (StorageIndex p = outer[t]; p < outer[t + 1]; ++p) {
        cache.row[static_cast<std::size_t>(p)] = static_cast<StorageIndex>(t);
        cache.prob[p] = cache.u[inner[p]] + cache.v[t] + bias;
        GNNPOOL_CHECK(std::isfinite(cache.prob[p]), invalid_argument, layer, ": the score of edge (", inner[p], " -> ",
                      t, ") is not finite (the features of its nodes hold a NaN or an infinity)");
      }
    }
    if (m_options.score == EdgeScoreMethod::softmax)
      detail::segment_softmax(cache.prob.data(), cache.prob.data(), outer, n,
                              static_cast<Scalar>(pyg_constants::softmax_denominator_eps));
    if (m_options.score == EdgeScoreMethod::tanh) cache.prob = cache.prob.array().tanh().matrix();
    if (m_options.score == EdgeScoreMethod::sigmoid)
      cache.prob = (Scalar(1) / (Scalar(1) + (-cache.prob.array()).exp())).matrix();
    const Scalar add = static_cast<Scalar>(m_options.add_to_edge_score);

    // Visiting order: explicit, or score descending, ties by (source, target).
    IndexVector order_storage;
    const IndexVector* order = &m_options.edge_order;
    if (m_options.edge_order.empty()) {
      order_storage.resize(static_cast<std::size_t>(m));
      std::iota(order_storage.begin(), order_storage.end(), Index(0));
      const Scalar* pr = cache.prob.data();
      const StorageIndex* rw = cache.row.data();
      std::sort(order_storage.begin(), order_storage.end(), [&](Index a, Index b) {
        if (pr[a] != pr[b]) return pr[a] > pr[b];
        if (inner[a] != inner[b]) return inner[a] < inner[b];
        return rw[a] < rw[b];
      });
      order = &order_storage;
    } else {
      GNNPOOL_CHECK(static_cast<Index>(m_options.edge_order.size()) == m, shape_error, layer, ": edge_order has ",
                    m_options.edge_order.size(), " entries but the adjacency stores ", m);
    }

    // Greedy maximal matching; root[i] names i's cluster.
    cache.matched_by.assign(static_cast<std::size_t>(n), -1);
    std::vector<StorageIndex> root(static_cast<std::size_t>(n));
    std::iota(root.begin(), root.end(), StorageIndex(0));
    for (const Index p : *order) {
      const StorageIndex s = inner[p], t = cache.row[static_cast<std::size_t>(p)];
      auto& ms = cache.matched_by[static_cast<std::size_t>(s)];
      auto& mt = cache.matched_by[static_cast<std::size_t>(t)];
      if (ms >= 0 || mt >= 0) continue;
      ms = static_cast<StorageIndex>(p);
      mt = static_cast<StorageIndex>(p);
      root[static_cast<std::size_t>(t)] = s;
    }
    detail::roots_to_selection(root, in.offsets, sel);
    for (Index i = 0; i < n; ++i) {
      const StorageIndex p = cache.matched_by[static_cast<std::size_t>(i)];
      if (p >= 0) sel.weight[i] = cache.prob[p] + add;
    }
  }

  /// Adds dL/dX into din.x (din.adj untouched: A's values are not read) and assigns the
  /// gradients of `selector.lin.weight` and `selector.lin.bias`.
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Selection& /*sel*/,
                const Cache& cache, const Vector<Scalar>& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const {
    const Index n = in.num_nodes(), f = m_in, m = in.num_edges();
    GNNPOOL_CHECK(dsel.size() == n && static_cast<Index>(cache.matched_by.size()) == n && cache.prob.size() == m,
                  shape_error, "EdgeContractionSelect: the selection gradient has ", dsel.size(),
                  " entries and the cache ", cache.matched_by.size(), " for a batch of ", n,
                  " nodes (backward needs the cache of the same forward)");
    Vector<Scalar> draw = Vector<Scalar>::Zero(m);
    for (Index i = 0; i < n; ++i) {
      const StorageIndex p = cache.matched_by[static_cast<std::size_t>(i)];
      if (p >= 0) draw[p] += dsel[i];
    }
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    switch (m_options.score) {
      case EdgeScoreMethod::softmax:
        detail::segment_softmax_backward(cache.prob.data(), draw.data(), draw.data(), outer, n);
        break;
      case EdgeScoreMethod::tanh: draw = (draw.array() * (Scalar(1) - cache.prob.array().square())).matrix(); break;
      case EdgeScoreMethod::sigmoid:
        draw = (draw.array() * cache.prob.array() * (Scalar(1) - cache.prob.array())).matrix();
        break;
    }
    Vector<Scalar> du = Vector<Scalar>::Zero(n), dv = Vector<Scalar>::Zero(n);
    for (Index t = 0; t < n; ++t)
      for (StorageIndex p = outer[t]; p < outer[t + 1]; ++p) {
        du[inner[p]] += draw[p];
        dv[t] += draw[p];
      }
    const Matrix<Scalar>& w = params[m_weight];
    din.x.noalias() += du * w.leftCols(f);
    din.x.noalias() += dv * w.rightCols(f);
    Matrix<Scalar>& dw = dparams[m_weight];
    dw.resize(1, 2 * f);
    dw.leftCols(f).noalias() = du.transpose() * in.x;
    dw.rightCols(f).noalias() = dv.transpose() * in.x;
    dparams[m_bias].setConstant(1, 1, draw.sum());
  }

 private:
  Index m_in;
  EdgeContractionOptions m_options;
  Index m_weight = -1, m_bias = -1;
};

}  // namespace gnnpool

#endif
