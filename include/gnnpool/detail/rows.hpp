#ifndef GNNPOOL_DETAIL_ROWS_HPP
#define GNNPOOL_DETAIL_ROWS_HPP

/// \file
/// Kernels on one contiguous row of k scalars (k of a few tens: the per-edge and per-node loops
/// of the poolers), in fixed-size blocks of one cache line, one half line, then one by one:
/// Eigen's dynamic-size row expressions cost more in set-up than the arithmetic at these sizes.
/// Not part of the API.

#include <gnnpool/core/types.hpp>

namespace gnnpool::detail {

/// <a, b> over k contiguous entries: fixed-size blocks of one cache line (64 bytes) into one
/// vector accumulator, then one half-line block and the last few entries one by one. Eigen's
/// dynamic-size dot product costs more in set-up and horizontal sums than the arithmetic for k
/// of a few tens (a third of the per-edge pass at k = 25).
template <typename Scalar>
inline Scalar row_dot(const Scalar* a, const Scalar* b, Index k) {
  constexpr int width = 64 / static_cast<int>(sizeof(Scalar)), half = width / 2;
  using Line = Eigen::Array<Scalar, width, 1>;
  using Half = Eigen::Array<Scalar, half, 1>;
  Index q = 0;
  Scalar r(0);
  if (k >= width) {
    Line acc = Eigen::Map<const Line>(a) * Eigen::Map<const Line>(b);
    for (q = width; q + width <= k; q += width) acc += Eigen::Map<const Line>(a + q) * Eigen::Map<const Line>(b + q);
    r = acc.sum();
  }
  if (q + half <= k) {
    r += (Eigen::Map<const Half>(a + q) * Eigen::Map<const Half>(b + q)).sum();
    q += half;
  }
  for (; q < k; ++q) r += a[q] * b[q];
  return r;
}

/// op(y block, x block) over k entries: blocks of one cache line (fixed-size Eigen maps), one
/// half-line block, then the last few entries one by one (op on scalar references).
template <typename Scalar, typename Op>
inline void row_blocks(const Scalar* x, Scalar* y, Index k, Op&& op) {
  constexpr int width = 64 / static_cast<int>(sizeof(Scalar)), half = width / 2;
  using Line = Eigen::Array<Scalar, width, 1>;
  using Half = Eigen::Array<Scalar, half, 1>;
  Index q = 0;
  for (; q + width <= k; q += width) op(Eigen::Map<Line>(y + q), Eigen::Map<const Line>(x + q));
  if (q + half <= k) {
    op(Eigen::Map<Half>(y + q), Eigen::Map<const Half>(x + q));
    q += half;
  }
  for (; q < k; ++q) op(y[q], x[q]);
}

/// y += w x over k entries; x and y never overlap (Eigen's dynamic-size update of a mapped row
/// costs more than the update here).
template <typename Scalar>
inline void row_axpy(Scalar w, const Scalar* x, Scalar* y, Index k) {
  row_blocks(x, y, k, [w](auto&& yb, const auto& xb) { yb += w * xb; });
}

/// y = w x over k entries; x and y never overlap.
template <typename Scalar>
inline void row_scale(Scalar w, const Scalar* x, Scalar* y, Index k) {
  row_blocks(x, y, k, [w](auto&& yb, const auto& xb) { yb = w * xb; });
}

}  // namespace gnnpool::detail

#endif
