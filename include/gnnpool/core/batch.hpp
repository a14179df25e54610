#ifndef GNNPOOL_CORE_BATCH_HPP
#define GNNPOOL_CORE_BATCH_HPP

/// \file
/// `Batch`: the one graph type of gnnpool, its non-owning view `BatchRef`, builders and checks.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool {

/// A batch of B graphs stored as their disjoint union, with no padding.
///
/// - `x`: N x F node features, one row per node, graphs stacked in order.
/// - `adj`: N x N CSR adjacency, block-diagonal. Convention (PyG's `adj_t`): `adj(i, j)` is the
///   weight of the edge j -> i, so `adj * x` sums the messages each node receives. For the
///   symmetric graphs most poolers take, the direction does not matter.
/// - `offsets`: B + 1 non-decreasing entries, `offsets[0] == 0`, `offsets[B] == N`; graph b owns
///   rows `offsets[b] .. offsets[b+1]`. A graph may have zero nodes. One graph is a batch of one.
///
/// `x` is a plain member: a GNN replaces it layer after layer (`batch.x = std::move(h)`) without
/// touching `adj`.
template <typename Scalar_>
struct Batch {
  using Scalar = Scalar_;

  Matrix<Scalar> x;
  SparseMatrix<Scalar> adj;
  IndexVector offsets{0};

  Index num_graphs() const { return static_cast<Index>(offsets.size()) - 1; }
  Index num_nodes() const { return adj.rows(); }
  Index num_features() const { return x.cols(); }
  Index num_edges() const { return adj.nonZeros(); }
  Index graph_size(Index b) const { return offsets[static_cast<std::size_t>(b + 1)] - offsets[static_cast<std::size_t>(b)]; }
  Index graph_begin(Index b) const { return offsets[static_cast<std::size_t>(b)]; }

  /// PyG's `batch` vector: the graph of every node.
  IndexVector graph_index() const;
};

/// A batch seen without owning it: the same members and accessors as `Batch`, but `x` is a
/// read-only reference to any contiguous row-major matrix and `adj` / `offsets` are references.
///
/// Every layer that reads a batch (poolers, readouts, graph convolutions) takes a `BatchRef`, so
/// a model can hand a layer features from one place and a graph from another (the output of a
/// convolution with the adjacency of the batch it ran on) without copying either. A `Batch`
/// converts to it implicitly. A `BatchRef` must not outlive what it refers to.
template <typename Scalar_>
struct BatchRef {
  using Scalar = Scalar_;

  ConstMatrixRef<Scalar> x;
  const SparseMatrix<Scalar>& adj;
  const IndexVector& offsets;

  BatchRef(const Batch<Scalar>& batch)  // NOLINT(google-explicit-constructor): a view of a Batch
      : x(batch.x), adj(batch.adj), offsets(batch.offsets) {}
  BatchRef(const ConstMatrixRef<Scalar>& features, const SparseMatrix<Scalar>& adjacency, const IndexVector& graph_offsets)
      : x(features), adj(adjacency), offsets(graph_offsets) {}
  /// The same graph with other features (the output of a layer on this batch).
  BatchRef(const ConstMatrixRef<Scalar>& features, const BatchRef& graph)
      : x(features), adj(graph.adj), offsets(graph.offsets) {}
  BatchRef(const BatchRef&) = default;
  BatchRef& operator=(const BatchRef&) = delete;

  Index num_graphs() const { return static_cast<Index>(offsets.size()) - 1; }
  Index num_nodes() const { return adj.rows(); }
  Index num_features() const { return x.cols(); }
  Index num_edges() const { return adj.nonZeros(); }
  Index graph_size(Index b) const { return offsets[static_cast<std::size_t>(b + 1)] - offsets[static_cast<std::size_t>(b)]; }
  Index graph_begin(Index b) const { return offsets[static_cast<std::size_t>(b)]; }

  /// PyG's `batch` vector: the graph of every node.
  IndexVector graph_index() const {
    IndexVector g(static_cast<std::size_t>(num_nodes()));
    for (Index b = 0; b < num_graphs(); ++b)
      std::fill(g.begin() + graph_begin(b), g.begin() + graph_begin(b + 1), b);
    return g;
  }
};

/// Gradient with respect to a batch: `x` has the shape of `Batch::x`; `adj` holds one entry per
/// stored entry of `Batch::adj`, in CSR order (`adj.valuePtr()`): the gradient on the structural
/// non-zeros, never on absent edges.
///
/// `adj_needed = false` tells a pooler's backward that the caller needs no dL/dA (the adjacency
/// is data, as it always is in PyG and tgp, which never differentiate it): the policies then skip
/// that work (a GCN scorer's edge products, S^T A S's O(E K) edge dots, the losses' edge terms)
/// and `adj` is returned sized and all zero. The model layer sets it from whether the input
/// graph requires a gradient, so a gradient that a loss depends on is never skipped.
template <typename Scalar>
struct BatchGrad {
  Matrix<Scalar> x;
  Vector<Scalar> adj;
  bool adj_needed = true;
};

template <typename Scalar>
IndexVector Batch<Scalar>::graph_index() const {
  return BatchRef<Scalar>(*this).graph_index();
}

/// Where a graph layer writes dL/d(its input batch): `x` (N x F) and `adj` (one entry per stored
/// entry of the input adjacency, CSR order). A non-null target is ASSIGNED. A null target means
/// that the caller needs no such gradient and the layer skips that work; the model layer
/// (model/tape.hpp) passes null exactly for the values that depend on no parameter and on no
/// input marked as requiring a gradient, so no gradient a loss depends on is ever dropped.
template <typename Scalar>
struct BatchGradRef {
  Matrix<Scalar>* x = nullptr;
  Vector<Scalar>* adj = nullptr;
};

/// How `make_graph` reads an edge list.
struct EdgeListOptions {
  bool symmetrize = true;        ///< also add j -> i for every listed i -> j
  bool keep_self_loops = true;   ///< false drops every (i, i)
  bool allow_negative_weights = false;
};

using EdgeList = std::vector<std::pair<Index, Index>>;

namespace detail {

/// Builds an n x n CSR matrix from coordinate lists in O(n + E log d). Entries listed more than
/// once are summed (PyG `coalesce`); with `binary` every stored value is 1 instead.
template <typename Scalar>
SparseMatrix<Scalar> build_csr(Index n, std::span<const Index> rows, std::span<const Index> cols,
                               std::span<const Scalar> values, bool binary) {
  const std::size_t m = rows.size();
  GNNPOOL_CHECK(m <= static_cast<std::size_t>(std::numeric_limits<StorageIndex>::max()),
                invalid_argument, "gnnpool: ", m, " edges exceed the 32-bit storage index");
  std::vector<StorageIndex> count(static_cast<std::size_t>(n) + 1, 0);
  for (std::size_t e = 0; e < m; ++e) ++count[static_cast<std::size_t>(rows[e]) + 1];
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) count[i + 1] += count[i];
  std::vector<std::pair<StorageIndex, Scalar>> entries(m);
  {
    std::vector<StorageIndex> next(count.begin(), count.end() - 1);
    for (std::size_t e = 0; e < m; ++e) {
      const Scalar v = binary || values.empty() ? Scalar(1) : values[e];
      entries[static_cast<std::size_t>(next[static_cast<std::size_t>(rows[e])]++)] = {static_cast<StorageIndex>(cols[e]), v};
    }
  }
  SparseMatrix<Scalar> a(n, n);
  a.resizeNonZeros(static_cast<Index>(m));
  StorageIndex* outer = a.outerIndexPtr();
  StorageIndex* inner = a.innerIndexPtr();
  Scalar* val = a.valuePtr();
  StorageIndex nnz = 0;
  outer[0] = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
    auto first = entries.begin() + count[i];
    auto last = entries.begin() + count[i + 1];
    std::sort(first, last, [](const auto& p, const auto& q) { return p.first < q.first; });
    for (auto it = first; it != last; ++it) {
      if (nnz > outer[i] && inner[nnz - 1] == it->first) {
        if (!binary) val[nnz - 1] += it->second;
      } else {
        inner[nnz] = it->first;
        val[nnz] = it->second;
        ++nnz;
      }
    }
    outer[i + 1] = nnz;
  }
  a.data().resize(nnz);
  return a;
}

}  // namespace detail

/// Checks the invariants of `Batch` for a public entry point of `layer`: offsets well formed and
/// ending at N, `x` with N rows, `adj` N x N, compressed, block-diagonal and finite. O(N + E).
/// Throws `shape_error` or `invalid_argument` with a sentence that names `layer` and the sizes.
template <typename Scalar>
void check_batch(const BatchRef<Scalar>& batch, std::string_view layer) {
  const Index n = batch.adj.rows();
  GNNPOOL_CHECK(batch.offsets.size() >= 2, invalid_argument, layer,
                ": the batch is empty (offsets has ", batch.offsets.size(),
                " entries; a batch of B graphs needs B + 1 >= 2)");
  GNNPOOL_CHECK(batch.adj.cols() == n, shape_error, layer, ": adjacency must be square, got ",
                detail::shape(batch.adj.rows(), batch.adj.cols()));
  GNNPOOL_CHECK(batch.x.rows() == n, shape_error, layer, ": x has ", batch.x.rows(),
                " rows but the adjacency is ", detail::shape(n, n));
  GNNPOOL_CHECK(batch.offsets.front() == 0, invalid_argument, layer,
                ": offsets must start at 0, got ", batch.offsets.front());
  for (std::size_t b = 1; b < batch.offsets.size(); ++b)
    GNNPOOL_CHECK(batch.offsets[b] >= batch.offsets[b - 1], invalid_argument, layer,
                  ": offsets must be non-decreasing, but offsets[", b, "] = ", batch.offsets[b],
                  " < offsets[", b - 1, "] = ", batch.offsets[b - 1]);
  GNNPOOL_CHECK(batch.offsets.back() == n, shape_error, layer, ": offsets end at ",
                batch.offsets.back(), " but the batch has ", n, " nodes");
  GNNPOOL_CHECK(batch.adj.isCompressed(), invalid_argument, layer,
                ": adjacency must be compressed (call makeCompressed())");
  const StorageIndex* outer = batch.adj.outerIndexPtr();
  const StorageIndex* inner = batch.adj.innerIndexPtr();
  const Scalar* val = batch.adj.valuePtr();
  // Rows in parallel, each chunk flagging a bad entry; the error is then raised by a serial scan
  // from the first flagged chunk, for the first bad entry: the same message for any number of
  // threads.
  const auto graph_of = [&](Index i) {
    return static_cast<std::size_t>(std::upper_bound(batch.offsets.begin(), batch.offsets.end(), i) -
                                    batch.offsets.begin() - 1);
  };
  detail::parallel_rows_checked(n, [&](Index lo, Index hi) {
    std::size_t g = graph_of(lo);
    const StorageIndex e_lo = outer[lo], e_hi = outer[hi];
    // Flat, branch-free passes that the compiler vectorises (`all_finite`, then a min / max).
    bool ok = detail::all_finite(val + e_lo, Index(e_hi - e_lo));
    if (batch.offsets[g + 1] >= hi) {  // the chunk lies in one graph: one range for every column
      StorageIndex lowest = std::numeric_limits<StorageIndex>::max(), highest = -1;
      for (StorageIndex p = e_lo; p < e_hi; ++p) {  // (no std::min call: debug builds run this too)
        lowest = inner[p] < lowest ? inner[p] : lowest;
        highest = inner[p] > highest ? inner[p] : highest;
      }
      ok &= e_lo == e_hi || (lowest >= batch.offsets[g] && highest < batch.offsets[g + 1]);
    } else {
      for (Index i = lo; i < hi; ++i) {
        while (batch.offsets[g + 1] <= i) ++g;
        const Index first = batch.offsets[g], last = batch.offsets[g + 1];
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) ok &= (inner[p] >= first) & (inner[p] < last);
      }
    }
    return ok;
  }, [&](Index from) {
    std::size_t g = graph_of(from);
    for (Index i = from; i < n; ++i) {
      while (batch.offsets[g + 1] <= i) ++g;
      const Index lo = batch.offsets[g], hi = batch.offsets[g + 1];
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
        GNNPOOL_CHECK(inner[p] >= lo && inner[p] < hi, invalid_argument, layer, ": edge (", i, ", ",
                      inner[p], ") joins graph ", g, " (nodes ", lo, "..", hi - 1,
                      ") to another graph; the adjacency must be block-diagonal");
        GNNPOOL_CHECK(std::isfinite(val[p]), invalid_argument, layer, ": edge (", i, ", ", inner[p],
                      ") has the non-finite weight ", val[p]);
      }
    }
  }, 4 * detail::row_grain);
}

template <typename Scalar>
void check_batch(const Batch<Scalar>& batch, std::string_view layer) {
  check_batch(BatchRef<Scalar>(batch), layer);
}

/// Checks that `batch.x` has `features` columns.
template <typename Scalar>
void check_features(const BatchRef<Scalar>& batch, Index features, std::string_view layer) {
  GNNPOOL_CHECK(batch.x.cols() == features, shape_error, layer, ": x is ",
                detail::shape(batch.x.rows(), batch.x.cols()), " but the layer expects ", features,
                " features");
}
template <typename Scalar>
void check_features(const Batch<Scalar>& batch, Index features, std::string_view layer) {
  check_features(BatchRef<Scalar>(batch), features, layer);
}

/// Checks that the adjacency is symmetric (values included, exactly). O(E log d).
template <typename Scalar>
void check_symmetric(const SparseMatrix<Scalar>& adj, std::string_view layer) {
  for (Index i = 0; i < adj.outerSize(); ++i)
    for (typename SparseMatrix<Scalar>::InnerIterator it(adj, i); it; ++it) {
      const Index j = it.col();
      const StorageIndex* first = adj.innerIndexPtr() + adj.outerIndexPtr()[j];
      const StorageIndex* last = adj.innerIndexPtr() + adj.outerIndexPtr()[j + 1];
      const StorageIndex* pos = std::lower_bound(first, last, static_cast<StorageIndex>(i));
      const bool ok = pos != last && *pos == i &&
                      adj.valuePtr()[pos - adj.innerIndexPtr()] == it.value();
      GNNPOOL_CHECK(ok, invalid_argument, layer, ": the adjacency must be symmetric, but A(", i,
                    ", ", j, ") = ", it.value(), " and A(", j, ", ", i, ") ",
                    (pos != last && *pos == i) ? "differs" : "is absent");
    }
}

/// Checks that no stored edge weight is negative (Laplacian-based poolers need A >= 0). O(E).
template <typename Scalar>
void check_nonnegative(const SparseMatrix<Scalar>& adj, std::string_view layer) {
  for (Index i = 0; i < adj.outerSize(); ++i)
    for (typename SparseMatrix<Scalar>::InnerIterator it(adj, i); it; ++it)
      GNNPOOL_CHECK(it.value() >= Scalar(0), invalid_argument, layer, ": edge (", i, ", ", it.col(),
                    ") has the negative weight ", it.value(), "; the Laplacian needs weights >= 0");
}

/// Checks a node index list against the number of nodes.
inline void check_node_index(Index value, Index n, std::string_view layer, std::string_view what) {
  GNNPOOL_CHECK(value >= 0 && value < n, invalid_argument, layer, ": ", what, " ", value,
                " is out of range for ", n, " nodes");
}

/// One graph from an edge list. Without `weights` every edge has weight 1 (an edge listed twice
/// is still 1); with `weights` (one per listed edge) duplicates are summed, as PyG's `coalesce`,
/// so with `symmetrize` an edge listed in both directions gets twice its weight, as PyG's
/// `to_undirected`. Throws on an index out of range or a non-finite (or, unless allowed,
/// negative) weight.
template <typename Scalar>
Batch<Scalar> make_graph(Matrix<Scalar> x, const EdgeList& edges, std::span<const Scalar> weights = {},
                         const EdgeListOptions& options = {}) {
  constexpr std::string_view layer = "make_graph";
  const Index n = x.rows();
  GNNPOOL_CHECK(weights.empty() || weights.size() == edges.size(), shape_error, layer, ": ",
                weights.size(), " weights given for ", edges.size(), " edges");
  std::vector<Index> rows, cols;
  std::vector<Scalar> vals;
  const std::size_t reserve = edges.size() * (options.symmetrize ? 2 : 1);
  rows.reserve(reserve);
  cols.reserve(reserve);
  if (!weights.empty()) vals.reserve(reserve);
  for (std::size_t e = 0; e < edges.size(); ++e) {
    const auto [u, v] = edges[e];
    check_node_index(u, n, layer, "edge source");
    check_node_index(v, n, layer, "edge target");
    if (!weights.empty()) {
      GNNPOOL_CHECK(std::isfinite(weights[e]), invalid_argument, layer, ": edge ", e, " (", u, ", ",
                    v, ") has the non-finite weight ", weights[e]);
      GNNPOOL_CHECK(options.allow_negative_weights || weights[e] >= Scalar(0), invalid_argument,
                    layer, ": edge ", e, " (", u, ", ", v, ") has the negative weight ", weights[e],
                    " (set allow_negative_weights to accept it)");
    }
    if (u == v && !options.keep_self_loops) continue;
    rows.push_back(v);  // adj(target, source)
    cols.push_back(u);
    if (!weights.empty()) vals.push_back(weights[e]);
    if (options.symmetrize && u != v) {
      rows.push_back(u);
      cols.push_back(v);
      if (!weights.empty()) vals.push_back(weights[e]);
    }
  }
  Batch<Scalar> g;
  g.adj = detail::build_csr<Scalar>(n, rows, cols, vals, weights.empty());
  g.x = std::move(x);
  g.offsets = {0, n};
  return g;
}

/// The disjoint union of `graphs` (each may itself be a batch): x stacked, adj block-diagonal.
template <typename Scalar>
Batch<Scalar> concatenate(std::span<const Batch<Scalar>> graphs) {
  constexpr std::string_view layer = "concatenate";
  GNNPOOL_CHECK(!graphs.empty(), invalid_argument, layer, ": no graphs given");
  Index n = 0, nnz = 0;
  const Index f = graphs.front().x.cols();
  for (const auto& g : graphs) {
    check_batch(g, layer);
    GNNPOOL_CHECK(g.x.cols() == f, shape_error, layer, ": graphs have ", f, " and ", g.x.cols(),
                  " features");
    n += g.num_nodes();
    nnz += g.num_edges();
  }
  Batch<Scalar> out;
  out.x.resize(n, f);
  out.adj.resize(n, n);
  out.adj.resizeNonZeros(nnz);
  out.offsets.assign(1, 0);
  Index row = 0, pos = 0;
  out.adj.outerIndexPtr()[0] = 0;
  for (const auto& g : graphs) {
    out.x.middleRows(row, g.num_nodes()) = g.x;
    for (Index i = 0; i < g.num_nodes(); ++i) {
      for (StorageIndex p = g.adj.outerIndexPtr()[i]; p < g.adj.outerIndexPtr()[i + 1]; ++p, ++pos) {
        out.adj.innerIndexPtr()[pos] = static_cast<StorageIndex>(g.adj.innerIndexPtr()[p] + row);
        out.adj.valuePtr()[pos] = g.adj.valuePtr()[p];
      }
      out.adj.outerIndexPtr()[row + i + 1] = static_cast<StorageIndex>(pos);
    }
    for (std::size_t b = 1; b < g.offsets.size(); ++b) out.offsets.push_back(g.offsets[b] + row);
    row += g.num_nodes();
  }
  return out;
}

/// The graphs `ids` of `all` (in that order; a graph may repeat) as one batch: a mini-batch
/// cut out of a dataset. O(nodes + edges of the result).
template <typename Scalar>
Batch<Scalar> select_graphs(const Batch<Scalar>& all, std::span<const Index> ids) {
  Index n = 0, nnz = 0;
  for (const Index g : ids) {
    GNNPOOL_CHECK(g >= 0 && g < all.num_graphs(), invalid_argument, "select_graphs: graph ", g,
                  " is out of range for a batch of ", all.num_graphs(), " graphs");
    n += all.graph_size(g);
    nnz += all.adj.outerIndexPtr()[all.graph_begin(g + 1)] - all.adj.outerIndexPtr()[all.graph_begin(g)];
  }
  Batch<Scalar> out;
  out.x.resize(n, all.x.cols());
  out.adj.resize(n, n);
  out.adj.resizeNonZeros(nnz);
  out.offsets.assign(1, 0);
  StorageIndex* outer = out.adj.outerIndexPtr();
  outer[0] = 0;
  Index row = 0, pos = 0;
  for (const Index g : ids) {
    const Index begin = all.graph_begin(g), size = all.graph_size(g);
    out.x.middleRows(row, size) = all.x.middleRows(begin, size);
    for (Index i = 0; i < size; ++i) {
      for (StorageIndex p = all.adj.outerIndexPtr()[begin + i]; p < all.adj.outerIndexPtr()[begin + i + 1]; ++p, ++pos) {
        out.adj.innerIndexPtr()[pos] = static_cast<StorageIndex>(all.adj.innerIndexPtr()[p] - begin + row);
        out.adj.valuePtr()[pos] = all.adj.valuePtr()[p];
      }
      outer[row + i + 1] = static_cast<StorageIndex>(pos);
    }
    row += size;
    out.offsets.push_back(row);
  }
  return out;
}

/// A batch from PyG's tensors: `edge_index` is 2 x E row-major (sources, then targets; both
/// directions listed for undirected graphs, kept as given), `graph` is PyG's sorted `batch`
/// vector (empty: one graph), `edge_weight` optional. Duplicate entries are summed. The number
/// of graphs is `max(graph) + 1`; a graph id with no node is an empty graph.
template <typename Scalar>
Batch<Scalar> from_edge_index(Matrix<Scalar> x, std::span<const Index> edge_index,
                              std::span<const Index> graph = {},
                              std::span<const Scalar> edge_weight = {}) {
  constexpr std::string_view layer = "from_edge_index";
  const Index n = x.rows();
  GNNPOOL_CHECK(edge_index.size() % 2 == 0, shape_error, layer,
                ": edge_index must be 2 x E, got ", edge_index.size(), " entries");
  const std::size_t m = edge_index.size() / 2;
  GNNPOOL_CHECK(edge_weight.empty() || edge_weight.size() == m, shape_error, layer, ": ",
                edge_weight.size(), " edge weights for ", m, " edges");
  GNNPOOL_CHECK(graph.empty() || graph.size() == static_cast<std::size_t>(n), shape_error, layer,
                ": batch has ", graph.size(), " entries but x has ", n, " rows");
  IndexVector offsets{0};
  if (graph.empty()) {
    offsets.push_back(n);
  } else {
    for (std::size_t i = 0; i < graph.size(); ++i) {
      GNNPOOL_CHECK(graph[i] >= 0, invalid_argument, layer, ": batch[", i, "] = ", graph[i],
                    " is negative");
      GNNPOOL_CHECK(i == 0 || graph[i] >= graph[i - 1], invalid_argument, layer,
                    ": batch must be sorted, but batch[", i, "] = ", graph[i], " < batch[", i - 1,
                    "] = ", graph[i - 1]);
      while (static_cast<Index>(offsets.size()) <= graph[i]) offsets.push_back(static_cast<Index>(i));
    }
    offsets.push_back(n);
  }
  std::span<const Index> src = edge_index.first(m), dst = edge_index.last(m);
  for (std::size_t e = 0; e < m; ++e) {
    check_node_index(src[e], n, layer, "edge_index[0] entry");
    check_node_index(dst[e], n, layer, "edge_index[1] entry");
    if (!edge_weight.empty())
      GNNPOOL_CHECK(std::isfinite(edge_weight[e]), invalid_argument, layer, ": edge ", e,
                    " has the non-finite weight ", edge_weight[e]);
  }
  Batch<Scalar> b;
  b.adj = detail::build_csr<Scalar>(n, dst, src, edge_weight, edge_weight.empty());
  b.x = std::move(x);
  b.offsets = std::move(offsets);
  check_batch(b, layer);
  return b;
}

/// The edges of `adj` as PyG's edge_index (2 x E row-major: sources then targets), in CSR order.
template <typename Scalar>
IndexVector to_edge_index(const SparseMatrix<Scalar>& adj) {
  const Index m = adj.nonZeros();
  IndexVector out(static_cast<std::size_t>(2 * m));
  Index e = 0;
  for (Index i = 0; i < adj.outerSize(); ++i)
    for (StorageIndex p = adj.outerIndexPtr()[i]; p < adj.outerIndexPtr()[i + 1]; ++p, ++e) {
      out[static_cast<std::size_t>(e)] = adj.innerIndexPtr()[p];   // source
      out[static_cast<std::size_t>(m + e)] = i;                    // target
    }
  return out;
}

}  // namespace gnnpool

#endif
