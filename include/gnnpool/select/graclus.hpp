#ifndef GNNPOOL_SELECT_GRACLUS_HPP
#define GNNPOOL_SELECT_GRACLUS_HPP

/// \file
/// `GraclusSelect`: greedy heavy-edge matching (Graclus, Dhillon et al. 2007) as PyTorch
/// Geometric's CPU kernel computes it, with an explicit or seeded visiting order.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/prefetch.hpp>
#include <gnnpool/detail/symmetry.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gnnpool {

/// Which weight the matching maximises.
enum class GraclusWeighting {
  /// PyG `graclus(edge_index)`: u is matched with its first unmatched neighbour in index order;
  /// the stored values are ignored.
  unweighted,
  /// PyG `graclus(edge_index, weight)`: u is matched with the unmatched neighbour of largest
  /// stored value a_uv (ties to the last in index order; 0 may win, a negative value never).
  edge_weight,
  /// a_uv (1/d_u + 1/d_v) with d the weighted degree (row sums): the normalised-cut rule of the
  /// Graclus paper and of the SRC / cnn_graph code.
  normalized_cut,
  /// a_uv (1/d_u + 1/d_v) with d the number of stored entries of the row: PyG's
  /// `normalized_cut(edge_index, edge_attr)` utility passed to `graclus` (its examples).
  normalized_cut_pyg,
};

/// How the visiting order is made when none is given explicitly.
enum class GraclusOrder {
  random,  ///< a permutation of each graph drawn from the seed (PyG draws `randperm(N)`)
  index,   ///< nodes in index order
  degree,  ///< ascending number of stored entries, ties by index (the SRC code's later levels)
};

/// "unweighted", "edge_weight" (or "weighted"), "normalized_cut", "normalized_cut_pyg".
inline GraclusWeighting parse_graclus_weighting(std::string_view name) {
  if (name == "unweighted") return GraclusWeighting::unweighted;
  if (name == "edge_weight" || name == "weighted") return GraclusWeighting::edge_weight;
  if (name == "normalized_cut") return GraclusWeighting::normalized_cut;
  if (name == "normalized_cut_pyg") return GraclusWeighting::normalized_cut_pyg;
  detail::raise<invalid_argument>(detail::concat(
      "GraclusSelect: unknown weighting '", name,
      "' (expected unweighted, edge_weight, normalized_cut or normalized_cut_pyg)"));
}

/// "random", "index", "degree".
inline GraclusOrder parse_graclus_order(std::string_view name) {
  if (name == "random") return GraclusOrder::random;
  if (name == "index") return GraclusOrder::index;
  if (name == "degree") return GraclusOrder::degree;
  detail::raise<invalid_argument>(detail::concat("GraclusSelect: unknown visiting order '", name,
                                                 "' (expected random, index or degree)"));
}

struct GraclusOptions {
  GraclusWeighting weighting = GraclusWeighting::unweighted;
  GraclusOrder order = GraclusOrder::random;
  /// Seed of the `random` order. Graph b's permutation depends on the seed and on its size
  /// only, so a graph gets the same matching alone and inside any batch.
  std::uint64_t seed = 0;
  /// Explicit visiting order over the whole batch (a permutation of 0 .. N-1, e.g. the
  /// `randperm(N)` PyG drew); when non-empty it replaces `order`. Graphs are disjoint, so only
  /// the relative order of each graph's nodes matters.
  IndexVector visit_order{};
  /// Check that the adjacency is structurally symmetric (an undirected graph; the values of
  /// A(i, j) and A(j, i) may differ, each endpoint then ranks its row by its own). O(N + E).
  bool check_symmetric = true;
};

namespace detail {

/// Deterministic uniform integer in [0, bound) from a 64-bit engine (rejection sampling, so the
/// result is the same on every standard library, unlike std::uniform_int_distribution).
inline std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t limit = ~std::uint64_t(0) - (~std::uint64_t(0) % bound);
  std::uint64_t r;
  do r = rng(); while (r >= limit);
  return r % bound;
}

/// Fisher-Yates shuffle of first .. first+n-1 into order[0 .. n) from a generator seeded with
/// `seed`: the same on every platform.
inline void seeded_permutation(std::uint64_t seed, Index first, Index n, Index* order) {
  std::mt19937_64 rng(seed);
  for (Index i = 0; i < n; ++i) order[i] = first + i;
  for (Index i = n - 1; i > 0; --i) {
    const auto j = static_cast<Index>(uniform_below(rng, static_cast<std::uint64_t>(i) + 1));
    std::swap(order[i], order[j]);
  }
}

/// Checks that `order` is a permutation of 0 .. n-1. O(n).
inline void check_permutation(const IndexVector& order, Index n, std::string_view layer,
                              std::string_view what) {
  GNNPOOL_CHECK(static_cast<Index>(order.size()) == n, shape_error, layer, ": ", what, " has ",
                order.size(), " entries but the batch has ", n, " nodes");
  std::vector<unsigned char> seen(static_cast<std::size_t>(n), 0);
  for (std::size_t k = 0; k < order.size(); ++k) {
    const Index v = order[k];
    GNNPOOL_CHECK(v >= 0 && v < n, invalid_argument, layer, ": ", what, "[", k, "] = ", v,
                  " is out of range for ", n, " nodes");
    GNNPOOL_CHECK(!seen[static_cast<std::size_t>(v)], invalid_argument, layer, ": ", what,
                  " is not a permutation: node ", v, " appears twice (again at position ", k, ")");
    seen[static_cast<std::size_t>(v)] = 1;
  }
}

/// Checks that every stored entry A(i, j) has a stored mirror A(j, i) (values may differ):
/// the graph must be undirected for matchings and hop distances.
///
/// `mirrored_fingerprint` first (one sequential pass); a failed fingerprint falls through to the
/// exact check (a cursor per row; rows have sorted columns, so the mirrors of row j are met in
/// column order), which names the first entry without a mirror. O(N + E).
template <typename Scalar>
void check_symmetric_pattern(const SparseMatrix<Scalar>& adj, std::string_view layer) {
  if (mirrored_fingerprint(adj, false)) return;
  const Index n = adj.rows();
  const StorageIndex* outer = adj.outerIndexPtr();
  const StorageIndex* inner = adj.innerIndexPtr();
  std::vector<StorageIndex> cursor(outer, outer + n);
  auto fail = [&](Index i, Index j) {
    detail::raise<invalid_argument>(detail::concat(
        layer, ": the adjacency must be symmetric (an undirected graph), but A(", i, ", ", j,
        ") is stored and A(", j, ", ", i, ") is not"));
  };
  for (Index i = 0; i < n; ++i)
    for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
      const StorageIndex j = inner[p];
      StorageIndex& q = cursor[static_cast<std::size_t>(j)];
      if (q < outer[j + 1] && inner[q] == i) {
        ++q;
        continue;
      }
      // Row j skips i, or holds an earlier column whose row never pointed back to j.
      if (q < outer[j + 1] && inner[q] < i) fail(j, inner[q]);
      fail(i, j);
    }
  for (Index j = 0; j < n; ++j)
    if (cursor[static_cast<std::size_t>(j)] < outer[j + 1]) fail(j, inner[cursor[static_cast<std::size_t>(j)]]);
}

/// Turns a root label per node (`root[i]` = the node that names i's cluster, `root[r] == r` for
/// every root) into a hard selection: clusters numbered by ascending root (PyG's
/// `consecutive_cluster`), which is graph-major because roots lie in their own graph. O(N + B).
template <typename Scalar>
void roots_to_selection(const std::vector<StorageIndex>& root, const IndexVector& offsets,
                        HardSelection<Scalar>& sel) {
  const Index n = static_cast<Index>(root.size());
  std::vector<StorageIndex> id(static_cast<std::size_t>(n));
  sel.representative.clear();
  sel.offsets.assign(1, 0);
  std::size_t g = 1;
  for (Index i = 0; i < n; ++i) {
    while (g < offsets.size() && offsets[g] <= i) {
      sel.offsets.push_back(static_cast<Index>(sel.representative.size()));
      ++g;
    }
    if (root[static_cast<std::size_t>(i)] == i) {
      id[static_cast<std::size_t>(i)] = static_cast<StorageIndex>(sel.representative.size());
      sel.representative.push_back(i);
    }
  }
  while (sel.offsets.size() < offsets.size()) sel.offsets.push_back(static_cast<Index>(sel.representative.size()));
  sel.assignment.resize(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i)
    sel.assignment[static_cast<std::size_t>(i)] = id[static_cast<std::size_t>(root[static_cast<std::size_t>(i)])];
  sel.weight.setOnes(n);
}

}  // namespace detail

/// Graclus matching: each node is paired with at most one neighbour; pairs and unmatched nodes
/// are the clusters.
///
/// Forward (PyG 2.8 `graclus()`, torch_cluster / pyg-lib CPU kernel): visit the nodes in the
/// visiting order; skip a node already matched. Otherwise
/// - `unweighted`: u takes the first unmatched neighbour in index order (u is marked first, so
///   a self loop has no effect);
/// - weighted modes: u takes the unmatched neighbour v of largest weight w_uv, scanning in index
///   order with `w >= w_max`, w_max starting at 0 and the candidate at u itself, so ties go to the
///   last, a zero weight can win and a negative one never does, and a self loop (u is still
///   unmatched while its row is scanned) of weight >= the best makes u a singleton.
/// A node with no candidate stays a singleton. The cluster of a pair is named by min(u, v); the
/// clusters are then numbered by ascending name (PyG's `consecutive_cluster`), so
/// `representative[c]` is the smaller node of the pair, `weight` is all ones and the supernodes
/// are graph-major.
///
/// Backward: the matching is piecewise constant in x and in the edge weights, so select passes
/// no gradient (features get theirs through the reduce step, edge weights through connect).
///
/// Shapes: any N x F batch (x is not read). Cache: the visiting order used (N entries).
/// Cost: O(N + E) time, O(N) memory; one sequential pass, as the CPU kernel.
template <typename Scalar_>
class GraclusSelect {
 public:
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;

  struct Cache {
    IndexVector visit_order;
  };

  explicit GraclusSelect(GraclusOptions options = {}) : m_options(std::move(options)) {
    if (!m_options.visit_order.empty())
      detail::check_permutation(m_options.visit_order, static_cast<Index>(m_options.visit_order.size()),
                                "GraclusSelect", "visit_order");
  }

  const GraclusOptions& options() const { return m_options; }
  /// The matching reads the adjacency only (it can be precomputed: pool/pyramid.hpp).
  bool feature_independent() const { return true; }

  /// The order `forward` visits the nodes of `in` in (explicit, or made from the options).
  IndexVector visit_order(const BatchRef<Scalar>& in) const {
    const Index n = in.num_nodes();
    if (!m_options.visit_order.empty()) {
      detail::check_permutation(m_options.visit_order, n, "GraclusSelect", "visit_order");
      return m_options.visit_order;
    }
    IndexVector order(static_cast<std::size_t>(n));
    for (Index b = 0; b < in.num_graphs(); ++b) {
      const Index first = in.graph_begin(b), size = in.graph_size(b);
      Index* out = order.data() + first;
      switch (m_options.order) {
        case GraclusOrder::random: detail::seeded_permutation(m_options.seed, first, size, out); break;
        case GraclusOrder::index:
          for (Index i = 0; i < size; ++i) out[i] = first + i;
          break;
        case GraclusOrder::degree: {
          for (Index i = 0; i < size; ++i) out[i] = first + i;
          const StorageIndex* outer = in.adj.outerIndexPtr();
          std::stable_sort(out, out + size, [outer](Index u, Index v) {
            return outer[u + 1] - outer[u] < outer[v + 1] - outer[v];
          });
          break;
        }
      }
    }
    return order;
  }

  /// No parameters.
  void parameter_slots(std::vector<Index>& /*out*/) const {}

  void forward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, Selection& sel,
               Cache& cache) const {
    if (m_options.check_symmetric) detail::check_symmetric_pattern(in.adj, "GraclusSelect");
    cache.visit_order = visit_order(in);
    const Index n = in.num_nodes();
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar* val = in.adj.valuePtr();
    // root[i]: the node naming i's cluster, -1 while unmatched.
    std::vector<StorageIndex> root(static_cast<std::size_t>(n), -1);
    // The visiting order jumps across the graph: request the row pointers, then the rows and
    // their match state, of nodes a few steps ahead.
    const Index* order = cache.visit_order.data();
    auto prefetch_ahead = [&](Index t) {
      if (t + 16 < n) detail::prefetch_read(outer + order[t + 16]);
      if (t + 8 < n) {
        detail::prefetch_read(inner + outer[order[t + 8]]);
        detail::prefetch_read(root.data() + order[t + 8]);
      }
    };
    if (m_options.weighting == GraclusWeighting::unweighted) {
      for (Index t = 0; t < n; ++t) {
        prefetch_ahead(t);
        const Index u = order[t];
        if (root[static_cast<std::size_t>(u)] >= 0) continue;
        root[static_cast<std::size_t>(u)] = static_cast<StorageIndex>(u);
        for (StorageIndex p = outer[u]; p < outer[u + 1]; ++p) {
          const StorageIndex v = inner[p];
          if (root[static_cast<std::size_t>(v)] >= 0) continue;
          const StorageIndex m = std::min(static_cast<StorageIndex>(u), v);
          root[static_cast<std::size_t>(u)] = m;
          root[static_cast<std::size_t>(v)] = m;
          break;
        }
      }
    } else {
      // inv_degree: 1/d for the normalised-cut modes (d > 0 wherever an edge is scanned).
      std::vector<Scalar> inv_degree;
      if (m_options.weighting != GraclusWeighting::edge_weight) {
        inv_degree.resize(static_cast<std::size_t>(n));
        for (Index i = 0; i < n; ++i) {
          Scalar d(0);
          if (m_options.weighting == GraclusWeighting::normalized_cut)
            for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) d += val[p];
          else
            d = static_cast<Scalar>(outer[i + 1] - outer[i]);
          inv_degree[static_cast<std::size_t>(i)] = Scalar(1) / d;
        }
      }
      for (Index t = 0; t < n; ++t) {
        prefetch_ahead(t);
        const Index u = order[t];
        if (root[static_cast<std::size_t>(u)] >= 0) continue;
        StorageIndex best = static_cast<StorageIndex>(u);
        Scalar w_max(0);
        for (StorageIndex p = outer[u]; p < outer[u + 1]; ++p) {
          const StorageIndex v = inner[p];
          if (root[static_cast<std::size_t>(v)] >= 0) continue;
          const Scalar w = inv_degree.empty()
                               ? val[p]
                               : val[p] * (inv_degree[static_cast<std::size_t>(u)] +
                                           inv_degree[static_cast<std::size_t>(v)]);
          if (w >= w_max) {
            best = v;
            w_max = w;
          }
        }
        const StorageIndex m = std::min(static_cast<StorageIndex>(u), best);
        root[static_cast<std::size_t>(u)] = m;
        root[static_cast<std::size_t>(best)] = m;
      }
    }
    detail::roots_to_selection(root, in.offsets, sel);
  }

  void backward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& /*in*/,
                const Selection& /*sel*/, const Cache& /*cache*/,
                const typename Selection::Gradient& /*dsel*/, BatchGrad<Scalar>& /*din*/,
                ParameterSet<Scalar>& /*dparams*/) const {}

 private:
  GraclusOptions m_options;
};

}  // namespace gnnpool

#endif
