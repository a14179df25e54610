#ifndef GNNPOOL_CONNECT_KRON_HPP
#define GNNPOOL_CONNECT_KRON_HPP

/// \file
/// `KronConnect`: the pooled graph of Node Decimation Pooling, by Kron reduction of the
/// Laplacian onto the kept nodes (Schur complement), then sparsification.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/symmetry.hpp>

#include <Eigen/SparseCholesky>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool {

/// What Kron reduction does when L[M,M] is singular, i.e. when some connected piece of the
/// eliminated nodes has no edge to a kept node (a "dead" piece: an isolated node or a whole
/// component on the eliminated side; only a random partition produces one).
enum class KronSingular {
  /// The references (SRC `_kron_reduction`, tgp `KronConnect`): solve the graph's whole system
  /// with L[M,M] + shift I instead, which moves every weight of that graph by about `shift`.
  shift,
  /// The exact Schur complement: a dead piece has zero rows in L[M,P], so it contributes
  /// nothing; it is left out of the solve and nothing else changes.
  exact,
};

struct KronOptions {
  /// Sparsification: an output edge is kept iff |w| > threshold (strict; the references' 1e-2).
  /// 0 keeps every non-zero weight.
  double threshold = 1e-2;
  KronSingular singular = KronSingular::shift;
  /// Diagonal shift of `KronSingular::shift` (the references' 1e-6).
  double shift = 1e-6;
  /// Upper bound on the stored entries of W = D^-1/2 L^-1 P L[M,P] and of the reduced
  /// Laplacian: Kron reduction of an expander-like graph is nearly dense (see docs/ndp.md), and
  /// this turns an out-of-memory into a clear error. The default (2^27 entries, about 2 GB for
  /// W) bounds the memory of one call; it may be raised up to the 32-bit CSR limit 2^31 - 1.
  Index max_fill = Index(1) << 27;
  /// W^T W of a graph is formed densely (one symmetric rank update) when W fills at least this
  /// fraction of its rows x columns and both dense blocks stay within `dense_limit` entries.
  /// Only the speed changes (and the last bits of the weights); 1 or more never goes dense.
  double dense_fraction = 0.05;
  Index dense_limit = Index(1) << 25;
  /// Check that the adjacency is symmetric (values included), O(E log d). NDPPool turns it off
  /// when its NDPSelect has already checked the same adjacency. Off, the edges (positive
  /// off-diagonal entries) must still come in mirrored pairs, which the elimination tree relies
  /// on: that is checked in O(N + E) whatever this option says.
  bool check_symmetric = true;
};

/// Sizes of one Kron reduction (the cost model of docs/ndp.md).
struct KronStats {
  Index eliminated = 0;        ///< |M| nodes in the solve (dead pieces excluded)
  Index dead = 0;              ///< eliminated nodes in dead pieces
  Index factor_nonzeros = 0;   ///< strictly lower entries of the LDL^T factor of L[M,M]
  Index solve_nonzeros = 0;    ///< entries of W (the fill of L[M,M]^-1 L[M,P])
  Index reduced_nonzeros = 0;  ///< stored entries of the reduced Laplacian, diagonal included
  double product_flops = 0;    ///< floating-point operations of W^T W (dense and sparse parts)
  Index dense_graphs = 0;      ///< graphs whose W^T W took the dense path
  IndexVector shifted_graphs;  ///< graphs solved with L[M,M] + shift I
};

namespace detail {

/// Checks that `sel` is a hard selection of `in` whose every supernode has exactly one member
/// (a kept node): NDP's form, where Kron reduction applies. O(N).
template <typename Scalar>
void check_kept_selection(const std::type_identity_t<BatchRef<Scalar>>& in, const HardSelection<Scalar>& sel, std::string_view layer) {
  const Index n = in.num_nodes();
  const Index k = sel.num_supernodes();
  GNNPOOL_CHECK(sel.num_nodes() == n, shape_error, layer, ": the selection covers ", sel.num_nodes(),
                " nodes but the batch has ", n);
  GNNPOOL_CHECK(sel.offsets.size() == in.offsets.size(), shape_error, layer, ": the selection has ",
                static_cast<Index>(sel.offsets.size()) - 1, " graphs but the batch has ", in.num_graphs());
  GNNPOOL_CHECK(sel.offsets.front() == 0 && sel.offsets.back() == k, invalid_argument, layer,
                ": the selection's offsets must run from 0 to its ", k, " supernodes");
  for (std::size_t b = 1; b < sel.offsets.size(); ++b)
    GNNPOOL_CHECK(sel.offsets[b - 1] <= sel.offsets[b], invalid_argument, layer,
                  ": the selection's offsets decrease at graph ", b - 1);
  Index kept = 0;
  for (Index b = 0; b < in.num_graphs(); ++b) {
    const Index lo = sel.offsets[static_cast<std::size_t>(b)], hi = sel.offsets[static_cast<std::size_t>(b) + 1];
    for (Index i = in.graph_begin(b); i < in.graph_begin(b + 1); ++i) {
      const Index a = sel.assignment[static_cast<std::size_t>(i)];
      if (a == HardSelection<Scalar>::dropped) continue;
      GNNPOOL_CHECK(a >= lo && a < hi, invalid_argument, layer, ": node ", i, " of graph ", b,
                    " goes to supernode ", a, ", outside the graph's supernodes ", lo, "..", hi - 1);
      GNNPOOL_CHECK(sel.representative[static_cast<std::size_t>(a)] == i, invalid_argument, layer,
                    ": supernode ", a, " has representative ",
                    sel.representative[static_cast<std::size_t>(a)], " but node ", i,
                    " is assigned to it; Kron reduction needs one kept node per supernode");
      ++kept;
    }
  }
  GNNPOOL_CHECK(kept == k, invalid_argument, layer, ": ", kept, " nodes are kept but the selection has ",
                k, " supernodes; Kron reduction needs one kept node per supernode");
}

/// Checks the ranges of `KronOptions`.
inline void check_kron_options(const KronOptions& o) {
  GNNPOOL_CHECK(std::isfinite(o.threshold) && o.threshold >= 0, invalid_argument,
                "KronConnect: threshold must be finite and >= 0, got ", o.threshold);
  GNNPOOL_CHECK(std::isfinite(o.shift) && o.shift > 0, invalid_argument,
                "KronConnect: shift must be finite and > 0, got ", o.shift);
  GNNPOOL_CHECK(o.max_fill >= 1 && o.max_fill <= std::numeric_limits<StorageIndex>::max(), invalid_argument,
                "KronConnect: max_fill must be in [1, 2^31 - 1], got ", o.max_fill);
  GNNPOOL_CHECK(o.dense_fraction >= 0 && o.dense_limit >= 0, invalid_argument,
                "KronConnect: dense_fraction and dense_limit must be >= 0, got ", o.dense_fraction, " and ",
                o.dense_limit);
}

}  // namespace detail

/// Kron reduction of the Laplacian of every graph of `in` onto its kept nodes.
///
/// With P the kept nodes (assignment >= 0) and M the others, L = D - A (self loops and
/// zero weights ignored):
///
///     L' = L[P,P] - L[P,M] L[M,M]^-1 L[M,P]          (|P| x |P|, supernode order)
///
/// Graphs with at most one kept node get L' = 0 (SRC's 1 x 1 zero). L[M,M] is factored once for
/// the whole batch by a sparse LDL^T (Eigen `SimplicialLDLT`, AMD ordering): P_f L[M,M] P_f^T =
/// F D F^T. With W = D^-1/2 F^-1 P_f A[M,P] (each column a sparse triangular solve whose pattern
/// is the union of elimination-tree paths), L[P,M] L[M,M]^-1 L[M,P] = W^T W, which is
/// accumulated row by row in a fixed order (or, for a graph whose W is dense, formed by one
/// dense symmetric rank update and read from one triangle), so L' is exactly symmetric (the
/// references average L' and L'^T; here there is nothing to average). Before any numeric work
/// the elimination tree and the factor's column counts are computed, so that a hopeless fill
/// is refused at once. Dead pieces of M: see `KronSingular`.
///
/// Returns L' in CSR (double, diagonal always stored). With `sparsify`, off-diagonal entries
/// with |L'_st| <= options.threshold are not stored (KronConnect's output, without ever holding
/// the nearly dense L' of an expander-like graph). Cost: O(E) to build L[M,M], the LDL^T
/// (O(nnz(F)) memory), then sum over kept p of the flops of one sparse solve, then
/// sum_k |W(k,:)|^2 for W^T W (K_b^2 m_b on the dense path): linear in N for graphs whose
/// eliminated side is (nearly) independent (grids, meshes), cubic in N for expander-like
/// graphs, whose reduced graph is dense (docs/ndp.md).
/// Throws `invalid_argument` for a malformed selection, asymmetric or negative weights, and
/// `gnnpool::error` when the fill exceeds `options.max_fill` (at once when 64 sampled columns
/// of W predict more than twice that, e.g. N = 10^5 random graphs; see docs/ndp.md).
template <typename Scalar>
SparseMatrix<double> kron_reduction(const std::type_identity_t<BatchRef<Scalar>>& in, const HardSelection<Scalar>& sel,
                                    const KronOptions& options = {}, KronStats* stats = nullptr,
                                    bool sparsify = false);

/// Kron-reduction connectivity (NDP's connect step).
///
/// Forward:  L' = kron_reduction(A, S) (see there); A'_st = -L'_st for s != t, kept iff
///           |A'_st| > threshold (strict), the diagonal dropped. A' is block-diagonal over the
///           output graphs, exactly symmetric, non-negative.
/// Backward: none. The pooled weights are treated as constants with respect to A (as in both
///           references, which compute them outside autograd): `backward` checks the shape of
///           dL/dA' and adds nothing to dL/dA or dL/dS. Hence an NDP pooler passes gradient to
///           the features only.
/// Shapes: in N x F, sel one kept node per supernode (NDPSelect, or any such HardSelection),
///         adj_out K x K. Cache: the `KronStats` and the number of stored output entries.
/// Cost: `kron_reduction` plus O(nnz(L')). Thread safety: forward and backward are const.
template <typename Scalar_>
class KronConnect {
 public:
  using Scalar = Scalar_;
  /// The pooled values depend on A and on which nodes are kept, never on the selection's
  /// values: nothing flows to dL/dS (the model layer relies on it).
  static constexpr bool reads_selection_values = false;
  struct Cache {
    KronStats stats;
    Index output_nonzeros = 0;
  };

  explicit KronConnect(KronOptions options = {}) : m_options(std::move(options)) {
    detail::check_kron_options(m_options);
  }

  const KronOptions& options() const { return m_options; }

  void forward(const BatchRef<Scalar>& in, const HardSelection<Scalar>& sel, SparseMatrix<Scalar>& adj_out,
               Cache& cache) const {
    cache.stats = KronStats{};
    const SparseMatrix<double> reduced = kron_reduction(in, sel, m_options, &cache.stats, /*sparsify=*/true);
    adj_out = laplacian_to_adjacency(reduced, m_options.threshold);
    cache.output_nonzeros = adj_out.nonZeros();
  }

  /// The pooled adjacency alone (for pyramids and other callers without a cache).
  SparseMatrix<Scalar> operator()(const BatchRef<Scalar>& in, const HardSelection<Scalar>& sel) const {
    SparseMatrix<Scalar> out;
    Cache cache;
    forward(in, sel, out, cache);
    return out;
  }

  /// No gradient flows through the Kron weights (see the class comment); checks the shape only.
  void backward(const BatchRef<Scalar>&, const HardSelection<Scalar>&, const Cache& cache,
                const Vector<Scalar>& dadj_out, BatchGrad<Scalar>&, Vector<Scalar>&) const {
    GNNPOOL_CHECK(dadj_out.size() == 0 || dadj_out.size() == cache.output_nonzeros, shape_error,
                  "KronConnect: the gradient of the pooled adjacency has ", dadj_out.size(),
                  " entries but the pooled adjacency stores ", cache.output_nonzeros);
  }

  /// A' = -offdiag(L') with the entries |w| <= threshold removed, cast to Scalar. O(nnz(L')).
  static SparseMatrix<Scalar> laplacian_to_adjacency(const SparseMatrix<double>& reduced, double threshold) {
    const Index k = reduced.rows();
    SparseMatrix<Scalar> a(k, k);
    a.resizeNonZeros(reduced.nonZeros());
    StorageIndex nnz = 0;
    a.outerIndexPtr()[0] = 0;
    for (Index s = 0; s < k; ++s) {
      for (StorageIndex p = reduced.outerIndexPtr()[s]; p < reduced.outerIndexPtr()[s + 1]; ++p) {
        const StorageIndex t = reduced.innerIndexPtr()[p];
        const double w = -reduced.valuePtr()[p];
        if (t == s || !(std::abs(w) > threshold)) continue;
        a.innerIndexPtr()[nnz] = t;
        a.valuePtr()[nnz] = static_cast<Scalar>(w);
        ++nnz;
      }
      a.outerIndexPtr()[s + 1] = nnz;
    }
    a.data().resize(nnz);
    return a;
  }

 private:
  KronOptions m_options;
};

template <typename Scalar>
SparseMatrix<double> kron_reduction(const std::type_identity_t<BatchRef<Scalar>>& in, const HardSelection<Scalar>& sel,
                                    const KronOptions& options, KronStats* stats, bool sparsify) {
  constexpr std::string_view layer = "KronConnect";
  detail::check_kron_options(options);
  check_batch(in, layer);
  check_nonnegative(in.adj, layer);
  if (options.check_symmetric) check_symmetric(in.adj, layer);
  else detail::check_symmetric_support(in.adj, layer, "KronOptions::check_symmetric = false");
  detail::check_kept_selection(in, sel, layer);
  KronStats local_stats;
  KronStats& st = stats ? *stats : local_stats;
  st = KronStats{};

  const Index n = in.num_nodes();
  const Index k = sel.num_supernodes();
  const Index num_graphs = in.num_graphs();
  const StorageIndex* outer = in.adj.outerIndexPtr();
  const StorageIndex* inner = in.adj.innerIndexPtr();
  const Scalar* value = in.adj.valuePtr();
  const auto at = [](auto&& v, Index i) -> decltype(auto) { return v[static_cast<std::size_t>(i)]; };
  // An edge counts iff it joins two different nodes with a positive weight.
  const auto edge = [&](Index i, StorageIndex p) { return inner[p] != i && value[p] > Scalar(0); };

  std::vector<Index> graph(static_cast<std::size_t>(n));
  std::vector<double> degree(static_cast<std::size_t>(n), 0.0);
  for (Index b = 0; b < num_graphs; ++b)
    for (Index i = in.graph_begin(b); i < in.graph_begin(b + 1); ++i) {
      at(graph, i) = b;
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
        if (edge(i, p)) at(degree, i) += static_cast<double>(value[p]);
    }
  // A graph with <= 1 kept node has no pooled edge: its eliminated nodes stay out of the solve.
  std::vector<char> active(static_cast<std::size_t>(num_graphs));
  for (Index b = 0; b < num_graphs; ++b)
    at(active, b) = sel.offsets[static_cast<std::size_t>(b) + 1] - sel.offsets[static_cast<std::size_t>(b)] >= 2;

  // Eliminated nodes by connected piece of G[M]: a piece without an edge to P is dead.
  enum : char { kept_or_idle = 0, alive = 1, dead = 2, queued = 3 };
  std::vector<char> state(static_cast<std::size_t>(n), kept_or_idle);
  for (Index i = 0; i < n; ++i)
    if (at(sel.assignment, i) == HardSelection<Scalar>::dropped && at(active, at(graph, i))) at(state, i) = queued;
  std::vector<char> dead_graph(static_cast<std::size_t>(num_graphs), 0);
  {
    std::vector<Index> queue;
    queue.reserve(static_cast<std::size_t>(n));
    for (Index root = 0; root < n; ++root) {
      if (at(state, root) != queued) continue;
      queue.clear();
      queue.push_back(root);
      at(state, root) = alive;  // provisional: "visited"
      bool touches_kept = false;
      for (std::size_t head = 0; head < queue.size(); ++head) {
        const Index u = queue[head];
        for (StorageIndex p = outer[u]; p < outer[u + 1]; ++p) {
          if (!edge(u, p)) continue;
          const Index v = inner[p];
          if (at(sel.assignment, v) != HardSelection<Scalar>::dropped) touches_kept = true;
          else if (at(state, v) == queued) {
            at(state, v) = alive;
            queue.push_back(v);
          }
        }
      }
      if (!touches_kept) {
        for (Index u : queue) at(state, u) = dead;
        st.dead += static_cast<Index>(queue.size());
        at(dead_graph, at(graph, root)) = 1;
      }
    }
  }
  for (Index b = 0; b < num_graphs; ++b)
    if (at(dead_graph, b) && options.singular == KronSingular::shift) st.shifted_graphs.push_back(b);

  // Elimination index of the live M nodes, ascending in node order (so CSR order is kept).
  std::vector<Index> elim(static_cast<std::size_t>(n), -1);
  Index m = 0;
  for (Index i = 0; i < n; ++i)
    if (at(state, i) == alive) at(elim, i) = m++;
  st.eliminated = m;

  // L[M,M], lower triangle in CSC (column c = row c of the symmetric CSR), 64-bit indices so
  // that a large fill cannot overflow the factor's counts.
  using FactorMatrix = Eigen::SparseMatrix<double, Eigen::ColMajor, Index>;
  FactorMatrix lmm(m, m);
  {
    Index nnz = 0;
    for (Index i = 0; i < n; ++i) {
      if (at(state, i) != alive) continue;
      ++nnz;
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
        if (edge(i, p) && at(state, inner[p]) == alive && inner[p] > i) ++nnz;
    }
    lmm.resizeNonZeros(nnz);
    Index* col = lmm.outerIndexPtr();
    Index* row = lmm.innerIndexPtr();
    double* val = lmm.valuePtr();
    Index pos = 0;
    col[0] = 0;
    for (Index i = 0; i < n; ++i) {
      if (at(state, i) != alive) continue;
      const Index c = at(elim, i);
      const bool shifted = options.singular == KronSingular::shift && at(dead_graph, at(graph, i));
      row[pos] = c;
      val[pos++] = at(degree, i) + (shifted ? options.shift : 0.0);
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
        if (edge(i, p) && at(state, inner[p]) == alive && inner[p] > i) {
          row[pos] = at(elim, inner[p]);
          val[pos++] = -static_cast<double>(value[p]);
        }
      col[c + 1] = pos;
    }
  }
  Eigen::SimplicialLDLT<FactorMatrix, Eigen::Lower, Eigen::AMDOrdering<Index>> ldlt;
  const Index* fp = nullptr;
  const Index* fi = nullptr;
  const double* fx = nullptr;
  std::vector<Index> parent(static_cast<std::size_t>(m), -1), perm(static_cast<std::size_t>(m));
  std::vector<double> inv_sqrt_d(static_cast<std::size_t>(m));
  std::vector<Index> tag(static_cast<std::size_t>(m), -1);
  if (m > 0) {
    ldlt.analyzePattern(lmm);  // AMD ordering
    std::vector<Index> node_of(static_cast<std::size_t>(m)), order(static_cast<std::size_t>(m));
    for (Index i = 0; i < n; ++i)
      if (at(state, i) == alive) at(node_of, at(elim, i)) = i;
    for (Index c = 0; c < m; ++c) {
      at(perm, c) = ldlt.permutationP().indices()[c];
      at(order, at(perm, c)) = c;
    }
    // Calls f(i) for every neighbour of the node at factor position pos that comes before it.
    auto for_each_earlier = [&](Index pos, auto&& f) {
      const Index u = at(node_of, at(order, pos));
      for (StorageIndex p = outer[u]; p < outer[u + 1]; ++p)
        if (edge(u, p) && at(state, inner[p]) == alive) {
          const Index i = at(perm, at(elim, inner[p]));
          if (i < pos) f(i);
        }
    };
    // Symbolic factorisation before any numeric work, so that a hopeless fill is refused at
    // once: the elimination tree (Liu's algorithm with path compression) and the column counts
    // of the factor (row subtrees), O(nnz(F)).
    {
      std::vector<Index> ancestor(static_cast<std::size_t>(m), -1);
      for (Index k2 = 0; k2 < m; ++k2)
        for_each_earlier(k2, [&](Index i) {
          Index r = i;
          while (at(ancestor, r) != -1 && at(ancestor, r) != k2) {
            const Index next = at(ancestor, r);
            at(ancestor, r) = k2;
            r = next;
          }
          if (at(ancestor, r) == -1) {
            at(ancestor, r) = k2;
            at(parent, r) = k2;
          }
        });
      double factor_nonzeros = 0;
      for (Index k2 = 0; k2 < m; ++k2) {
        at(tag, k2) = k2;
        for_each_earlier(k2, [&](Index i) {
          for (Index j = i; at(tag, j) != k2; j = at(parent, j)) {
            at(tag, j) = k2;
            factor_nonzeros += 1;
          }
        });
        GNNPOOL_CHECK(factor_nonzeros <= static_cast<double>(options.max_fill), error, layer,
                      ": the LDL^T factor of L[M,M] (", m, " eliminated nodes) would hold more than max_fill = ",
                      options.max_fill, " entries; the eliminated side is an expander-like graph. Raise "
                      "KronOptions::max_fill or pool a sparser graph");
      }
      std::fill(tag.begin(), tag.end(), -1);
    }
    // The pattern of W(:,s) is the union of elimination-tree paths, so a few evenly spaced
    // columns predict nnz(W) cheaply: refuse at once when they predict more than twice
    // max_fill (a nearly dense reduction of a large expander); otherwise the exact count below
    // decides.
    if (k > 0) {
      constexpr Index samples = 64;
      const Index count = std::min(samples, k);
      Index reach = 0;
      for (Index i = 0; i < count; ++i) {
        const Index s = i * k / count;
        const Index rep = at(sel.representative, s);
        if (!at(active, at(graph, rep))) continue;
        for (StorageIndex p = outer[rep]; p < outer[rep + 1]; ++p) {
          if (!edge(rep, p) || at(state, inner[p]) != alive) continue;
          for (Index c = at(perm, at(elim, inner[p])); c != -1 && at(tag, c) != s; c = at(parent, c)) {
            at(tag, c) = s;
            ++reach;
          }
        }
      }
      const double predicted = static_cast<double>(reach) / static_cast<double>(count) * static_cast<double>(k);
      GNNPOOL_CHECK(predicted <= 2.0 * static_cast<double>(options.max_fill), error, layer,
                    ": Kron reduction would fill about ", static_cast<Index>(predicted),
                    " entries of L[M,M]^-1 L[M,P] (", m, " eliminated, ", k,
                    " kept nodes), more than max_fill = ", options.max_fill,
                    "; the reduced graph is nearly dense. Raise KronOptions::max_fill or pool a sparser graph");
      std::fill(tag.begin(), tag.end(), -1);
    }
    ldlt.factorize(lmm);
    GNNPOOL_CHECK(ldlt.info() == Eigen::Success, error, layer,
                  ": the LDL^T factorisation of L[M,M] (", m, " eliminated nodes) failed");
    const auto& factor = ldlt.matrixL().nestedExpression();
    fp = factor.outerIndexPtr();
    fi = factor.innerIndexPtr();
    fx = factor.valuePtr();
    st.factor_nonzeros = factor.nonZeros();
    const Eigen::VectorXd pivots = ldlt.vectorD();  // returned by value: copy once
    for (Index c = 0; c < m; ++c) {
      // Column c holds rows > c in increasing order: the first is c's elimination-tree parent.
      GNNPOOL_ASSERT(at(parent, c) == (fp[c] < fp[c + 1] ? fi[fp[c]] : -1), "elimination tree of column ", c);
      const double d = pivots[c];
      GNNPOOL_CHECK(d > 0 && std::isfinite(d), error, layer, ": L[M,M] is not positive definite (pivot ",
                    d, "); is a weight tiny relative to the others?");
      at(inv_sqrt_d, c) = 1.0 / std::sqrt(d);
    }
  }

  // W, one column per supernode: W(:,s) = D^-1/2 F^-1 P_f A[M, rep(s)].
  std::vector<Index> w_col(static_cast<std::size_t>(k) + 1, 0), w_row;
  std::vector<double> w_val;
  {
    std::vector<double> x(static_cast<std::size_t>(m), 0.0);
    std::vector<Index> stack(static_cast<std::size_t>(m)), path(static_cast<std::size_t>(m));
    std::vector<std::pair<Index, double>> column;
    for (Index s = 0; s < k; ++s) {
      at(w_col, s + 1) = at(w_col, s);
      const Index rep = at(sel.representative, s);
      if (m == 0 || !at(active, at(graph, rep))) continue;
      Index top = m;
      for (StorageIndex p = outer[rep]; p < outer[rep + 1]; ++p) {
        if (!edge(rep, p) || at(state, inner[p]) != alive) continue;
        const Index r = at(perm, at(elim, inner[p]));
        at(x, r) += static_cast<double>(value[p]);
        // The reach of r in the factor's graph is its path to the root of the elimination tree;
        // stacking each new path in front keeps a topological order.
        Index len = 0;
        for (Index c = r; c != -1 && at(tag, c) != s; c = at(parent, c)) {
          at(path, len++) = c;
          at(tag, c) = s;
        }
        while (len > 0) at(stack, --top) = at(path, --len);
      }
      column.clear();
      for (Index t = top; t < m; ++t) {
        const Index c = at(stack, t);
        const double xc = at(x, c);
        at(x, c) = 0.0;
        if (xc == 0.0) continue;
        for (Index q = fp[c]; q < fp[c + 1]; ++q) at(x, fi[q]) -= fx[q] * xc;
        column.emplace_back(c, xc * at(inv_sqrt_d, c));
      }
      // Sorted rows make every W^T W entry sum its terms in the same order from both sides.
      std::sort(column.begin(), column.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      GNNPOOL_CHECK(static_cast<Index>(w_row.size() + column.size()) <= options.max_fill, error, layer,
                    ": Kron reduction fills more than max_fill = ", options.max_fill,
                    " entries of L[M,M]^-1 L[M,P] (", m, " eliminated, ", k,
                    " kept nodes); the reduced graph is nearly dense. Raise KronOptions::max_fill "
                    "or pool a sparser graph");
      for (const auto& [c, v] : column) {
        w_row.push_back(c);
        w_val.push_back(v);
      }
      at(w_col, s + 1) = static_cast<Index>(w_row.size());
    }
  }
  st.solve_nonzeros = static_cast<Index>(w_row.size());

  // Rows of W (CSR of W): for each eliminated index, the supernodes it reaches, ascending.
  std::vector<Index> r_ptr(static_cast<std::size_t>(m) + 1, 0), r_col(w_row.size());
  std::vector<double> r_val(w_row.size());
  for (Index c : w_row) ++at(r_ptr, c + 1);
  for (Index c = 0; c < m; ++c) at(r_ptr, c + 1) += at(r_ptr, c);
  {
    std::vector<Index> next(r_ptr.begin(), r_ptr.end() - 1);
    for (Index s = 0; s < k; ++s)
      for (Index q = at(w_col, s); q < at(w_col, s + 1); ++q) {
        const Index pos = at(next, at(w_row, q))++;
        at(r_col, pos) = s;
        at(r_val, pos) = at(w_val, q);
      }
  }

  // L' row by row: off-diagonal -(A[p,q] + (W^T W)_st), diagonal d_p - (W^T W)_ss, graph by
  // graph. Where a graph's W is dense enough, W^T W is one dense symmetric rank-k update
  // (BLAS-3 speed) instead of a sparse Gustavson product. Both paths give an exactly
  // symmetric L': the sparse one sums each entry's terms in the same order from both sides, the
  // dense one reads one triangle.
  std::vector<StorageIndex> l_outer(static_cast<std::size_t>(k) + 1, 0), l_inner;
  std::vector<double> l_val;
  {
    std::vector<double> acc(static_cast<std::size_t>(k), 0.0);
    std::vector<Index> last(static_cast<std::size_t>(k), -1), touched(static_cast<std::size_t>(k));
    std::vector<Index> local_row(static_cast<std::size_t>(m), -1);
    const Index* rp = r_ptr.data();
    const Index* rc = r_col.data();
    const double* rv = r_val.data();
    double* accp = acc.data();
    Index* lastp = last.data();
    Index* tp = touched.data();
    // Appends one entry of L' (off-diagonal -w), dropping |w| <= threshold when sparsifying.
    auto put = [&](Index t, double lvalue, bool diagonal) {
      if (!diagonal && sparsify && !(std::abs(lvalue) > options.threshold)) return;
      GNNPOOL_CHECK(static_cast<Index>(l_inner.size()) < options.max_fill, error, layer,
                    ": the Kron-reduced Laplacian exceeds max_fill = ", options.max_fill, " entries (", k,
                    " kept nodes); the reduced graph is nearly dense. Raise KronOptions::max_fill or "
                    "pool a sparser graph");
      l_inner.push_back(static_cast<StorageIndex>(t));
      l_val.push_back(lvalue);
    };
    // The diagonal of row s. L' has zero row sums (L does, and a Schur complement of L keeps
    // them), so L'_ss = sum over t != s of (A[p,q] + (W^T W)_st): a sum of non-negative terms,
    // accurate to rounding, where d_p - (W^T W)_ss cancels (a kept node whose eliminated
    // neighbours reach no other kept node has L'_ss = 0 exactly, and the difference left
    // ~1e-16 d_p there). A graph solved with the shift has no zero row sums: the difference.
    auto diagonal = [&](Index s, double offdiagonal_sum, double self_term) {
      const Index rep = at(sel.representative, s);
      return options.singular == KronSingular::shift && at(dead_graph, at(graph, rep)) ? at(degree, rep) - self_term
                                                                                      : offdiagonal_sum;
    };
    // Row s from the touched supernodes tp[0 .. count) (sorted here) and their sums in acc.
    auto emit_row = [&](Index s, double self_term, Index count) {
      std::sort(tp, tp + count);
      double offdiagonal_sum = 0;
      for (Index j = 0; j < count; ++j) offdiagonal_sum += accp[tp[j]];
      const double diag = diagonal(s, offdiagonal_sum, self_term);
      bool diag_done = false;
      for (Index j = 0; j < count; ++j) {
        if (!diag_done && tp[j] > s) {
          put(s, diag, true);
          diag_done = true;
        }
        put(tp[j], -accp[tp[j]], false);
      }
      if (!diag_done) put(s, diag, true);
      at(l_outer, s + 1) = static_cast<StorageIndex>(l_inner.size());
    };
    // Scatters A[rep(s), kept] into acc; returns the number of touched supernodes.
    auto scatter_kept_edges = [&](Index s, Index rep) {
      Index count = 0;
      lastp[s] = s;
      accp[s] = 0.0;
      for (StorageIndex p = outer[rep]; p < outer[rep + 1]; ++p) {
        if (!edge(rep, p)) continue;
        const Index t = at(sel.assignment, inner[p]);
        if (t == HardSelection<Scalar>::dropped) continue;
        accp[t] = static_cast<double>(value[p]);
        lastp[t] = s;
        tp[count++] = t;
      }
      return count;
    };
    for (Index b = 0; b < num_graphs; ++b) {
      const Index s0 = sel.offsets[static_cast<std::size_t>(b)], s1 = sel.offsets[static_cast<std::size_t>(b) + 1];
      const Index kb = s1 - s0;
      if (!at(active, b)) {
        for (Index s = s0; s < s1; ++s) {
          l_inner.push_back(static_cast<StorageIndex>(s));
          l_val.push_back(0.0);
          at(l_outer, s + 1) = static_cast<StorageIndex>(l_inner.size());
        }
        continue;
      }
      // Rows of W reached by this graph's columns, numbered locally.
      Index mb = 0;
      for (Index q = at(w_col, s0); q < at(w_col, s1); ++q)
        if (at(local_row, at(w_row, q)) < 0) at(local_row, at(w_row, q)) = mb++;
      const Index wnnz = at(w_col, s1) - at(w_col, s0);
      const bool dense = mb > 0 && static_cast<double>(wnnz) >= options.dense_fraction * static_cast<double>(mb) * static_cast<double>(kb) &&
                         mb * kb <= options.dense_limit && kb * kb <= options.dense_limit;
      Eigen::MatrixXd gram;
      if (dense) {
        Eigen::MatrixXd wd = Eigen::MatrixXd::Zero(mb, kb);
        for (Index s = s0; s < s1; ++s)
          for (Index q = at(w_col, s); q < at(w_col, s + 1); ++q) wd(at(local_row, at(w_row, q)), s - s0) = at(w_val, q);
        gram = Eigen::MatrixXd::Zero(kb, kb);
        gram.selfadjointView<Eigen::Lower>().rankUpdate(wd.transpose());
        st.product_flops += static_cast<double>(mb) * static_cast<double>(kb) * static_cast<double>(kb + 1);
        ++st.dense_graphs;
      }
      for (Index q = at(w_col, s0); q < at(w_col, s1); ++q) at(local_row, at(w_row, q)) = -1;
      for (Index s = s0; s < s1; ++s) {
        const Index rep = at(sel.representative, s);
        Index count = scatter_kept_edges(s, rep);
        if (dense) {
          // Columns in ascending order: A[p,q] + (W^T W)_st read from the lower triangle (into
          // acc, marked in last), then the diagonal from their sum.
          double offdiagonal_sum = 0;
          for (Index t = s0; t < s1; ++t) {
            if (t == s) continue;
            const double g = t > s ? gram(t - s0, s - s0) : gram(s - s0, t - s0);
            if (lastp[t] == s) {
              accp[t] += g;
            } else if (g != 0.0) {
              lastp[t] = s;
              accp[t] = g;
            }
            if (lastp[t] == s) offdiagonal_sum += accp[t];
          }
          const double diag = diagonal(s, offdiagonal_sum, gram(s - s0, s - s0));
          for (Index t = s0; t < s1; ++t) {
            if (t == s) put(s, diag, true);
            else if (lastp[t] == s) put(t, -accp[t], false);
          }
          at(l_outer, s + 1) = static_cast<StorageIndex>(l_inner.size());
          continue;
        }
        for (Index q = at(w_col, s); q < at(w_col, s + 1); ++q) {
          const Index c = at(w_row, q);
          const double wcs = at(w_val, q);
          const Index end = rp[c + 1];
          st.product_flops += 2.0 * static_cast<double>(end - rp[c]);
          for (Index e = rp[c]; e < end; ++e) {
            const Index t = rc[e];
            const double term = wcs * rv[e];
            if (lastp[t] == s) {
              accp[t] += term;
            } else {
              lastp[t] = s;
              accp[t] = term;
              tp[count++] = t;
            }
          }
        }
        emit_row(s, accp[s], count);
      }
    }
  }
  SparseMatrix<double> reduced(k, k);
  reduced.resizeNonZeros(static_cast<Index>(l_inner.size()));
  std::copy(l_outer.begin(), l_outer.end(), reduced.outerIndexPtr());
  std::copy(l_inner.begin(), l_inner.end(), reduced.innerIndexPtr());
  std::copy(l_val.begin(), l_val.end(), reduced.valuePtr());
  st.reduced_nonzeros = reduced.nonZeros();
  return reduced;
}

}  // namespace gnnpool

#endif
