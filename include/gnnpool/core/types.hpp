#ifndef GNNPOOL_CORE_TYPES_HPP
#define GNNPOOL_CORE_TYPES_HPP

/// \file
/// Matrix aliases shared by every gnnpool header (docs/concepts.md, the data model).

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include <cstdint>
#include <vector>

namespace gnnpool {

using Index = Eigen::Index;

/// Sparse storage index. 32 bits: a batch holds fewer than 2^31 stored entries (checked by the
/// builders); this halves index traffic in every sparse product.
using StorageIndex = int;

/// Dense row-major matrix: node features (N x F), parameters, gradients. The layout of PyG/NumPy.
template <typename Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Dense column vector (per-node scores, per-edge values).
template <typename Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

/// CSR adjacency: row i holds the out-edges of node i; values are edge weights.
template <typename Scalar>
using SparseMatrix = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, StorageIndex>;

/// Read-only view of any contiguous row-major dense matrix (Matrix, Map, row blocks).
template <typename Scalar>
using ConstMatrixRef = Eigen::Ref<const Matrix<Scalar>>;

/// Vector of node indices or offsets.
using IndexVector = std::vector<Index>;

}  // namespace gnnpool

#endif
