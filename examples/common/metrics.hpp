#ifndef GNNPOOL_EXAMPLES_COMMON_METRICS_HPP
#define GNNPOOL_EXAMPLES_COMMON_METRICS_HPP

// Metrics of the examples: mean and standard deviation over runs, and the clustering scores
// of the MinCutPool and DMoN papers (homogeneity, completeness, v-measure = NMI with arithmetic
// normalisation, modularity, conductance, pairwise F1), defined as in scikit-learn and in
// DMoN's `metrics.py`.

#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace examples {

using gnnpool::Index;

/// Mean and population standard deviation (numpy's np.std, as the MinCutPool code reports).
struct MeanStd {
  double mean = 0, std = 0;
};
inline MeanStd mean_std(const std::vector<double>& v) {
  MeanStd r;
  if (v.empty()) return r;
  for (double x : v) r.mean += x;
  r.mean /= static_cast<double>(v.size());
  for (double x : v) r.std += (x - r.mean) * (x - r.mean);
  r.std = std::sqrt(r.std / static_cast<double>(v.size()));
  return r;
}

/// Homogeneity, completeness and v-measure of a clustering against ground-truth classes
/// (sklearn.metrics.homogeneity_completeness_v_measure, beta = 1). The v-measure equals NMI
/// with arithmetic-mean normalisation, the "NMI" of the MinCutPool paper.
struct ClusterAgreement {
  double homogeneity = 1, completeness = 1, v_measure = 1;
};

inline ClusterAgreement cluster_agreement(const std::vector<Index>& classes, const std::vector<Index>& clusters) {
  const std::size_t n = classes.size();
  ClusterAgreement r;
  if (n == 0) return r;
  const auto nc = static_cast<std::size_t>(*std::max_element(classes.begin(), classes.end()) + 1);
  const auto nk = static_cast<std::size_t>(*std::max_element(clusters.begin(), clusters.end()) + 1);
  std::vector<double> joint(nc * nk, 0.0), pc(nc, 0.0), pk(nk, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<std::size_t>(classes[i]), k = static_cast<std::size_t>(clusters[i]);
    joint[c * nk + k] += 1;
    pc[c] += 1;
    pk[k] += 1;
  }
  const double total = static_cast<double>(n);
  auto entropy = [&](const std::vector<double>& counts) {
    double h = 0;
    for (double x : counts)
      if (x > 0) h -= (x / total) * std::log(x / total);
    return h;
  };
  const double hc = entropy(pc), hk = entropy(pk);
  double mi = 0;
  for (std::size_t c = 0; c < nc; ++c)
    for (std::size_t k = 0; k < nk; ++k) {
      const double x = joint[c * nk + k];
      if (x > 0) mi += (x / total) * std::log(x * total / (pc[c] * pk[k]));
    }
  r.homogeneity = hc > 0 ? mi / hc : 1.0;
  r.completeness = hk > 0 ? mi / hk : 1.0;
  r.v_measure = r.homogeneity + r.completeness > 0
                    ? 2 * r.homogeneity * r.completeness / (r.homogeneity + r.completeness)
                    : 0.0;
  return r;
}

/// Newman's modularity of a hard clustering of a symmetric weighted graph:
/// Q = sum_c [ w_in(c) / 2m - (vol(c) / 2m)^2 ], with 2m = sum_ij A_ij.
template <typename Scalar>
double modularity(const gnnpool::SparseMatrix<Scalar>& adj, const std::vector<Index>& clusters) {
  const auto k = static_cast<std::size_t>(*std::max_element(clusters.begin(), clusters.end()) + 1);
  std::vector<double> inside(k, 0.0), volume(k, 0.0);
  double two_m = 0;
  for (Index i = 0; i < adj.outerSize(); ++i)
    for (typename gnnpool::SparseMatrix<Scalar>::InnerIterator it(adj, i); it; ++it) {
      const double w = static_cast<double>(it.value());
      const auto ci = static_cast<std::size_t>(clusters[static_cast<std::size_t>(i)]);
      two_m += w;
      volume[ci] += w;
      if (clusters[static_cast<std::size_t>(it.col())] == clusters[static_cast<std::size_t>(i)]) inside[ci] += w;
    }
  if (two_m <= 0) return 0.0;
  double q = 0;
  for (std::size_t c = 0; c < k; ++c) q += inside[c] / two_m - (volume[c] / two_m) * (volume[c] / two_m);
  return q;
}

/// Fraction of the edge weight that crosses clusters, sum_{c_i != c_j} A_ij / sum_ij A_ij: the
/// graph-level "conductance" that DMoN's metrics.py reports (lower is better).
template <typename Scalar>
double conductance(const gnnpool::SparseMatrix<Scalar>& adj, const std::vector<Index>& clusters) {
  double cut = 0, total = 0;
  for (Index i = 0; i < adj.outerSize(); ++i)
    for (typename gnnpool::SparseMatrix<Scalar>::InnerIterator it(adj, i); it; ++it) {
      total += static_cast<double>(it.value());
      if (clusters[static_cast<std::size_t>(it.col())] != clusters[static_cast<std::size_t>(i)])
        cut += static_cast<double>(it.value());
    }
  return total > 0 ? cut / total : 0.0;
}

/// Pairwise F1 (DMoN's metric): precision = share of same-cluster node pairs that share a
/// class, recall = share of same-class pairs that share a cluster, over unordered pairs.
inline double pairwise_f1(const std::vector<Index>& classes, const std::vector<Index>& clusters) {
  const auto nc = static_cast<std::size_t>(*std::max_element(classes.begin(), classes.end()) + 1);
  const auto nk = static_cast<std::size_t>(*std::max_element(clusters.begin(), clusters.end()) + 1);
  std::vector<double> joint(nc * nk, 0.0), pc(nc, 0.0), pk(nk, 0.0);
  for (std::size_t i = 0; i < classes.size(); ++i) {
    joint[static_cast<std::size_t>(classes[i]) * nk + static_cast<std::size_t>(clusters[i])] += 1;
    pc[static_cast<std::size_t>(classes[i])] += 1;
    pk[static_cast<std::size_t>(clusters[i])] += 1;
  }
  auto pairs = [](double x) { return x * (x - 1) / 2; };
  double both = 0, same_cluster = 0, same_class = 0;
  for (double x : joint) both += pairs(x);
  for (double x : pk) same_cluster += pairs(x);
  for (double x : pc) same_class += pairs(x);
  const double precision = same_cluster > 0 ? both / same_cluster : 0;
  const double recall = same_class > 0 ? both / same_class : 0;
  return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

}  // namespace examples

#endif
