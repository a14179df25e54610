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
#include <gnnpool/core/selection.hpp>

#include <Eigen/Eigenvalues>

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

/// Deterministic spectral clustering of graph b into k clusters (Ng, Jordan & Weiss): the k
/// leading eigenvectors of D^-1/2 A D^-1/2 (dense, per graph), rows normalised, then k-means
/// (Lloyd to convergence) from `restarts` farthest-first initialisations that start at evenly
/// spaced nodes; the clustering of lowest normalised cut wins. Labels are renumbered by first
/// appearance (node order). O(n^3) for the eigenvectors, O(restarts iterations n k^2) for k-means.
template <typename Scalar>
IndexVector spectral_clustering(const SparseMatrix<Scalar>& a, Index lo, Index n, Index k, Index restarts) {
  using Dense = Eigen::MatrixXd;
  Dense m = Dense::Zero(n, n);
  std::vector<double> d(static_cast<std::size_t>(n), 0.0);
  for (Index i = 0; i < n; ++i)
    for (StorageIndex p = a.outerIndexPtr()[lo + i]; p < a.outerIndexPtr()[lo + i + 1]; ++p) {
      const double w = std::max(static_cast<double>(a.valuePtr()[p]), 0.0);
      m(i, Index(a.innerIndexPtr()[p]) - lo) += w;
      d[static_cast<std::size_t>(i)] += w;
    }
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      const double di = d[static_cast<std::size_t>(i)], dj = d[static_cast<std::size_t>(j)];
      m(i, j) = di > 0 && dj > 0 ? m(i, j) / std::sqrt(di * dj) : 0.0;
    }
  const Eigen::SelfAdjointEigenSolver<Dense> eig(Dense((m + m.transpose()) / 2));
  Dense u = eig.eigenvectors().rightCols(k);  // the k largest eigenvalues
  for (Index i = 0; i < n; ++i) {
    const double norm = u.row(i).norm();
    if (norm > 0) u.row(i) /= norm;
  }
  IndexVector best;
  double best_cut = std::numeric_limits<double>::infinity();
  for (Index r = 0; r < std::max<Index>(restarts, 1); ++r) {
    // Farthest-first centres from node r n / restarts.
    std::vector<Index> centres{(r * n) / std::max<Index>(restarts, 1)};
    std::vector<double> dist(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
    while (static_cast<Index>(centres.size()) < k) {
      const Index last = centres.back();
      Index far = 0;
      for (Index i = 0; i < n; ++i) {
        dist[static_cast<std::size_t>(i)] = std::min(dist[static_cast<std::size_t>(i)], (u.row(i) - u.row(last)).squaredNorm());
        if (dist[static_cast<std::size_t>(i)] > dist[static_cast<std::size_t>(far)]) far = i;
      }
      centres.push_back(far);
    }
    Dense c(k, k);
    for (Index q = 0; q < k; ++q) c.row(q) = u.row(centres[static_cast<std::size_t>(q)]);
    IndexVector label(static_cast<std::size_t>(n), -1);
    for (int it = 0; it < 300; ++it) {
      bool changed = false;
      for (Index i = 0; i < n; ++i) {
        Index arg = 0;
        double best_d = std::numeric_limits<double>::infinity();
        for (Index q = 0; q < k; ++q) {
          const double dd = (u.row(i) - c.row(q)).squaredNorm();
          if (dd < best_d) best_d = dd, arg = q;
        }
        if (label[static_cast<std::size_t>(i)] != arg) changed = true, label[static_cast<std::size_t>(i)] = arg;
      }
      if (!changed) break;
      Dense sum = Dense::Zero(k, k);
      std::vector<Index> count(static_cast<std::size_t>(k), 0);
      for (Index i = 0; i < n; ++i) {
        sum.row(label[static_cast<std::size_t>(i)]) += u.row(i);
        ++count[static_cast<std::size_t>(label[static_cast<std::size_t>(i)])];
      }
      for (Index q = 0; q < k; ++q)
        if (count[static_cast<std::size_t>(q)] > 0) c.row(q) = sum.row(q) / static_cast<double>(count[static_cast<std::size_t>(q)]);
    }
    // Renumber by first appearance; empty clusters simply do not occur in the labels.
    std::vector<Index> map(static_cast<std::size_t>(k), -1);
    Index next = 0;
    for (auto& l : label) {
      auto& mapped = map[static_cast<std::size_t>(l)];
      if (mapped < 0) mapped = next++;
      l = mapped;
    }
    const double cut = normalized_cut(a, lo, n, label, k);
    if (cut < best_cut) best_cut = cut, best = label;
  }
  return best;
}

}  // namespace detail

/// theta of graph b (rows lo .. lo + n, columns m K + c) for the clustering `cluster` (n
/// entries, the cluster of each of the graph's nodes): per
/// cluster c with nodes V_c (ascending), the eigenvectors of L_c = I - D^-1/2 A_c D^-1/2 (A_c the
/// cluster's induced weighted adjacency, D its column sums), ascending eigenvalues; mode m is
/// eigenvector min(m, |V_c| - 1), its sign fixed so that the entry of V_c's lowest node is >= 0
/// (tgp's rule). A single-node cluster gets its self-loop weight A_vv in every mode (tgp).
/// Degenerate eigenvalues leave the basis of their eigenspace to the solver (as numpy's eigh).
/// Dense per cluster: O(sum_c |V_c|^3).
template <typename Scalar>
void eigen_pooling_matrix(const SparseMatrix<Scalar>& a, Index lo, Index n, const IndexVector& cluster, Index k,
                          Index modes, Matrix<Scalar>& theta) {
  for (Index c = 0; c < k; ++c) {
    std::vector<Index> nodes;
    for (Index i = 0; i < n; ++i)
      if (cluster[static_cast<std::size_t>(i)] == c) nodes.push_back(i);
    const Index size = static_cast<Index>(nodes.size());
    if (size == 0) continue;
    auto local = [&](Index node) {
      const auto it = std::lower_bound(nodes.begin(), nodes.end(), node);
      return it != nodes.end() && *it == node ? static_cast<Index>(it - nodes.begin()) : Index(-1);
    };
    Eigen::MatrixXd ac = Eigen::MatrixXd::Zero(size, size);
    for (Index q = 0; q < size; ++q)
      for (StorageIndex p = a.outerIndexPtr()[lo + nodes[static_cast<std::size_t>(q)]];
           p < a.outerIndexPtr()[lo + nodes[static_cast<std::size_t>(q)] + 1]; ++p) {
        const Index r = local(Index(a.innerIndexPtr()[p]) - lo);
        if (r >= 0) ac(q, r) += static_cast<double>(a.valuePtr()[p]);
      }
    if (size == 1) {
      for (Index m = 0; m < modes; ++m) theta(lo + nodes[0], m * k + c) = static_cast<Scalar>(ac(0, 0));
      continue;
    }
    const Eigen::VectorXd d = ac.colwise().sum().transpose().array() + std::numeric_limits<double>::denorm_min();
    const Eigen::VectorXd r = d.array().rsqrt();
    const Eigen::MatrixXd l = Eigen::MatrixXd::Identity(size, size) - r.asDiagonal() * ac * r.asDiagonal();
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(Eigen::MatrixXd((l + l.transpose()) / 2));
    for (Index m = 0; m < modes; ++m) {
      Eigen::VectorXd v = eig.eigenvectors().col(std::min(m, size - 1));
      if (v[0] < 0) v = -v;
      for (Index q = 0; q < size; ++q) theta(lo + nodes[static_cast<std::size_t>(q)], m * k + c) = static_cast<Scalar>(v[q]);
    }
  }
}

/// EigenPool's selection, tgp's `EigenPoolSelect` (no parameters, features not read). Per graph
/// b with k_b = max(1, min(K, n_b)): k_b = 1: one cluster; k_b >= n_b: every node its own
/// cluster; otherwise the given clustering or gnnpool's deterministic spectral clustering
/// (`detail::spectral_clustering`). Then theta (`eigen_pooling_matrix`) with `modes` modes.
/// K columns per graph (graph b's clusters b K .. b K + k_b; the others empty), K = options.k.
/// Backward: nothing flows through the selection (a constant, as in tgp); the clustering is a
/// discrete decision (`assignment`, reported by the pooler). Cost: the clustering
/// and the per-cluster eigendecompositions (dense per graph, O(n_b^3)). Thread-safe (const).
template <typename Scalar_>
class EigenSelect {
 public:
  using Scalar = Scalar_;
  using Selection = EigenSelection<Scalar>;
  struct Cache {};

  explicit EigenSelect(EigenSelectOptions options) : m_options(options) {
    GNNPOOL_CHECK(options.k >= 1, invalid_argument, "EigenSelect: k must be >= 1, got ", options.k);
    GNNPOOL_CHECK(options.modes >= 1, invalid_argument, "EigenSelect: modes must be >= 1, got ", options.modes);
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
    for (Index b = 0; b < nb; ++b) {
      const Index lo = in.graph_begin(b), nn = in.graph_size(b);
      if (nn == 0) continue;
      const Index kb = std::max<Index>(1, std::min(k, nn));
      IndexVector local(static_cast<std::size_t>(nn), 0);
      if (m_options.given_clusters) {
        for (Index i = 0; i < nn; ++i) {
          const Index c = (*m_options.given_clusters)[static_cast<std::size_t>(lo + i)];
          GNNPOOL_CHECK(c >= 0 && c < k, invalid_argument, "EigenSelect: node ", lo + i, " has the given cluster ", c,
                        ", outside 0 .. ", k - 1);
          local[static_cast<std::size_t>(i)] = c;
        }
      } else if (kb >= nn && nn > 1) {
        for (Index i = 0; i < nn; ++i) local[static_cast<std::size_t>(i)] = i;
      } else if (kb > 1) {
        local = detail::spectral_clustering(in.adj, lo, nn, kb, m_options.restarts);
      }
      for (Index i = 0; i < nn; ++i) {
        sel.assignment[static_cast<std::size_t>(lo + i)] = b * k + local[static_cast<std::size_t>(i)];
        sel.s(lo + i, local[static_cast<std::size_t>(i)]) = Scalar(1);
      }
      if (!m_options.given_theta) eigen_pooling_matrix(in.adj, lo, nn, local, k, m_options.modes, sel.theta);
    }
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
