#ifndef GNNPOOL_DETAIL_SEGMENT_SOFTMAX_HPP
#define GNNPOOL_DETAIL_SEGMENT_SOFTMAX_HPP

/// \file
/// PyG's `softmax(src, index)` over contiguous segments of a vector (the entries of one CSR row,
/// the nodes of one graph) and its backward; not part of the API.

#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/types.hpp>

namespace gnnpool::detail {

/// In place, for each segment k = [start[k], start[k+1]): v_i <- exp(v_i - m_k) / (sum_j
/// exp(v_j - m_k) + 1e-16), m_k the segment's maximum (PyG: the shift is detached; the 1e-16 is
/// PyG's guard). An empty segment is left alone. O(length).
/// The segments are often short (the ~10 entries of a CSR row), where Eigen's per-segment
/// expressions cost more than the arithmetic: the shift and the normalisation are plain loops
/// per segment and the exponential is one vectorised pass over all the segments' entries.
template <typename Scalar, typename Offset>
void segment_softmax(Vector<Scalar>& v, const Offset* start, Index segments) {
  if (segments <= 0) return;
  Scalar* p = v.data();
  for (Index k = 0; k < segments; ++k) {
    const Index lo = static_cast<Index>(start[k]), hi = static_cast<Index>(start[k + 1]);
    if (hi == lo) continue;
    Scalar m = p[lo];
    for (Index i = lo + 1; i < hi; ++i) m = p[i] > m ? p[i] : m;
    for (Index i = lo; i < hi; ++i) p[i] -= m;
  }
  const Index first = static_cast<Index>(start[0]), count = static_cast<Index>(start[segments]) - first;
  if (count > 0) v.segment(first, count) = v.segment(first, count).array().exp().matrix();
  const auto eps = static_cast<Scalar>(pyg_constants::softmax_denominator_eps);
  for (Index k = 0; k < segments; ++k) {
    const Index lo = static_cast<Index>(start[k]), hi = static_cast<Index>(start[k + 1]);
    Scalar sum = 0;
    for (Index i = lo; i < hi; ++i) sum += p[i];
    const Scalar denom = sum + eps;
    for (Index i = lo; i < hi; ++i) p[i] /= denom;
  }
}

/// In place: d_i <- s_i (d_i - sum_{j in segment} d_j s_j), the vector-Jacobian product of
/// `segment_softmax` from its output s (the guard's effect on the Jacobian is below rounding).
template <typename Scalar, typename Offset>
void segment_softmax_backward(const Vector<Scalar>& s, Vector<Scalar>& d, const Offset* start, Index segments) {
  for (Index k = 0; k < segments; ++k) {
    const Index lo = static_cast<Index>(start[k]), len = static_cast<Index>(start[k + 1]) - lo;
    if (len == 0) continue;
    const Scalar dot = d.segment(lo, len).dot(s.segment(lo, len));
    d.segment(lo, len) = (s.segment(lo, len).array() * (d.segment(lo, len).array() - dot)).matrix();
  }
}

}  // namespace gnnpool::detail

#endif
