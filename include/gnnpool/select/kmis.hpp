#ifndef GNNPOOL_SELECT_KMIS_HPP
#define GNNPOOL_SELECT_KMIS_HPP

/// \file
/// `KMISSelect`: maximal k-independent set clustering (Bacciu et al., "Generalizing Downsampling
/// from Regular Data to Graphs", AAAI 2023), as PyG pull request #6488 and tgp compute it.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/prefetch.hpp>
#include <gnnpool/detail/rank_keys.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/select/graclus.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool {

/// Node score s of k-MIS (higher is picked first).
enum class KMISScorer {
  linear,    ///< s = sigmoid(x w^T + b), trainable (parameters `<prefix>.lin.weight`, `.lin.bias`)
  random,    ///< s ~ U[0, 1), drawn per graph from the seed
  constant,  ///< s = 1
  degree,    ///< s = weighted in-degree (row sum of the adjacency, self loops included; tgp)
};

/// Ordering heuristic applied to s before ranking.
enum class KMISHeuristic {
  greedy,    ///< s / (A^k 1)  ("greedy", the default of PR #6488 and tgp)
  w_greedy,  ///< s / (A^k s)  ("w-greedy")
  plain,     ///< s as is (score_heuristic=None)
};

/// "linear", "random", "constant", "degree".
inline KMISScorer parse_kmis_scorer(std::string_view name) {
  if (name == "linear") return KMISScorer::linear;
  if (name == "random") return KMISScorer::random;
  if (name == "constant") return KMISScorer::constant;
  if (name == "degree") return KMISScorer::degree;
  detail::raise<invalid_argument>(detail::concat("KMISSelect: unknown scorer '", name,
                                                 "' (expected linear, random, constant or degree)"));
}

/// "greedy", "w-greedy" (or "w_greedy"), "plain" (or "none").
inline KMISHeuristic parse_kmis_heuristic(std::string_view name) {
  if (name == "greedy") return KMISHeuristic::greedy;
  if (name == "w-greedy" || name == "w_greedy") return KMISHeuristic::w_greedy;
  if (name == "plain" || name == "none") return KMISHeuristic::plain;
  detail::raise<invalid_argument>(detail::concat("KMISSelect: unknown score heuristic '", name,
                                                 "' (expected greedy, w-greedy or plain)"));
}

struct KMISOptions {
  Index k = 1;
  /// Largest k accepted (the constructor throws above it). The k-hop balls of the set stop
  /// growing at the graph's diameter, and the search stops there, but the heuristic's A^k is k
  /// sparse products whatever the graph (O(k E)), so k = 10^12 would run for hours on a ring of
  /// 10 nodes. Raise it if you really mean a larger k.
  Index max_k = 1024;
  KMISScorer scorer = KMISScorer::linear;
  KMISHeuristic heuristic = KMISHeuristic::greedy;
  /// false: A^k in the heuristic, as the code of PR #6488 (and the conformance cases); true:
  /// (A + I)^k, as tgp's code (and the docstring of both).
  bool heuristic_self_loops = false;
  /// Seed of the `random` scorer: graph b's scores depend on the seed and its size only.
  std::uint64_t seed = 0;
  /// Check that the adjacency is structurally symmetric (an undirected graph). O(N + E).
  bool check_symmetric = true;
};

/// k-MIS selection: a maximal set of nodes pairwise more than k hops apart, and every node
/// assigned to the best-ranked set node within k hops.
///
/// Forward, per graph (A = the adjacency pattern without self loops; edge weights enter only
/// the `degree` scorer):
/// 1. scores s (see `KMISScorer`);
/// 2. s' = s / (A^k 1) (greedy), s / (A^k s) (w-greedy) or s (plain); a zero denominator gives
///    +inf, so isolated nodes come first ((A + I)^k with `heuristic_self_loops`);
/// 3. rank = position in the order of descending s', ties to the lower index;
/// 4. MIS = the lexicographically-first maximal independent set of the k-th power of the graph
///    in rank order: visiting nodes by rank, a node joins unless a member is within k hops.
///    This is exactly what the parallel rounds of PR #6488 compute (a node joins when its rank
///    is the minimum of the unmasked nodes within k hops; the k-hop neighbourhood of the set
///    is then masked), as Blelloch et al. show for greedy MIS;
/// 5. cluster of v = the member of smallest rank within k hops of v (every node has one);
///    clusters are numbered by ascending member index (`representative` = the MIS, sorted), so
///    supernodes are graph-major.
/// `weight` = s for every node (the reduce step's passthrough), `assignment` = cluster.
///
/// Backward: the ranking and the set are piecewise constant; the gradient reaches the linear
/// scorer through the weights: with G_i = dL/dw_i, dz_i = G_i s_i (1 - s_i),
/// dL/dx += dz w (added), dL/dw = dz^T X, dL/db = sum dz (assigned). The degree scorer passes
/// G_i to every stored entry of row i of A (s_i is its sum); random and constant pass nothing.
///
/// Shapes: x N x F (read by the linear scorer only). Cache: scores s and s' (N each), the
/// visiting order (N). Cost: O(k E) for the heuristic, O(N) for the ranking (radix sort), and
/// O(N + E) for k = 1 (sum over members of their k-hop ball for k > 1) for set and clusters;
/// O(N + E) memory, no allocation per node.
template <typename Scalar_>
class KMISSelect {
 public:
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;

  struct Cache {
    Vector<Scalar> score;    ///< s
    Vector<Scalar> updated;  ///< s' (the ranking key)
    IndexVector visit_order; ///< nodes by rank, graph after graph
  };

  /// A selector with a non-trainable scorer (throws for `linear`, which needs parameters).
  explicit KMISSelect(KMISOptions options) : m_options(options) {
    validate();
    GNNPOOL_CHECK(options.scorer != KMISScorer::linear, invalid_argument,
                  "KMISSelect: the linear scorer has parameters; use the constructor that takes a "
                  "ParameterSet, a prefix and in_features");
  }

  /// Registers `<prefix>.lin.weight` [1, in_features] and `<prefix>.lin.bias` [1, 1] when the
  /// scorer is linear (nothing otherwise).
  KMISSelect(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features, KMISOptions options)
      : m_options(options) {
    validate();
    if (options.scorer == KMISScorer::linear) m_lin.emplace(params, join_name(prefix, "lin"), in_features, 1);
  }

  const KMISOptions& options() const { return m_options; }
  /// Appends the slots this selector registered (the linear scorer's, if any).
  void parameter_slots(std::vector<Index>& out) const {
    if (m_lin) m_lin->parameter_slots(out);
  }
  /// True when the selection does not depend on x (it can be precomputed: pool/pyramid.hpp).
  bool feature_independent() const { return m_options.scorer != KMISScorer::linear; }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    constexpr std::string_view layer = "KMISSelect";
    if (m_options.check_symmetric) detail::check_symmetric_pattern(in.adj, layer);
    const Index n = in.num_nodes();
    compute_scores(params, in, cache.score);
    for (Index i = 0; i < n; ++i)
      GNNPOOL_CHECK(std::isfinite(cache.score[i]), invalid_argument, layer, ": the score of node ", i, " is ",
                    std::isnan(cache.score[i]) ? "NaN (non-finite features?)"
                                               : "infinite (a weighted degree that overflows)");
    apply_heuristic(in.adj, in.offsets, cache.score, cache.updated);
    // Ranking: descending s', ties to the lower index, graph by graph.
    detail::rank_descending(cache.updated, in.offsets, cache.visit_order);
    // Greedy k-MIS in rank order; the first member to reach a node (the lowest rank within k
    // hops) is its cluster.
    std::vector<StorageIndex> root(static_cast<std::size_t>(n), -1);
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    if (m_options.k == 1) {
      const Index* order = cache.visit_order.data();
      for (Index t = 0; t < n; ++t) {
        // The rank order jumps across the graph: request rows a few steps ahead.
        if (t + 16 < n) detail::prefetch_read(outer + order[t + 16]);
        if (t + 8 < n) {
          detail::prefetch_read(inner + outer[order[t + 8]]);
          detail::prefetch_read(root.data() + order[t + 8]);
        }
        const Index v = order[t];
        if (root[static_cast<std::size_t>(v)] >= 0) continue;
        const auto vs = static_cast<StorageIndex>(v);
        root[static_cast<std::size_t>(v)] = vs;
        for (StorageIndex p = outer[v]; p < outer[v + 1]; ++p)
          if (root[static_cast<std::size_t>(inner[p])] < 0) root[static_cast<std::size_t>(inner[p])] = vs;
      }
    } else {
      // Depth-limited BFS from each member; `seen` holds the member that last visited a node.
      std::vector<StorageIndex> seen(static_cast<std::size_t>(n), -1), frontier, next;
      for (const Index v : cache.visit_order) {
        if (root[static_cast<std::size_t>(v)] >= 0) continue;
        const auto vs = static_cast<StorageIndex>(v);
        root[static_cast<std::size_t>(v)] = vs;
        seen[static_cast<std::size_t>(v)] = vs;
        frontier.assign(1, vs);
        for (Index hop = 0; hop < m_options.k && !frontier.empty(); ++hop) {
          next.clear();
          for (const StorageIndex u : frontier)
            for (StorageIndex p = outer[u]; p < outer[u + 1]; ++p) {
              const StorageIndex w = inner[p];
              if (seen[static_cast<std::size_t>(w)] == vs) continue;
              seen[static_cast<std::size_t>(w)] = vs;
              if (root[static_cast<std::size_t>(w)] < 0) root[static_cast<std::size_t>(w)] = vs;
              next.push_back(w);
            }
          std::swap(frontier, next);
        }
      }
    }
    detail::roots_to_selection(root, in.offsets, sel);
    sel.weight = cache.score;
  }

  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Selection& /*sel*/,
                const Cache& cache, const typename Selection::Gradient& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const {
    const Index n = in.num_nodes();
    GNNPOOL_CHECK(dsel.size() == n, shape_error, "KMISSelect: the gradient of the selection has ", dsel.size(),
                  " entries but the batch has ", n, " nodes");
    if (m_options.scorer == KMISScorer::degree && din.adj_needed) {
      GNNPOOL_CHECK(din.adj.size() == in.adj.nonZeros(), shape_error, "KMISSelect: din.adj has ", din.adj.size(),
                    " entries but the adjacency stores ", in.adj.nonZeros());
      for (Index i = 0; i < n; ++i)
        for (StorageIndex p = in.adj.outerIndexPtr()[i]; p < in.adj.outerIndexPtr()[i + 1]; ++p) din.adj[p] += dsel[i];
    }
    if (!m_lin) return;
    Matrix<Scalar> dz(n, 1);
    for (Index i = 0; i < n; ++i) dz(i, 0) = dsel[i] * cache.score[i] * (Scalar(1) - cache.score[i]);
    // dX += dz w: an outer product, written row block by row block in parallel (Eigen's GEMM
    // would take one thread and an inner dimension of 1 through its packing).
    detail::product_rows(dz, params[m_lin->weight_slot()], din.x, /*add=*/true);
    m_lin->backward(params, in.x, {}, dz, nullptr, dparams);
  }

 private:
  void validate() const {
    GNNPOOL_CHECK(m_options.k >= 1, invalid_argument, "KMISSelect: k must be >= 1, got ", m_options.k);
    GNNPOOL_CHECK(m_options.k <= m_options.max_k, invalid_argument, "KMISSelect: k = ", m_options.k,
                  " is larger than max_k = ", m_options.max_k,
                  "; the heuristic computes A^k with k sparse products (O(k E)) while the k-hop balls stop "
                  "growing at the graph's diameter. Raise KMISOptions::max_k if you really mean it");
  }

  void compute_scores(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Vector<Scalar>& s) const {
    const Index n = in.num_nodes();
    switch (m_options.scorer) {
      case KMISScorer::linear: {
        Matrix<Scalar> z;
        typename Linear<Scalar>::Cache none;
        m_lin->forward(params, in.x, z, none);
        s.resize(n);
        for (Index i = 0; i < n; ++i) s[i] = Scalar(1) / (Scalar(1) + std::exp(-z(i, 0)));
        break;
      }
      case KMISScorer::random:
        s.resize(n);
        for (Index b = 0; b < in.num_graphs(); ++b) {
          std::mt19937_64 rng(m_options.seed);
          for (Index i = in.graph_begin(b); i < in.graph_begin(b + 1); ++i)
            s[i] = static_cast<Scalar>(static_cast<double>(rng() >> 11) * 0x1.0p-53);
        }
        break;
      case KMISScorer::constant: s.setOnes(n); break;
      case KMISScorer::degree:
        s.resize(n);
        for (Index i = 0; i < n; ++i) {
          Scalar d(0);
          for (StorageIndex p = in.adj.outerIndexPtr()[i]; p < in.adj.outerIndexPtr()[i + 1]; ++p) d += in.adj.valuePtr()[p];
          s[i] = d;
        }
        break;
    }
  }

  /// s' from s (see the class comment): k products with the pattern of A off the diagonal.
  ///
  /// A^k 1 grows like (degree)^k: it overflows float at k = 128 on a ring (and A^k s underflows
  /// with tiny scores), which made every key of the graph 0 (or inf) and the ranking plain index
  /// order. Whenever a graph's largest |t| leaves [2^-h, 2^h] (h = half the exponent range),
  /// that graph's t is multiplied by a power of two. This is exact, changes no ratio inside the
  /// graph (the ranking is per graph) and no bit of a graph that never leaves the range; a
  /// rescaled graph's keys s' are its true keys times one power of two.
  void apply_heuristic(const SparseMatrix<Scalar>& adj, const IndexVector& offsets, const Vector<Scalar>& s,
                       Vector<Scalar>& out) const {
    const Index n = s.size();
    if (m_options.heuristic == KMISHeuristic::plain) {
      out = s;
      return;
    }
    Vector<Scalar> t = m_options.heuristic == KMISHeuristic::greedy ? Vector<Scalar>::Ones(n) : s;
    Vector<Scalar> u(n);
    const StorageIndex* outer = adj.outerIndexPtr();
    const StorageIndex* inner = adj.innerIndexPtr();
    for (Index hop = 0; hop < m_options.k; ++hop) {
      for (Index i = 0; i < n; ++i) {
        Scalar acc = m_options.heuristic_self_loops ? t[i] : Scalar(0);
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
          if (inner[p] != i) acc += t[inner[p]];
        u[i] = acc;
      }
      t.swap(u);
      keep_in_range(t, offsets);
    }
    out.resize(n);
    for (Index i = 0; i < n; ++i) out[i] = t[i] == Scalar(0) ? numeric<Scalar>::infinity() : s[i] / t[i];
  }

  /// Multiplies the rows of each graph of t by a power of two when their largest magnitude
  /// leaves [2^-h, 2^h] (see apply_heuristic). O(N).
  static void keep_in_range(Vector<Scalar>& t, const IndexVector& offsets) {
    constexpr int h = std::numeric_limits<Scalar>::max_exponent / 2;
    const Scalar high = std::ldexp(Scalar(1), h), low = std::ldexp(Scalar(1), -h);
    for (std::size_t b = 0; b + 1 < offsets.size(); ++b) {
      auto tb = t.segment(offsets[b], offsets[b + 1] - offsets[b]);
      if (tb.size() == 0) continue;
      const Scalar m = tb.cwiseAbs().maxCoeff();
      if (!(m > high || (m > Scalar(0) && m < low))) continue;
      int e = 0;
      (void)std::frexp(m, &e);
      for (Index i = 0; i < tb.size(); ++i) tb[i] = std::ldexp(tb[i], -e);
    }
  }

  KMISOptions m_options;
  std::optional<Linear<Scalar>> m_lin;
};

}  // namespace gnnpool

#endif
