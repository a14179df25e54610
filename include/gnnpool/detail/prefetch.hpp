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

}  // namespace gnnpool::detail

#endif
