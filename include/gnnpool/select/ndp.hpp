#ifndef GNNPOOL_SELECT_NDP_HPP
#define GNNPOOL_SELECT_NDP_HPP

/// \file
/// `NDPSelect`: the node split of Node Decimation Pooling (Bianchi et al., "Hierarchical
/// representation learning in graph neural networks with node decimation pooling", 2020), by the
/// sign of the eigenvector of the largest eigenvalue of the normalised Laplacian.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/symmetry.hpp>

#include <Eigen/Eigenvalues>

// Spectra (header-only) gives the Lanczos eigenvector of large graphs. Without it, components
// of up to `detail::ndp_dense_cap` nodes are solved densely and larger ones are an error.
#if !defined(GNNPOOL_NO_SPECTRA) && __has_include(<Spectra/SymEigsSolver.h>)
#include <Spectra/MatOp/SparseSymMatProd.h>
#include <Spectra/SymEigsSolver.h>
#define GNNPOOL_HAS_SPECTRA 1
#else
#define GNNPOOL_HAS_SPECTRA 0
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

namespace gnnpool {

/// How the random split of the cut-check fallback is drawn.
enum class NDPRandomSplit {
  /// tgp's rule: the graph's first node +1, its second -1, every other node +-1 with
  /// probability 1/2 (top bit of each output of std::mt19937_64(seed)). Both sides are non-empty.
  tgp,
  /// SRC's `np.random.seed(seed); np.random.choice([-1, 1], size=N)`, bit for bit: node i gets
  /// +1 iff the i-th output of std::mt19937(low 32 bits of seed) is odd (NumPy's legacy
  /// RandomState draws masked 32-bit integers). May put every node on one side.
  numpy,
};

/// How the eigenvector of a graph was obtained.
enum class NDPEigenMethod {
  none,       ///< the graph has no edge: nothing to split
  bipartite,  ///< closed form: lambda = 2, v_i = colour_i sqrt(d_i) on a bipartite component
  dense,      ///< Eigen's SelfAdjointEigenSolver on the component's dense Ls
  lanczos,    ///< Spectra's implicitly restarted Lanczos on the component's sparse Ls
  failed,     ///< Lanczos did not converge: random split (SRC does the same when eigsh raises)
};

/// What NDPSelect did to one graph (for diagnostics and the conformance debug outputs).
struct NDPGraphInfo {
  double eigenvalue = 0;  ///< lambda_max of Ls over the graph (0 for a graph with no edge)
  /// lambda_max minus the next eigenvalue of the carrying component (dense path only, NaN
  /// otherwise). A gap near 0 means the eigenvector, hence the split, is not unique.
  double gap = std::numeric_limits<double>::quiet_NaN();
  double cut = 0;             ///< cut weight / total weight of the spectral split (0 without edges)
  bool random_split = false;  ///< the cut check (or an eigensolver failure) replaced the split
  bool tie = false;           ///< several components share lambda_max (within tie_tolerance)
  NDPEigenMethod method = NDPEigenMethod::none;
  Index components = 0;      ///< connected components with an edge
  Index matrix_products = 0; ///< Lanczos matrix-vector products over all components
};

struct NDPSelectOptions {
  /// The spectral split is replaced by a random one iff cut < cut_threshold (strict).
  double cut_threshold = 0.5;
  /// Entries of the unit eigenvector with |v_i| <= zero_tolerance are exactly 0 (and go to V+).
  double zero_tolerance = 1e-10;
  /// Seed of the random split. Every graph draws from a generator seeded with `seed` alone, so
  /// a graph gets the same split alone and inside any batch.
  std::uint64_t seed = 0;
  NDPRandomSplit random_split = NDPRandomSplit::tgp;
  /// Explicit split over the whole batch (+1 / -1 per node), used instead of a random draw
  /// wherever the fallback fires (to reproduce a reference run). Empty: draw.
  std::vector<int> fallback_partition{};
  /// Use the exact closed form on bipartite components (lambda = 2 is their maximum). Off:
  /// every component goes through the eigensolver (slow on large bipartite graphs, whose
  /// spectral gap at 2 is tiny).
  bool bipartite_closed_form = true;
  /// Components of at most this many nodes use the dense eigensolver, larger ones Lanczos.
  Index dense_limit = 128;
  /// Lanczos basis size (Spectra's ncv), restarts and relative residual tolerance. A failed
  /// run is retried once with a basis 4x larger before falling back to a random split.
  Index lanczos_ncv = 16;
  Index lanczos_max_restarts = 3000;
  double lanczos_tolerance = 1e-12;
  /// Components whose lambda_max differ by at most this are tied: the one with the lowest node
  /// carries the eigenvector (any choice is a correct split; this one is deterministic).
  double tie_tolerance = 1e-10;
  /// Check that the adjacency is symmetric (values included). O(E log d). Off, the edges (the
  /// positive off-diagonal entries) must still come in mirrored pairs, which the component search
  /// relies on: that is checked in O(N + E) whatever this option says, and the two weights of a
  /// pair may then differ (each row's degree is its own sum; the eigensolvers read the lower
  /// triangle). Turning the check off never makes an asymmetric input unsafe, only unchecked.
  bool check_symmetric = true;
};

namespace detail {

/// Largest component solved densely when Spectra is not available.
inline constexpr Index ndp_dense_cap = 4096;

/// Per-batch scratch of NDPSelect, allocated once per forward.
struct NDPWorkspace {
  std::vector<double> degree, inv_sqrt_degree, v;
  std::vector<signed char> colour;
  std::vector<Index> nodes, local;

  explicit NDPWorkspace(Index n)
      : degree(static_cast<std::size_t>(n)), inv_sqrt_degree(static_cast<std::size_t>(n)),
        v(static_cast<std::size_t>(n), 0.0), colour(static_cast<std::size_t>(n), 0),
        nodes(static_cast<std::size_t>(n)), local(static_cast<std::size_t>(n)) {}
};

struct NDPComponent {
  Index begin = 0, size = 0;  ///< its nodes are NDPWorkspace::nodes[begin .. begin + size), ascending
  bool bipartite = true;
  double lambda = 0;
  double gap = std::numeric_limits<double>::quiet_NaN();
  NDPEigenMethod method = NDPEigenMethod::none;
};

}  // namespace detail

/// Node Decimation Pooling's selection: keep one side of a spectral (near max-)cut.
///
/// Forward, per graph (A symmetric, weights >= 0; self loops and zero weights are ignored):
/// 1. L = D - A and Ls = I - D^-1/2 A D^-1/2 (D^-1/2 := 0 for an isolated node).
/// 2. v = unit eigenvector of the largest eigenvalue of Ls, solved per connected component:
///    bipartite components in closed form (lambda = 2, v_i = +-sqrt(d_i) by colour), others
///    densely (<= dense_limit nodes) or by Spectra's Lanczos. The component with the largest
///    lambda carries v (ties: the one with the lowest node); v is exactly 0 elsewhere, and on
///    isolated nodes. Sign convention (conformance README): entries with |v_i| <= 1e-10 are 0,
///    the lowest-index nonzero entry is positive. V+ = {v_i >= 0}, V- = {v_i < 0}.
/// 3. Cut check: z = +-1 by side, cut = z^T L z / (2 sum A) = cut weight / total weight. If
///    cut < 0.5 (strict) the split is replaced by a random one (`NDPRandomSplit`, or the
///    explicit `fallback_partition`), not checked again. A graph with no edge is not split
///    (cut = 0, no fallback: every node has v = 0, so the graph passes through unchanged).
/// 4. |V+| <= 1: keep the graph's first node only (SRC's rule; with the sign convention a
///    spectral |V+| = 1 is always that node).
/// Output: assignment[i] = index of kept node i among the kept nodes (ascending node order,
/// graph-major), dropped (-1) otherwise; representative = the kept nodes; weight = 1.
///
/// Backward: nothing. The split is piecewise constant in A, does not read x, and NDP has no
/// parameters; the weight is the constant 1. Features get their gradient through the reduce.
///
/// Cache: the canonical eigenvector (N, 0 off the carrying components), the split actually
/// used (N, +-1) and one `NDPGraphInfo` per graph.
/// Cost: O(N + E) for degrees, components, the cut and the closed form; O(m^3) per dense
/// component of m nodes; Lanczos O((E_c + m ncv) x matrix products) per large component, the
/// number of products growing like 1/sqrt(relative spectral gap). All in double whatever Scalar
/// is, so float and double give the same split. Deterministic: Spectra starts from a fixed
/// vector, the random split from the seed. Thread safety: forward and backward are const.
template <typename Scalar_>
class NDPSelect {
 public:
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;

  struct Cache {
    std::vector<double> eigenvector;
    std::vector<signed char> partition;
    std::vector<NDPGraphInfo> graphs;
  };

  explicit NDPSelect(NDPSelectOptions options = {}) : m_options(std::move(options)) {
    constexpr std::string_view layer = "NDPSelect";
    GNNPOOL_CHECK(std::isfinite(m_options.cut_threshold), invalid_argument, layer,
                  ": cut_threshold must be finite, got ", m_options.cut_threshold);
    GNNPOOL_CHECK(m_options.zero_tolerance >= 0 && m_options.zero_tolerance < 1, invalid_argument, layer,
                  ": zero_tolerance must be in [0, 1), got ", m_options.zero_tolerance);
    GNNPOOL_CHECK(m_options.dense_limit >= 0, invalid_argument, layer, ": dense_limit must be >= 0, got ",
                  m_options.dense_limit);
    GNNPOOL_CHECK(m_options.lanczos_ncv >= 3, invalid_argument, layer, ": lanczos_ncv must be >= 3, got ",
                  m_options.lanczos_ncv);
    GNNPOOL_CHECK(m_options.lanczos_max_restarts >= 1, invalid_argument, layer,
                  ": lanczos_max_restarts must be >= 1, got ", m_options.lanczos_max_restarts);
    GNNPOOL_CHECK(m_options.lanczos_tolerance > 0 && m_options.lanczos_tolerance < 1, invalid_argument,
                  layer, ": lanczos_tolerance must be in (0, 1), got ", m_options.lanczos_tolerance);
    GNNPOOL_CHECK(m_options.tie_tolerance >= 0, invalid_argument, layer,
                  ": tie_tolerance must be >= 0, got ", m_options.tie_tolerance);
    for (std::size_t i = 0; i < m_options.fallback_partition.size(); ++i)
      GNNPOOL_CHECK(m_options.fallback_partition[i] == 1 || m_options.fallback_partition[i] == -1,
                    invalid_argument, layer, ": fallback_partition[", i, "] = ",
                    m_options.fallback_partition[i], " (every entry must be +1 or -1)");
  }

  const NDPSelectOptions& options() const { return m_options; }
  /// The selection depends on the adjacency only (it can be precomputed: pool/pyramid.hpp).
  bool feature_independent() const { return true; }

  /// No parameters.
  void parameter_slots(std::vector<Index>& /*out*/) const {}

  void forward(const ParameterSet<Scalar>&, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    constexpr std::string_view layer = "NDPSelect";
    check_batch(in, layer);
    check_nonnegative(in.adj, layer);
    if (m_options.check_symmetric) check_symmetric(in.adj, layer);
    else detail::check_symmetric_support(in.adj, layer, "check_symmetric = false");
    const Index n = in.num_nodes();
    GNNPOOL_CHECK(m_options.fallback_partition.empty() ||
                      static_cast<Index>(m_options.fallback_partition.size()) == n,
                  shape_error, layer, ": fallback_partition has ", m_options.fallback_partition.size(),
                  " entries but the batch has ", n, " nodes");
    detail::NDPWorkspace ws(n);
    cache.eigenvector.assign(static_cast<std::size_t>(n), 0.0);
    cache.partition.assign(static_cast<std::size_t>(n), 1);
    cache.graphs.assign(static_cast<std::size_t>(in.num_graphs()), NDPGraphInfo{});
    sel.assignment.assign(static_cast<std::size_t>(n), Selection::dropped);
    sel.weight.setOnes(n);
    sel.representative.clear();
    sel.offsets.assign(1, 0);
    for (Index b = 0; b < in.num_graphs(); ++b) {
      split_graph(in, b, ws, cache);
      const Index lo = in.graph_begin(b), hi = in.graph_begin(b + 1);
      Index kept = 0;
      for (Index i = lo; i < hi; ++i) kept += cache.partition[static_cast<std::size_t>(i)] > 0;
      for (Index i = lo; i < hi; ++i)
        if (kept <= 1 ? i == lo : cache.partition[static_cast<std::size_t>(i)] > 0) {
          sel.assignment[static_cast<std::size_t>(i)] = static_cast<Index>(sel.representative.size());
          sel.representative.push_back(i);
        }
      sel.offsets.push_back(static_cast<Index>(sel.representative.size()));
    }
  }

  /// Adds nothing: see the class comment.
  void backward(const ParameterSet<Scalar>&, const BatchRef<Scalar>&, const Selection&, const Cache&,
                const Vector<Scalar>&, BatchGrad<Scalar>&, ParameterSet<Scalar>&) const {}

  /// The selection alone (for pyramids and other callers without a cache).
  Selection operator()(const BatchRef<Scalar>& in) const {
    Selection sel;
    Cache cache;
    forward(ParameterSet<Scalar>{}, in, sel, cache);
    return sel;
  }

 private:
  void split_graph(const BatchRef<Scalar>& in, Index b, detail::NDPWorkspace& ws, Cache& cache) const {
    const Index lo = in.graph_begin(b), hi = in.graph_begin(b + 1);
    NDPGraphInfo& info = cache.graphs[static_cast<std::size_t>(b)];
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar* value = in.adj.valuePtr();
    auto edge = [&](Index i, StorageIndex p) { return inner[p] != i && value[p] > Scalar(0); };
    auto at = [](auto& v, Index i) -> decltype(auto) { return v[static_cast<std::size_t>(i)]; };

    double total = 0;
    for (Index i = lo; i < hi; ++i) {
      double d = 0;
      for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
        if (edge(i, p)) d += static_cast<double>(value[p]);
      at(ws.degree, i) = d;
      at(ws.inv_sqrt_degree, i) = d > 0 ? 1.0 / std::sqrt(d) : 0.0;
      total += d;
    }

    // Connected components (BFS), 2-colouring on the way; isolated nodes belong to none. The
    // BFS lists are then rewritten in ascending node order by one counting pass over the graph
    // (ws.local holds the component id meanwhile, set when a node is queued).
    //
    // The solvers index a component's matrix by the local numbers of its nodes' neighbours, so
    // every edge must stay inside its component and reach a node with an edge of its own. A
    // symmetric support guarantees both (it is checked in forward); they are verified here as
    // well, at no cost, so that no input can make the indices run out of range.
    std::vector<detail::NDPComponent> comps;
    Index pos = lo;
    for (Index root = lo; root < hi; ++root) {
      if (at(ws.degree, root) == 0 || at(ws.colour, root) != 0) continue;
      const auto id = static_cast<Index>(comps.size());
      detail::NDPComponent c;
      c.begin = pos;
      at(ws.colour, root) = 1;
      at(ws.local, root) = id;
      at(ws.nodes, pos++) = root;
      for (Index head = c.begin; head < pos; ++head) {
        const Index u = at(ws.nodes, head);
        for (StorageIndex p = outer[u]; p < outer[u + 1]; ++p) {
          if (!edge(u, p)) continue;
          const Index v = inner[p];
          if (at(ws.colour, v) == 0) {
            if (at(ws.degree, v) == 0) raise_asymmetric(u, v);
            at(ws.colour, v) = static_cast<signed char>(-at(ws.colour, u));
            at(ws.local, v) = id;
            at(ws.nodes, pos++) = v;
          } else {
            if (at(ws.local, v) != id) raise_asymmetric(u, v);
            if (at(ws.colour, v) == at(ws.colour, u)) c.bipartite = false;
          }
        }
      }
      c.size = pos - c.begin;
      comps.push_back(c);
    }
    {
      std::vector<Index> fill(comps.size(), 0);
      for (Index i = lo; i < hi; ++i) {
        if (at(ws.degree, i) == 0) continue;
        auto& c = comps[static_cast<std::size_t>(at(ws.local, i))];
        Index& f = fill[static_cast<std::size_t>(at(ws.local, i))];
        at(ws.nodes, c.begin + f) = i;
        at(ws.local, i) = f++;
      }
    }
    info.components = static_cast<Index>(comps.size());

    bool failed = false;
    for (auto& c : comps) {
      solve_component(in, ws, c, info.matrix_products);
      failed = failed || c.method == NDPEigenMethod::failed;
    }
    Index carrier = -1;
    if (failed) {
      info.method = NDPEigenMethod::failed;
    } else if (!comps.empty()) {
      double best = comps.front().lambda;
      for (const auto& c : comps) best = std::max(best, c.lambda);
      Index tied = 0;
      for (std::size_t t = 0; t < comps.size(); ++t)
        if (comps[t].lambda >= best - m_options.tie_tolerance) {
          if (carrier < 0) carrier = static_cast<Index>(t);
          ++tied;
        }
      const auto& c = comps[static_cast<std::size_t>(carrier)];
      info.eigenvalue = c.lambda;
      info.gap = c.gap;
      info.method = c.method;
      info.tie = tied > 1;
      // Unit norm, zero snap, then the lowest-index nonzero entry positive.
      double norm = 0;
      for (Index t = c.begin; t < c.begin + c.size; ++t) norm += at(ws.v, at(ws.nodes, t)) * at(ws.v, at(ws.nodes, t));
      norm = std::sqrt(norm);
      double sign = 0;
      for (Index t = c.begin; t < c.begin + c.size; ++t) {
        const Index u = at(ws.nodes, t);
        double x = at(ws.v, u) / norm;
        if (std::abs(x) <= m_options.zero_tolerance) x = 0;
        if (sign == 0 && x != 0) sign = x > 0 ? 1.0 : -1.0;
        at(cache.eigenvector, u) = x;
      }
      for (Index t = c.begin; t < c.begin + c.size; ++t) at(cache.eigenvector, at(ws.nodes, t)) *= sign;
    }

    for (Index i = lo; i < hi; ++i) at(cache.partition, i) = at(cache.eigenvector, i) >= 0 ? 1 : -1;
    bool fallback = failed;
    if (!failed && total > 0) {
      double cut = 0;
      for (Index i = lo; i < hi; ++i)
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
          if (edge(i, p) && at(cache.partition, i) != at(cache.partition, inner[p])) cut += static_cast<double>(value[p]);
      info.cut = cut / total;
      fallback = info.cut < m_options.cut_threshold;
    }
    if (fallback) {
      info.random_split = true;
      random_split(lo, hi, cache.partition);
    }
  }

  /// The edge (u, v) has no mirror (v -> u) although the component search met it: only an
  /// asymmetric support gets here (see split_graph).
  [[noreturn]] static void raise_asymmetric(Index u, Index v) {
    detail::raise<invalid_argument>(detail::concat(
        "NDPSelect: the graph must be undirected, but A(", u, ", ", v, ") is an edge and A(", v, ", ", u,
        ") is not (NDP splits each connected component of an undirected graph)"));
  }

  void random_split(Index lo, Index hi, std::vector<signed char>& z) const {
    auto set = [&](Index i, bool plus) { z[static_cast<std::size_t>(i)] = plus ? 1 : -1; };
    if (!m_options.fallback_partition.empty()) {
      for (Index i = lo; i < hi; ++i) set(i, m_options.fallback_partition[static_cast<std::size_t>(i)] > 0);
    } else if (m_options.random_split == NDPRandomSplit::numpy) {
      std::mt19937 rng(static_cast<std::uint32_t>(m_options.seed & 0xffffffffULL));
      for (Index i = lo; i < hi; ++i) set(i, (rng() & 1u) != 0);
    } else {
      std::mt19937_64 rng(m_options.seed);
      for (Index i = lo; i < hi; ++i) set(i, i == lo || (i != lo + 1 && (rng() >> 63) != 0));
    }
  }

  void solve_component(const BatchRef<Scalar>& in, detail::NDPWorkspace& ws, detail::NDPComponent& c,
                       Index& products) const {
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar* value = in.adj.valuePtr();
    auto at = [](auto& v, Index i) -> decltype(auto) { return v[static_cast<std::size_t>(i)]; };
    const Index m = c.size;
    auto node = [&](Index t) { return at(ws.nodes, c.begin + t); };
    // Ls entry of a stored edge: -w / sqrt(d_u d_v); self loops and zero weights are skipped.
    auto entry = [&](Index u, StorageIndex p) {
      return -static_cast<double>(value[p]) * at(ws.inv_sqrt_degree, u) * at(ws.inv_sqrt_degree, inner[p]);
    };
    auto is_edge = [&](Index u, StorageIndex p) { return inner[p] != u && value[p] > Scalar(0); };

    if (c.bipartite && m_options.bipartite_closed_form) {
      c.method = NDPEigenMethod::bipartite;
      c.lambda = 2.0;
      for (Index t = 0; t < m; ++t) at(ws.v, node(t)) = at(ws.colour, node(t)) * std::sqrt(at(ws.degree, node(t)));
      return;
    }
    if (m <= std::max<Index>(m_options.dense_limit, 3) || !GNNPOOL_HAS_SPECTRA) {
      GNNPOOL_CHECK(m <= std::max<Index>(m_options.dense_limit, detail::ndp_dense_cap), error,
                    "NDPSelect: a connected component of ", m,
                    " nodes needs the Lanczos solver, but gnnpool was built without Spectra");
      Eigen::MatrixXd ls = Eigen::MatrixXd::Identity(m, m);
      for (Index t = 0; t < m; ++t) {
        const Index u = node(t);
        for (StorageIndex p = outer[u]; p < outer[u + 1]; ++p)
          if (is_edge(u, p)) ls(t, at(ws.local, inner[p])) = entry(u, p);
      }
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(ls);
      GNNPOOL_CHECK(es.info() == Eigen::Success, error, "NDPSelect: the dense eigensolver failed on a component of ",
                    m, " nodes");
      c.method = NDPEigenMethod::dense;
      c.lambda = es.eigenvalues()[m - 1];
      c.gap = c.lambda - es.eigenvalues()[m - 2];
      for (Index t = 0; t < m; ++t) at(ws.v, node(t)) = es.eigenvectors()(t, m - 1);
      return;
    }
#if GNNPOOL_HAS_SPECTRA
    // Lower triangle of Ls in CSR with local indices (ascending, since nodes are sorted).
    Eigen::SparseMatrix<double, Eigen::RowMajor, int> ls(m, m);
    {
      Index nnz = 0;
      for (Index t = 0; t < m; ++t) {
        const Index u = node(t);
        ++nnz;
        for (StorageIndex p = outer[u]; p < outer[u + 1]; ++p) nnz += is_edge(u, p) && inner[p] < u;
      }
      ls.resizeNonZeros(nnz);
      int* row = ls.outerIndexPtr();
      int* col = ls.innerIndexPtr();
      double* val = ls.valuePtr();
      int k = 0;
      row[0] = 0;
      for (Index t = 0; t < m; ++t) {
        const Index u = node(t);
        for (StorageIndex p = outer[u]; p < outer[u + 1] && inner[p] < u; ++p)
          if (is_edge(u, p)) {
            col[k] = static_cast<int>(at(ws.local, inner[p]));
            val[k++] = entry(u, p);
          }
        col[k] = static_cast<int>(t);
        val[k++] = 1.0;
        row[t + 1] = k;
      }
    }
    using Op = Spectra::SparseSymMatProd<double, Eigen::Lower, Eigen::RowMajor, int>;
    Op op(ls);
    Index ncv = std::min(m, m_options.lanczos_ncv);
    for (int attempt = 0; attempt < 2; ++attempt) {
      Spectra::SymEigsSolver<Op> eigs(op, 1, ncv);
      eigs.init();
      eigs.compute(Spectra::SortRule::LargestAlge, m_options.lanczos_max_restarts, m_options.lanczos_tolerance);
      products += eigs.num_operations();
      if (eigs.info() == Spectra::CompInfo::Successful) {
        c.method = NDPEigenMethod::lanczos;
        c.lambda = eigs.eigenvalues()[0];
        const Eigen::VectorXd v = eigs.eigenvectors().col(0);
        for (Index t = 0; t < m; ++t) at(ws.v, node(t)) = v[t];
        return;
      }
      ncv = std::min(m, 4 * ncv);
    }
    c.method = NDPEigenMethod::failed;
#endif
  }

  NDPSelectOptions m_options;
};

}  // namespace gnnpool

#endif
