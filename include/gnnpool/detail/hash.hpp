#ifndef GNNPOOL_DETAIL_HASH_HPP
#define GNNPOOL_DETAIL_HASH_HPP

/// \file
/// The one integer hash of the library (not part of the API): node fingerprints of the symmetry
/// checks, MaxCut's fallback seeds, and the counter-based uniforms of NMF's starts and BN-Pool's
/// Beta draws, which must replay bit for bit from (seed, index).

#include <cstdint>

namespace gnnpool::detail {

/// splitmix64's output function: a bijective 64-bit mix (it adds the golden-ratio increment
/// first, as splitmix64's generator does).
inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The top 53 bits of `z` as a double in [0, 1), plus `offset` ulps of 2^-53 (0.5 puts the value
/// in the open interval (0, 1)).
inline double unit_double(std::uint64_t z, double offset = 0.0) {
  return (static_cast<double>(z >> 11) + offset) * 0x1.0p-53;
}

}  // namespace gnnpool::detail

#endif
