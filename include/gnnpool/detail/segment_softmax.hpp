#ifndef GNNPOOL_DETAIL_SEGMENT_SOFTMAX_HPP
#define GNNPOOL_DETAIL_SEGMENT_SOFTMAX_HPP

/// \file
/// The softmax over contiguous segments of a vector (the entries of one CSR row, the nodes of
/// one graph) and its backward, as PyG's `softmax(src, index)` and Spektral's
/// `unsorted_segment_softmax`; not part of the API.

#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/types.hpp>

#include <Eigen/Core>

namespace gnnpool::detail {

/// For each segment k = [start[k], start[k+1]): out_i = exp(z_i - m_k) / (sum_j exp(z_j - m_k)
/// + eps), m_k the segment's maximum (a constant for differentiation: PyG detaches it); eps is
/// the caller's guard (PyG 1e-16, Spektral 1e-9). out may alias z; an empty segment is left
/// alone. O(length).
/// The segments are often short (the ~10 entries of a CSR row), where Eigen's per-segment
/// expressions cost more than the arithmetic: the shift and the normalisation are plain loops
/// per segment and the exponential one vectorised pass over a run's entries. Runs of whole
/// segments in parallel (`parallel_segments`: a partition from the segment sizes only, so the
/// same bits for any number of threads).
template <typename Scalar, typename Offset>
void segment_softmax(const Scalar* z, Scalar* out, const Offset* start, Index segments, Scalar eps) {
  parallel_segments(start, segments, [&](Index k_lo, Index k_hi) {
    for (Index k = k_lo; k < k_hi; ++k) {
      const Index lo = static_cast<Index>(start[k]), hi = static_cast<Index>(start[k + 1]);
      if (hi == lo) continue;
      Scalar m = z[lo];
      for (Index i = lo + 1; i < hi; ++i) m = z[i] > m ? z[i] : m;
      for (Index i = lo; i < hi; ++i) out[i] = z[i] - m;
    }
    const Index first = static_cast<Index>(start[k_lo]), count = static_cast<Index>(start[k_hi]) - first;
    if (count > 0) {
      Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> run(out + first, count);
      run = run.exp();
    }
    for (Index k = k_lo; k < k_hi; ++k) {
      const Index lo = static_cast<Index>(start[k]), hi = static_cast<Index>(start[k + 1]);
      Scalar sum = 0;
      for (Index i = lo; i < hi; ++i) sum += out[i];
      const Scalar denom = sum + eps;
      for (Index i = lo; i < hi; ++i) out[i] /= denom;
    }
  });
}

/// dz_i = s_i (d_i - sum_{j in segment} s_j d_j): the vector-Jacobian product of
/// `segment_softmax` from its output s (exact with the eps guard too, since ds_i / dz_k =
/// s_i (delta_ik - s_k) either way). dz may alias d. Runs of segments in parallel. O(length).
template <typename Scalar, typename Offset>
void segment_softmax_backward(const Scalar* s, const Scalar* d, Scalar* dz, const Offset* start, Index segments) {
  parallel_segments(start, segments, [&](Index k_lo, Index k_hi) {
    for (Index k = k_lo; k < k_hi; ++k) {
      const Index lo = static_cast<Index>(start[k]), hi = static_cast<Index>(start[k + 1]);
      Scalar dot = 0;
      for (Index i = lo; i < hi; ++i) dot += s[i] * d[i];
      for (Index i = lo; i < hi; ++i) dz[i] = s[i] * (d[i] - dot);
    }
  });
}

}  // namespace gnnpool::detail

#endif
