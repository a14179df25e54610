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
template <typename Scalar, typename Offset>
void segment_softmax(Vector<Scalar>& v, const Offset* start, Index segments) {
  for (Index k = 0; k < segments; ++k) {
    const Index lo = static_cast<Index>(start[k]), len = static_cast<Index>(start[k + 1]) - lo;
    if (len == 0) continue;
    auto seg = v.segment(lo, len);
    seg = (seg.array() - seg.maxCoeff()).exp().matrix();
    seg /= seg.sum() + static_cast<Scalar>(pyg_constants::softmax_denominator_eps);
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
