#ifndef GNNPOOL_DETAIL_ROWS_HPP
#define GNNPOOL_DETAIL_ROWS_HPP

/// \file
/// Kernels on one contiguous row of k scalars (k of a few tens: the per-edge and per-node loops
/// of the poolers), in fixed-size blocks of up to four cache lines, then one half line, then one
/// by one (`line_blocks`, `column_blocks`): Eigen's dynamic-size row expressions cost more in
/// set-up than the arithmetic at these sizes. Not part of the API.

#include <gnnpool/core/types.hpp>
#include <gnnpool/detail/prefetch.hpp>

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace gnnpool::detail {

/// The sum over k contiguous entries of term<W>(q), an expression of the W entries [q, q + W):
/// fixed-size blocks of one cache line (64 bytes) into one vector accumulator, then one half-line
/// block and the last few entries one by one. Eigen's dynamic-size reductions cost more in set-up
/// and horizontal sums than the arithmetic for k of a few tens (a third of the per-edge pass at
/// k = 25), and one scalar accumulator would chain every entry to the previous add.
template <typename Scalar, typename Term>
inline Scalar blocked_sum(Index k, Term&& term) {
  constexpr int width = 64 / static_cast<int>(sizeof(Scalar)), half = width / 2;
  Index q = 0;
  Scalar r(0);
  if (k >= width) {
    Eigen::Array<Scalar, width, 1> acc = term.template operator()<width>(0);
    for (q = width; q + width <= k; q += width) acc += term.template operator()<width>(q);
    r = acc.sum();
  }
  if (q + half <= k) {
    r += term.template operator()<half>(q).sum();
    q += half;
  }
  for (; q < k; ++q) r += term.template operator()<1>(q)(0);
  return r;
}

/// <a, b> over k contiguous entries (`blocked_sum`).
template <typename Scalar>
inline Scalar row_dot(const Scalar* a, const Scalar* b, Index k) {
  return blocked_sum<Scalar>(k, [&]<int W>(Index q) {
    return Eigen::Map<const Eigen::Array<Scalar, W, 1>>(a + q) * Eigen::Map<const Eigen::Array<Scalar, W, 1>>(b + q);
  });
}

/// The sum of k contiguous entries (`blocked_sum`): a CSR row's weights (degrees), where the
/// mispredicted exit of each row's loop also keeps the next row from overlapping a chained sum.
template <typename Scalar>
inline Scalar row_sum(const Scalar* a, Index k) {
  return blocked_sum<Scalar>(k, [&]<int W>(Index q) { return Eigen::Map<const Eigen::Array<Scalar, W, 1>>(a + q); });
}

/// The widest row `masked_row_sum` sums.
inline constexpr Index masked_row_width = 16;

/// The sum of the first k <= 16 of the 16 contiguous entries [a, a + 16), which must all be
/// readable (the caller's guarantee): all 16 are loaded and those at or past k are cleared by a
/// bit mask (so a NaN or an infinity there does not leak into the sum), then summed as one
/// vector. No branch depends on k: in a walk over CSR rows of varying short lengths (degrees of
/// a sparse graph), `row_sum`'s exits mispredicted about once per row, its largest cost there.
template <typename Scalar>
inline Scalar masked_row_sum(const Scalar* a, Index k) {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>, "masked_row_sum: float or double");
  using Bits = std::conditional_t<sizeof(Scalar) == 4, std::uint32_t, std::uint64_t>;
  constexpr Index w = masked_row_width;
  constexpr Bits all = ~Bits(0);
  // table + w - k: k all-ones masks, then zeros.
  alignas(64) static constexpr Bits table[2 * w] = {all, all, all, all, all, all, all, all,
                                                    all, all, all, all, all, all, all, all};
  const Bits* mask = table + (w - k);
  Bits bits[w];
  std::memcpy(bits, a, sizeof bits);
  for (Index l = 0; l < w; ++l) bits[l] &= mask[l];
  Eigen::Array<Scalar, w, 1> v;
  std::memcpy(v.data(), bits, sizeof bits);
  return v.sum();
}

/// Calls op.template operator()<W>(q) for fixed-size blocks [q, q + W) over the first columns of
/// a row of k scalars, where W is a multiple of one cache line (64 bytes): blocks of four lines,
/// then one block of three, two or one line. Returns the first column not covered (k minus less
/// than one line). The one cascade of fixed block widths: Eigen keeps a fixed-size block in
/// registers, with no per-call set-up of a dynamic-size loop.
template <typename Scalar, typename Op>
inline Index line_blocks(Index k, Op&& op) {
  constexpr Index line = 64 / Index(sizeof(Scalar));
  Index q = 0;
  for (; q + 4 * line <= k; q += 4 * line) op.template operator()<int(4 * line)>(q);
  if (k - q >= 3 * line) {
    op.template operator()<int(3 * line)>(q);
    q += 3 * line;
  } else if (k - q >= 2 * line) {
    op.template operator()<int(2 * line)>(q);
    q += 2 * line;
  } else if (k - q >= line) {
    op.template operator()<int(line)>(q);
    q += line;
  }
  return q;
}

/// Calls op.template operator()<W>(q) for fixed-size blocks [q, q + W) that cover a row of k
/// scalars exactly once, in order: the line blocks of `line_blocks`, one half-line block, then
/// single columns (W = 1).
template <typename Scalar, typename Op>
inline void column_blocks(Index k, Op&& op) {
  constexpr Index half = 32 / Index(sizeof(Scalar));
  Index q = line_blocks<Scalar>(k, op);
  if (q + half <= k) {
    op.template operator()<int(half)>(q);
    q += half;
  }
  for (; q < k; ++q) op.template operator()<1>(q);
}

/// op(y block, x block) over k entries, on the fixed-size blocks of `column_blocks` (Eigen maps;
/// the single columns too).
template <typename Scalar, typename Op>
inline void row_blocks(const Scalar* x, Scalar* y, Index k, Op&& op) {
  column_blocks<Scalar>(k, [&]<int W>(Index c) {
    using Block = Eigen::Array<Scalar, W, 1>;
    op(Eigen::Map<Block>(y + c), Eigen::Map<const Block>(x + c));
  });
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

/// The scatter of one row x (k scalars) along the stored entries [begin, end) of a CSR row:
/// y_{inner[p]} += (scale values[p]) x for each entry p, y row-major with `stride`. Each block of
/// `column_blocks` of x is held in registers while the entries are walked (the widths are
/// dispatched once per row, not once per entry: 2-3x faster than a `row_axpy` per entry at k of
/// a few tens). Rows wider than four lines take one `row_axpy` per entry instead (the dispatch is
/// small next to the row, and one walk of the entries beats one per block: 12 % at k = 128).
/// Every y element receives the same terms in the same order either way. With `prefetch_end`
/// (the end of the CSR's entries) the target row eight entries ahead is prefetched per entry,
/// for graphs whose rows are scattered in memory. x must not lie in any row of y that is written.
template <typename Scalar, typename StorageIndex_>
inline void scatter_row(const Scalar* x, Index k, Scalar scale, const Scalar* values, const StorageIndex_* inner,
                        StorageIndex_ begin, StorageIndex_ end, Scalar* y, Index stride,
                        StorageIndex_ prefetch_end = 0) {
  if (k > 4 * (64 / Index(sizeof(Scalar)))) {
    for (StorageIndex_ p = begin; p < end; ++p) {
      prefetch_row_ahead(y, stride, k, inner, p, prefetch_end);
      row_axpy(scale * values[p], x, y + Index(inner[p]) * stride, k);
    }
    return;
  }
  for (StorageIndex_ p = begin; p < end; ++p) prefetch_row_ahead(y, stride, k, inner, p, prefetch_end);
  column_blocks<Scalar>(k, [&]<int W>(Index c) {
    using Block = Eigen::Array<Scalar, W, 1>;
    const Block xb = Eigen::Map<const Block>(x + c);
    for (StorageIndex_ p = begin; p < end; ++p)
      Eigen::Map<Block>(y + Index(inner[p]) * stride + c) += (scale * values[p]) * xb;
  });
}

}  // namespace gnnpool::detail

#endif
