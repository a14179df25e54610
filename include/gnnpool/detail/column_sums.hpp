#ifndef GNNPOOL_DETAIL_COLUMN_SUMS_HPP
#define GNNPOOL_DETAIL_COLUMN_SUMS_HPP

/// \file
/// `column_sums`: 1^T M for a dense matrix that may have no rows. Not part of the API.

#include <gnnpool/core/types.hpp>

namespace gnnpool::detail {

/// The column sums of `m` as a 1 x cols row, zeros when m has no rows. Eigen's
/// `m.colwise().sum()` gives the same numbers, but on a matrix without rows (a batch whose
/// graphs have no node) its data pointer is null and taking column j > 0 offsets that null
/// pointer, which is undefined behaviour (UBSan: "applying non-zero offset to null pointer").
template <typename Derived>
Matrix<typename Derived::Scalar> column_sums(const Eigen::MatrixBase<Derived>& m) {
  using Scalar = typename Derived::Scalar;
  if (m.rows() == 0) return Matrix<Scalar>::Zero(1, m.cols());
  return m.colwise().sum();
}

}  // namespace gnnpool::detail

#endif
