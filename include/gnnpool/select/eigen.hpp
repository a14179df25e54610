#ifndef GNNPOOL_SELECT_EIGEN_HPP
#define GNNPOOL_SELECT_EIGEN_HPP

/// \file
/// `EigenSelect`: EigenPool's selection (Ma et al., "Graph convolutional networks with
/// EigenPooling", KDD 2019; tgp's `EigenPoolSelect`): a hard clustering of every graph (spectral
/// clustering, deterministic) and, per cluster, the eigenvectors of its normalised Laplacian
/// (the graph Fourier modes) as the pooling matrix theta.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/leading_eigen.hpp>

#include <Eigen/Eigenvalues>
#include <Eigen/SparseCore>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace gnnpool {

/// EigenPool's selection: the one-hot clustering Omega as a soft assignment (`s`, N x K, rows of
/// graph b's clusters b K .. b K + k_b; the rest zero) and the pooling matrix theta (N x K M,
/// column m K + c: mode m of cluster c, zero outside the cluster).
template <typename Scalar>
struct EigenSelection : SoftSelection<Scalar> {
  Matrix<Scalar> theta;    ///< N x (K modes)
  IndexVector assignment;  ///< every node's supernode, b K + (its cluster within graph b)
  Index modes = 1;
};

/// Settings of `EigenSelect`.
struct EigenSelectOptions {
  Index k = 0;      ///< clusters per graph (k_b = max(1, min(k, n_b)))
  Index modes = 5;  ///< graph Fourier modes kept per cluster (tgp's num_modes)
  /// Deterministic restarts of the k-means of the spectral clustering; the clustering with the
  /// lowest normalised cut is kept.
  Index restarts = 8;
  /// A clustering given by the caller (every node's cluster within its graph, 0 .. k_b - 1), e.g.
  /// recorded from scikit-learn's SpectralClustering; null: gnnpool's own. Must outlive the calls.
  const IndexVector* given_clusters = nullptr;
  /// A pooling matrix given by the caller (N x k modes), e.g. recorded from tgp's numpy eigh
  /// (degenerate eigenvalues leave each eigenspace's basis to the solver); null: computed.
  const Matrix<double>* given_theta = nullptr;
  /// Graphs (for the clustering) and clusters (for their modes) of at most this many nodes use
  /// the dense eigensolver (exact, O(n^3) time, O(n^2) memory); larger ones the sparse
  /// Chebyshev-filtered subspace iteration below (O(E) memory; exact to its tolerance when it
  /// converges, the leading subspace approximated when it stops at max_iterations).
  Index dense_limit = 128;
  SubspaceEigenOptions iterative{};
};

namespace detail {

/// Normalised cut of a clustering of graph b: sum_c cut(c) / vol(c) (clusters of zero volume
/// count 0). O(E_b).
template <typename Scalar>
double normalized_cut(const SparseMatrix<Scalar>& a, Index lo, Index n, const IndexVector& cluster, Index k) {
  std::vector<double> cut(static_cast<std::size_t>(k), 0.0), vol(static_cast<std::size_t>(k), 0.0);
  for (Index i = 0; i < n; ++i)
    for (StorageIndex p = a.outerIndexPtr()[lo + i]; p < a.outerIndexPtr()[lo + i + 1]; ++p) {
      const auto ci = static_cast<std::size_t>(cluster[static_cast<std::size_t>(i)]);
      const double w = static_cast<double>(a.valuePtr()[p]);
      vol[ci] += w;
      if (cluster[static_cast<std::size_t>(Index(a.innerIndexPtr()[p]) - lo)] != cluster[static_cast<std::size_t>(i)]) cut[ci] += w;
    }
  double total = 0;
  for (std::size_t c = 0; c < cut.size(); ++c)
    if (vol[c] > 0) total += cut[c] / vol[c];
  return total;
}

/// The stored entries of A among a node subset, as triplets on local indices, in CSR order: for
/// every node nodes[q] (row lo + nodes[q] of A) and every stored entry of its row whose column c
/// has a local index r = local(c - lo) >= 0, the triplet (q, r, value(A_e)), left out when that
/// value is 0. Shared by the clustering's normalised adjacency and the per-cluster Laplacians.
template <typename Scalar, typename Local, typename Value>
void block_triplets(const SparseMatrix<Scalar>& a, Index lo, const std::vector<Index>& nodes, Local&& local,
                    Value&& value, std::vector<Eigen::Triplet<double, Index>>& entries) {
  entries.clear();
  const StorageIndex* outer = a.outerIndexPtr();
  for (Index q = 0; q < static_cast<Index>(nodes.size()); ++q) {
    const Index row = lo + nodes[static_cast<std::size_t>(q)];
    for (StorageIndex e = outer[row]; e < outer[row + 1]; ++e) {
      const Index r = local(Index(a.innerIndexPtr()[e]) - lo);
      const double w = value(static_cast<double>(a.valuePtr()[e]));
      if (r >= 0 && w != 0) entries.emplace_back(q, r, w);
    }
  }
}

/// Graph b's (or a node subset's) normalised adjacency (M + M^T) / 2, M = D^-1/2 A D^-1/2 with
/// A's negative weights read as 0 and D its row sums, as a sparse double matrix on local indices.
/// `local(j)` maps a node of the batch to its local index (-1: outside). O(E log E).
template <typename Scalar, typename Local>
Eigen::SparseMatrix<double, Eigen::RowMajor> normalized_block(const SparseMatrix<Scalar>& a, const std::vector<Index>& nodes,
                                                              Local&& local) {
  using Sparse = Eigen::SparseMatrix<double, Eigen::RowMajor>;
  const Index n = static_cast<Index>(nodes.size());
  std::vector<Eigen::Triplet<double, Index>> entries;
  block_triplets(a, 0, nodes, local, [](double w) { return std::max(w, 0.0); }, entries);
  std::vector<double> d(static_cast<std::size_t>(n), 0.0);
  for (const auto& t : entries) d[static_cast<std::size_t>(t.row())] += t.value();  // row order: the same sums
  for (auto& t : entries) {
    const double di = d[static_cast<std::size_t>(t.row())], dj = d[static_cast<std::size_t>(t.col())];
    t = Eigen::Triplet<double, Index>(t.row(), t.col(), di > 0 && dj > 0 ? t.value() / std::sqrt(di * dj) : 0.0);
  }
  Sparse m(n, n);
  m.setFromTriplets(entries.begin(), entries.end());
  return Sparse(Sparse(m + Sparse(m.transpose())) / 2.0);
}

/// The k leading eigenvectors (largest eigenvalues) of a symmetric sparse matrix: dense
/// eigensolver up to `o.dense_limit` rows, the Chebyshev-filtered subspace iteration above it
/// (spectrum bound by Gershgorin's discs). n x k.
inline Eigen::MatrixXd leading_eigenvectors(const Eigen::SparseMatrix<double, Eigen::RowMajor>& m, Index k,
                                            const EigenSelectOptions& o) {
  const Index n = m.rows();
  if (n <= o.dense_limit) {
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig{Eigen::MatrixXd(m)};
    return eig.eigenvectors().rightCols(k).rowwise().reverse();
  }
  double bound = 0;
  for (Index i = 0; i < n; ++i) {
    double row = 0;
    for (Eigen::SparseMatrix<double, Eigen::RowMajor>::InnerIterator it(m, i); it; ++it) row += std::abs(it.value());
    bound = std::max(bound, row);
  }
  return leading_eigenpairs(m, k, -bound, bound, o.iterative).vectors;
}

/// Lloyd's k-means of the columns of `points` (k x n: one point per column) from farthest-first
/// centres starting at node `first`, until no label changes or the centres move by at most
/// scikit-learn's tolerance (at most 300 sweeps). Distances to the centres as |c|^2 - 2 c.x
/// (one GEMM per sweep); ties go to the lower centre. O(sweeps n k^2).
inline IndexVector lloyd_kmeans(const Eigen::MatrixXd& points, Index k, Index first) {
  const Index n = points.cols(), dim = points.rows();
  std::vector<Index> centres{first};
  std::vector<double> dist(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
  while (static_cast<Index>(centres.size()) < k) {
    const Index last = centres.back();
    Index far = 0;
    for (Index i = 0; i < n; ++i) {
      auto& di = dist[static_cast<std::size_t>(i)];
      di = std::min(di, (points.col(i) - points.col(last)).squaredNorm());
      if (di > dist[static_cast<std::size_t>(far)]) far = i;
    }
    centres.push_back(far);
  }
  Eigen::MatrixXd c(k, dim), g;
  for (Index q = 0; q < k; ++q) c.row(q) = points.col(centres[static_cast<std::size_t>(q)]).transpose();
  // scikit-learn's stopping rule: the centres moved by at most tol = 1e-4 of the mean variance
  // of the coordinates (squared, summed over the centres); then one last assignment.
  const Eigen::VectorXd mean = points.rowwise().mean();
  const double tol = 1e-4 * (points.colwise() - mean).squaredNorm() / static_cast<double>(n * dim);
  IndexVector label(static_cast<std::size_t>(n), -1);
  auto assign = [&] {
    g.noalias() = c * points;  // k x n
    const Eigen::VectorXd cn = c.rowwise().squaredNorm();
    bool changed = false;
    for (Index i = 0; i < n; ++i) {
      Index arg = 0;
      double best_d = std::numeric_limits<double>::infinity();
      for (Index q = 0; q < k; ++q) {
        const double dd = cn[q] - 2 * g(q, i);
        if (dd < best_d) best_d = dd, arg = q;
      }
      if (label[static_cast<std::size_t>(i)] != arg) changed = true, label[static_cast<std::size_t>(i)] = arg;
    }
    return changed;
  };
  // The sweeps' buffers, allocated once; a cluster's sum is a column, so adding a point is contiguous.
  Eigen::MatrixXd sum(dim, k);
  Eigen::RowVectorXd moved(dim);
  std::vector<Index> count(static_cast<std::size_t>(k));
  for (int it = 0; it < 300 && assign(); ++it) {
    sum.setZero();
    std::fill(count.begin(), count.end(), Index(0));
    for (Index i = 0; i < n; ++i) {
      const Index l = label[static_cast<std::size_t>(i)];
      sum.col(l) += points.col(i);
      ++count[static_cast<std::size_t>(l)];
    }
    double shift = 0;
    for (Index q = 0; q < k; ++q)
      if (count[static_cast<std::size_t>(q)] > 0) {
        moved = sum.col(q).transpose() / static_cast<double>(count[static_cast<std::size_t>(q)]);
        shift += (moved - c.row(q)).squaredNorm();
        c.row(q) = moved;
      }
    if (shift <= tol) {
      assign();
      break;
    }
  }
  // Renumber by first appearance; empty clusters simply do not occur in the labels.
  std::vector<Index> map(static_cast<std::size_t>(k), -1);
  Index next = 0;
  for (auto& l : label) {
    auto& mapped = map[static_cast<std::size_t>(l)];
    if (mapped < 0) mapped = next++;
    l = mapped;
  }
  return label;
}

/// Deterministic spectral clustering of graph b into k clusters (Ng, Jordan & Weiss): the k
/// leading eigenvectors of D^-1/2 A D^-1/2 (`leading_eigenvectors`: dense up to
/// `o.dense_limit` nodes, sparse subspace iteration above), rows normalised, then k-means
/// (`lloyd_kmeans`) from `o.restarts` farthest-first initialisations that start at evenly
/// spaced nodes (in parallel, each on its own); the clustering of lowest normalised cut wins
/// (the first on ties). Labels are renumbered by first appearance (node order).
template <typename Scalar>
IndexVector spectral_clustering(const SparseMatrix<Scalar>& a, Index lo, Index n, Index k, const EigenSelectOptions& o) {
  std::vector<Index> nodes(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) nodes[static_cast<std::size_t>(i)] = lo + i;
  const auto m = normalized_block(a, nodes, [&](Index j) { return j >= lo && j < lo + n ? j - lo : Index(-1); });
  Eigen::MatrixXd points = leading_eigenvectors(m, k, o).transpose();  // k x n
  for (Index i = 0; i < n; ++i) {
    const double norm = points.col(i).norm();
    if (norm > 0) points.col(i) /= norm;
  }
  const Index restarts = std::max<Index>(o.restarts, 1);
  std::vector<IndexVector> labels(static_cast<std::size_t>(restarts));
  std::vector<double> cuts(static_cast<std::size_t>(restarts));
  parallel_for(restarts, [&](Index r) {
    labels[static_cast<std::size_t>(r)] = lloyd_kmeans(points, k, (r * n) / restarts);
    cuts[static_cast<std::size_t>(r)] = normalized_cut(a, lo, n, labels[static_cast<std::size_t>(r)], k);
  });
  std::size_t best = 0;
  for (std::size_t r = 1; r < cuts.size(); ++r)
    if (cuts[r] < cuts[best]) best = r;
  return labels[best];
}

}  // namespace detail

/// theta of graph b (rows lo .. lo + n, columns m K + c) for the clustering `cluster` (n
/// entries, the cluster of each of the graph's nodes): per
/// cluster c with nodes V_c (ascending), the eigenvectors of L_c = I - D^-1/2 A_c D^-1/2 (A_c the
/// cluster's induced weighted adjacency, D its column sums), ascending eigenvalues; mode m is
/// eigenvector min(m, |V_c| - 1), its sign fixed so that the entry of V_c's lowest node is >= 0
/// (tgp's rule). A single-node cluster gets its self-loop weight A_vv in every mode (tgp).
/// Degenerate eigenvalues leave the basis of their eigenspace to the solver (as numpy's eigh).
/// Clusters of at most `o.dense_limit` nodes (or at most `modes`): the dense eigensolver,
/// O(|V_c|^3); larger ones: the `modes` largest eigenpairs of D^-1/2 A_c D^-1/2 (the smallest of
/// L_c) by the sparse subspace iteration (`o.iterative`), O(E_c) memory. `o.modes` is not read.
template <typename Scalar>
void eigen_pooling_matrix(const SparseMatrix<Scalar>& a, Index lo, Index n, const IndexVector& cluster, Index k,
                          Index modes, Matrix<Scalar>& theta, const EigenSelectOptions& o = {}) {
  using Sparse = Eigen::SparseMatrix<double, Eigen::RowMajor>;
  std::vector<std::vector<Index>> members(static_cast<std::size_t>(k));
  for (Index i = 0; i < n; ++i) members[static_cast<std::size_t>(cluster[static_cast<std::size_t>(i)])].push_back(i);
  // The clusters in parallel (inline when the caller already runs in parallel, e.g. over the
  // graphs of a batch): each writes the rows of its own nodes in its own columns, computed alone.
  detail::parallel_for(k, [&](Index c) {
    std::vector<Eigen::Triplet<double, Index>> entries;
    const std::vector<Index>& nodes = members[static_cast<std::size_t>(c)];
    const Index size = static_cast<Index>(nodes.size());
    if (size == 0) return;
    auto local = [&](Index node) {
      const auto it = std::lower_bound(nodes.begin(), nodes.end(), node);
      return it != nodes.end() && *it == node ? static_cast<Index>(it - nodes.begin()) : Index(-1);
    };
    // Stored zeros are left out: they add nothing to L_c's values or degrees.
    detail::block_triplets(a, lo, nodes, local, [](double w) { return w; }, entries);
    Sparse ac(size, size);
    ac.setFromTriplets(entries.begin(), entries.end());
    auto write = [&](Index m, const Eigen::VectorXd& col) {
      Eigen::VectorXd v = col;
      if (v[0] < 0) v = -v;
      for (Index q = 0; q < size; ++q) theta(lo + nodes[static_cast<std::size_t>(q)], m * k + c) = static_cast<Scalar>(v[q]);
    };
    if (size == 1) {
      for (Index m = 0; m < modes; ++m) theta(lo + nodes[0], m * k + c) = static_cast<Scalar>(ac.coeff(0, 0));
      return;
    }
    // tgp's cluster Laplacian: column sums plus the smallest subnormal, negative weights kept
    // (what the conformance vectors pin), unlike the clustering's row sums of clamped weights.
    Eigen::VectorXd d = Eigen::VectorXd::Constant(size, std::numeric_limits<double>::denorm_min());
    for (Index q = 0; q < size; ++q)
      for (Sparse::InnerIterator it(ac, q); it; ++it) d[it.col()] += it.value();
    const Eigen::VectorXd r = d.array().rsqrt();
    if (size <= std::max(o.dense_limit, modes)) {
      const Eigen::MatrixXd l = Eigen::MatrixXd::Identity(size, size) - r.asDiagonal() * Eigen::MatrixXd(ac) * r.asDiagonal();
      const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(Eigen::MatrixXd((l + l.transpose()) / 2));
      for (Index m = 0; m < modes; ++m) write(m, eig.eigenvectors().col(std::min(m, size - 1)));
    } else {
      // L_c's smallest eigenpairs are the largest of N = (D^-1/2 A_c D^-1/2 + its transpose) / 2.
      Sparse nc = r.asDiagonal() * ac * r.asDiagonal();
      nc = Sparse(Sparse(nc + Sparse(nc.transpose())) / 2.0);
      const Eigen::MatrixXd v = detail::leading_eigenvectors(nc, modes, o);
      for (Index m = 0; m < modes; ++m) write(m, v.col(m));
    }
  });
}

/// EigenPool's selection, tgp's `EigenPoolSelect` (no parameters, features not read). Per graph
/// b with k_b = max(1, min(K, n_b)): k_b = 1: one cluster; k_b >= n_b: every node its own
/// cluster; otherwise the given clustering or gnnpool's deterministic spectral clustering
/// (`detail::spectral_clustering`). Then theta (`eigen_pooling_matrix`) with `modes` modes.
/// K columns per graph (graph b's clusters b K .. b K + k_b; the others empty), K = options.k.
/// Backward: nothing flows through the selection (a constant, as in tgp); the clustering is a
/// discrete decision (`assignment`, reported by the pooler). Cost: the clustering and the
/// per-cluster eigenvectors, dense (O(n^3)) for graphs and clusters of at most `dense_limit`
/// nodes, sparse subspace iteration above it (O(iterations degree E k) time, O(E + n k) memory),
/// and the k-means, O(restarts sweeps n k^2). Thread-safe (const).
template <typename Scalar_>
class EigenSelect {
 public:
  using Scalar = Scalar_;
  using Selection = EigenSelection<Scalar>;
  struct Cache {};

  explicit EigenSelect(EigenSelectOptions options) : m_options(options) {
    GNNPOOL_CHECK(options.k >= 1, invalid_argument, "EigenSelect: k must be >= 1, got ", options.k);
    GNNPOOL_CHECK(options.modes >= 1, invalid_argument, "EigenSelect: modes must be >= 1, got ", options.modes);
    GNNPOOL_CHECK(options.dense_limit >= 0, invalid_argument, "EigenSelect: dense_limit must be >= 0, got ", options.dense_limit);
    const SubspaceEigenOptions& it = options.iterative;
    GNNPOOL_CHECK(it.extra >= 0 && it.degree >= 1 && it.max_iterations >= 0 && it.tolerance >= 0, invalid_argument,
                  "EigenSelect: iterative needs extra >= 0, degree >= 1, max_iterations >= 0 and tolerance >= 0, got ",
                  it.extra, ", ", it.degree, ", ", it.max_iterations, ", ", it.tolerance);
  }
  const EigenSelectOptions& options() const { return m_options; }
  Index num_clusters() const { return m_options.k; }
  void parameter_slots(std::vector<Index>& /*out*/) const {}

  void forward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, Selection& sel, Cache& /*cache*/) const {
    const Index n = in.num_nodes(), k = m_options.k, nb = in.num_graphs();
    if (m_options.given_clusters)
      GNNPOOL_CHECK(static_cast<Index>(m_options.given_clusters->size()) == n, shape_error, "EigenSelect: ",
                    m_options.given_clusters->size(), " given clusters for ", n, " nodes");
    sel.assignment.assign(static_cast<std::size_t>(n), 0);
    sel.modes = m_options.modes;
    sel.s.setZero(n, k);
    sel.theta.setZero(n, k * m_options.modes);
    sel.offsets = in.offsets;
    if (m_options.given_clusters)
      for (Index i = 0; i < n; ++i) {
        const Index c = (*m_options.given_clusters)[static_cast<std::size_t>(i)];
        GNNPOOL_CHECK(c >= 0 && c < k, invalid_argument, "EigenSelect: node ", i, " has the given cluster ", c,
                      ", outside 0 .. ", k - 1);
      }
    // The graphs in parallel: each writes its own rows of s, theta and the assignment, and its
    // clustering and eigenvectors are computed alone (the loops inside run on one thread then),
    // so the result does not depend on the number of threads.
    detail::parallel_for(nb, [&](Index b) {
      const Index lo = in.graph_begin(b), nn = in.graph_size(b);
      if (nn == 0) return;
      const Index kb = std::max<Index>(1, std::min(k, nn));
      IndexVector local(static_cast<std::size_t>(nn), 0);
      if (m_options.given_clusters) {
        for (Index i = 0; i < nn; ++i) local[static_cast<std::size_t>(i)] = (*m_options.given_clusters)[static_cast<std::size_t>(lo + i)];
      } else if (kb >= nn && nn > 1) {
        for (Index i = 0; i < nn; ++i) local[static_cast<std::size_t>(i)] = i;
      } else if (kb > 1) {
        local = detail::spectral_clustering(in.adj, lo, nn, kb, m_options);
      }
      for (Index i = 0; i < nn; ++i) {
        sel.assignment[static_cast<std::size_t>(lo + i)] = b * k + local[static_cast<std::size_t>(i)];
        sel.s(lo + i, local[static_cast<std::size_t>(i)]) = Scalar(1);
      }
      if (!m_options.given_theta) eigen_pooling_matrix(in.adj, lo, nn, local, k, m_options.modes, sel.theta, m_options);
    });
    if (m_options.given_theta) {
      GNNPOOL_CHECK(m_options.given_theta->rows() == n && m_options.given_theta->cols() == k * m_options.modes, shape_error,
                    "EigenSelect: the given theta is ", detail::shape(m_options.given_theta->rows(), m_options.given_theta->cols()),
                    ", expected ", detail::shape(n, k * m_options.modes));
      sel.theta = m_options.given_theta->template cast<Scalar>();
    }
  }

  void backward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& /*in*/, const Selection& /*sel*/,
                const Cache& /*cache*/, const Matrix<Scalar>& /*dsel*/, BatchGrad<Scalar>& /*din*/,
                ParameterSet<Scalar>& /*dparams*/) const {}

 private:
  EigenSelectOptions m_options;
};

}  // namespace gnnpool

#endif
