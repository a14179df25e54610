#ifndef GNNPOOL_CORE_NUMERIC_HPP
#define GNNPOOL_CORE_NUMERIC_HPP

/// \file
/// Scalar-aware constants (no literal tolerance appears elsewhere in the library) and the
/// vectorised finiteness test `detail::all_finite`.

#include <gnnpool/core/types.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace gnnpool {

template <typename Scalar>
struct numeric {
  /// Machine epsilon of Scalar.
  static Scalar epsilon() { return Eigen::NumTraits<Scalar>::epsilon(); }
  /// Relative tolerance for comparing a float computation against the double reference
  /// (a few hundred ulps: reductions over ~10^3 terms).
  static Scalar compare_tolerance() { return Scalar(512) * epsilon(); }
  /// Central-difference step scale: cbrt(eps), the optimum for an O(h^2) scheme.
  static Scalar fd_step() { return std::cbrt(epsilon()); }
  /// Tolerance a finite-difference gradient must meet (relative, with absolute floor).
  static Scalar fd_tolerance() { return Scalar(1e3) * std::pow(epsilon(), Scalar(2) / Scalar(3)); }
  /// Smallest normal number divided by epsilon (1.0e-31 in float, 1.0e-292 in double): the
  /// floor below which a scale-invariant quantity (a graph's volume, a cluster's size) is read
  /// as 0. Its reciprocal still leaves a factor 1/epsilon of headroom below the overflow
  /// threshold, so gradients of order 1/x stay finite after the few sums and products that
  /// follow them (docs/reliability.md).
  static Scalar tiny() { return std::numeric_limits<Scalar>::min() / epsilon(); }
  static Scalar infinity() { return std::numeric_limits<Scalar>::infinity(); }
  static Scalar quiet_nan() { return std::numeric_limits<Scalar>::quiet_NaN(); }
};

/// PyG's additive guards, kept so that conformance matches to round-off. They are Python float
/// literals in PyG and are therefore applied in the input's dtype.
struct pyg_constants {
  static constexpr double softmax_denominator_eps = 1e-16;  ///< softmax(): sum + 1e-16
  static constexpr double sqrt_degree_eps = 1e-15;          ///< mincut/dmon adj normalisation
  static constexpr double log_eps = 1e-15;                  ///< diffpool entropy: log(s + 1e-15)
  static constexpr double min_score_margin = 1e-7;          ///< topk min_score: max - 1e-7
};

/// torch-geometric-pool's one guard, `tgp.eps` = 1e-8: clamp of the pooled degrees, and the
/// additive guard of its losses (mincut denominator, balance square roots, BN-Pool's clamps).
struct tgp_constants {
  static constexpr double eps = 1e-8;
};

/// Spektral's additive guards (TensorFlow), applied in the input's dtype like PyG's.
struct spektral_constants {
  static constexpr double segment_softmax_denominator_eps = 1e-9;  ///< ops.unsorted_segment_softmax: sum + 1e-9
};

/// torch-geometric-pool's guards in its sparse connect post-processing
/// (`postprocess_adj_pool_sparse`), applied in the input's dtype.
struct tgp_connect_constants {
  static constexpr double drop_below = 1e-8;    ///< pooled edges with |w| <= 1e-8 are removed
  static constexpr double degree_floor = 1e-8;  ///< degree_norm: clamp(deg, min = 1e-8)
};

namespace detail {

/// Whether none of n contiguous values is NaN or infinite: a value is finite exactly when its
/// exponent bits are not all set. A flat, branch-free pass of integer compares that the compiler
/// vectorises (Eigen's `allFinite()` tests x - x == x - x one scalar at a time, with an exit
/// test per entry: 3 cycles per value).
template <typename Scalar>
inline bool all_finite(const Scalar* p, Index n) {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>, "all_finite: float or double");
  using Bits = std::conditional_t<sizeof(Scalar) == 4, std::uint32_t, std::uint64_t>;
  constexpr Bits exponent = sizeof(Scalar) == 4 ? Bits(0x7f800000u) : Bits(0x7ff0000000000000ull);
  Bits non_finite = 0;
  for (Index q = 0; q < n; ++q) {
    Bits bits;
    std::memcpy(&bits, p + q, sizeof(Bits));
    non_finite |= Bits((bits & exponent) == exponent);
  }
  return non_finite == 0;
}

/// `all_finite` of a contiguous Eigen vector or matrix.
template <typename Derived>
inline bool all_finite(const Eigen::PlainObjectBase<Derived>& m) {
  return all_finite(m.data(), m.size());
}

}  // namespace detail

}  // namespace gnnpool

#endif
