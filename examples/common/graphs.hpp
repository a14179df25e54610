#ifndef GNNPOOL_EXAMPLES_COMMON_GRAPHS_HPP
#define GNNPOOL_EXAMPLES_COMMON_GRAPHS_HPP

// Graph preprocessing for the examples: the normalised adjacency D^-1/2 A D^-1/2 of GraphConvSkip / MinCutPool, and node features
// (degree, clustering coefficient, one-hot and z-score encodings) as the MinCutPool code
// builds them.

#include <gnnpool/core/batch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <vector>

namespace examples {

using gnnpool::Batch;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::SparseMatrix;
using gnnpool::StorageIndex;

/// D^-1/2 A D^-1/2 with d_i = sum_j A_ij (no self loops added); a node of degree 0 keeps a zero
/// row. The operator of Spektral's GraphConvSkip and of the MinCutPool reference code.
template <typename Scalar>
SparseMatrix<Scalar> normalized_adjacency(const SparseMatrix<Scalar>& adj) {
  gnnpool::Vector<Scalar> s = adj * gnnpool::Vector<Scalar>::Ones(adj.cols());
  for (Index i = 0; i < s.size(); ++i) s(i) = s(i) > Scalar(0) ? Scalar(1) / std::sqrt(s(i)) : Scalar(0);
  SparseMatrix<Scalar> out = adj;
  for (Index i = 0; i < out.outerSize(); ++i)
    for (typename SparseMatrix<Scalar>::InnerIterator it(out, i); it; ++it) it.valueRef() *= s(i) * s(it.col());
  return out;
}

/// Number of neighbours of every node (self loops not counted).
template <typename Scalar>
std::vector<double> node_degrees(const SparseMatrix<Scalar>& adj) {
  std::vector<double> d(static_cast<std::size_t>(adj.rows()), 0.0);
  for (Index i = 0; i < adj.outerSize(); ++i)
    for (typename SparseMatrix<Scalar>::InnerIterator it(adj, i); it; ++it)
      if (it.col() != i) d[static_cast<std::size_t>(i)] += 1;
  return d;
}

/// Local clustering coefficient of every node of a symmetric graph (networkx `clustering`):
/// triangles through i / (d_i (d_i - 1) / 2), 0 when d_i < 2.
template <typename Scalar>
std::vector<double> clustering_coefficients(const SparseMatrix<Scalar>& adj) {
  const Index n = adj.rows();
  std::vector<double> c(static_cast<std::size_t>(n), 0.0);
  std::vector<char> mark(static_cast<std::size_t>(n), 0);
  auto neighbours = [&](Index i) {
    return std::span<const StorageIndex>(adj.innerIndexPtr() + adj.outerIndexPtr()[i],
                                         adj.innerIndexPtr() + adj.outerIndexPtr()[i + 1]);
  };
  for (Index i = 0; i < n; ++i) {
    double d = 0, links = 0;
    for (StorageIndex j : neighbours(i))
      if (j != i) mark[static_cast<std::size_t>(j)] = 1, d += 1;
    for (StorageIndex j : neighbours(i)) {
      if (j == i) continue;
      for (StorageIndex k : neighbours(j))
        if (k != j && k != i && mark[static_cast<std::size_t>(k)]) links += 1;
    }
    for (StorageIndex j : neighbours(i)) mark[static_cast<std::size_t>(j)] = 0;
    if (d >= 2) c[static_cast<std::size_t>(i)] = links / (d * (d - 1));  // each triangle seen twice
  }
  return c;
}

/// One-hot encoding over the distinct values of `v` (sklearn's OneHotEncoder, categories sorted).
inline Matrix<double> one_hot(const std::vector<double>& v) {
  std::map<double, Index> column;
  for (double x : v) column.emplace(x, 0);
  Index c = 0;
  for (auto& [value, col] : column) col = c++;
  Matrix<double> out = Matrix<double>::Zero(static_cast<Index>(v.size()), c);
  for (std::size_t i = 0; i < v.size(); ++i) out(static_cast<Index>(i), column[v[i]]) = 1;
  return out;
}

/// (v - mean) / std over all entries (sklearn's StandardScaler; std 0 leaves v - mean).
inline Matrix<double> z_score(const std::vector<double>& v) {
  double mean = 0, sq = 0;
  for (double x : v) mean += x;
  mean /= std::max<double>(1.0, static_cast<double>(v.size()));
  for (double x : v) sq += (x - mean) * (x - mean);
  const double sd = std::sqrt(sq / std::max<double>(1.0, static_cast<double>(v.size())));
  Matrix<double> out(static_cast<Index>(v.size()), 1);
  for (std::size_t i = 0; i < v.size(); ++i) out(static_cast<Index>(i), 0) = sd > 0 ? (v[i] - mean) / sd : v[i] - mean;
  return out;
}

/// Columns side by side (all with the same number of rows).
inline Matrix<double> hstack(const std::vector<Matrix<double>>& blocks) {
  Index cols = 0;
  for (const auto& b : blocks) cols += b.cols();
  Matrix<double> out(blocks.empty() ? 0 : blocks.front().rows(), cols);
  Index c = 0;
  for (const auto& b : blocks) {
    out.middleCols(c, b.cols()) = b;
    c += b.cols();
  }
  return out;
}

}  // namespace examples

#endif
