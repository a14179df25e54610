#ifndef GNNPOOL_DETAIL_PREFETCH_HPP
#define GNNPOOL_DETAIL_PREFETCH_HPP

/// \file
/// Software prefetch hints for loops that gather or scatter in a data-dependent order (rows of a
/// cluster, a random visiting order), which the hardware prefetcher cannot predict. Not part of
/// the API; no-ops on compilers without `__builtin_prefetch`.

#include <cstddef>

namespace gnnpool::detail {

/// The cache line at `p` will be read soon.
inline void prefetch_read([[maybe_unused]] const void* p) {
#if defined(__GNUC__)
  __builtin_prefetch(p, 0);
#endif
}

/// The cache line at `p` will be written soon.
inline void prefetch_write([[maybe_unused]] const void* p) {
#if defined(__GNUC__)
  __builtin_prefetch(p, 1);
#endif
}

/// The `bytes` from `p` (a dense row) will be read soon.
inline void prefetch_bytes([[maybe_unused]] const void* p, [[maybe_unused]] std::size_t bytes) {
#if defined(__GNUC__)
  for (std::size_t off = 0; off < bytes; off += 64) __builtin_prefetch(static_cast<const char*>(p) + off, 0);
#endif
}

/// For a loop over the stored entries e < end of a sparse matrix that reads or updates the dense
/// row inner[e] of a row-major matrix (rows `stride` scalars apart, `cols` of them used): the row
/// of the entry `ahead` positions on. The rows come in the graph's random order, which the
/// hardware prefetcher cannot predict; the loop's sums and their order are unchanged.
template <typename Scalar, typename Index>
inline void prefetch_row_ahead(const Scalar* rows, std::ptrdiff_t stride, std::ptrdiff_t cols, const Index* inner,
                               Index e, Index end, Index ahead = 8) {
  if (e + ahead < end)
    prefetch_bytes(rows + static_cast<std::ptrdiff_t>(inner[e + ahead]) * stride,
                   sizeof(Scalar) * static_cast<std::size_t>(cols));
}

}  // namespace gnnpool::detail

#endif
