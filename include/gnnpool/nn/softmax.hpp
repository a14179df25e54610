#ifndef GNNPOOL_NN_SOFTMAX_HPP
#define GNNPOOL_NN_SOFTMAX_HPP

/// \file
/// `row_softmax`: softmax of every row of a dense matrix, with its backward pass.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace gnnpool {

/// Row-wise softmax, `torch.softmax(logits, dim=-1)`.
///
/// Forward:  s_ij = exp(l_ij - m_i) / sum_k exp(l_ik - m_i),  m_i = max_k l_ik (the shift
///           changes nothing mathematically and keeps exp from overflowing).
/// Backward: dl_ij = s_ij (ds_ij - sum_k ds_ik s_ik)  (backward: `row_softmax_backward`).
/// Shapes: logits N x K, s N x K (resized). A row with K = 0 columns gives an empty row.
/// Cache: the output s is all backward needs. Cost O(N K) both ways, no allocation besides s.
///
/// A -inf logit (a mask) gets probability 0 up to the smallest normal number: Eigen's
/// vectorised exp clamps its argument, so exp(-inf) is about 1e-308 in double, not exactly 0.
///
/// Errors: `invalid_argument` when a row has a NaN or +inf entry or only -inf entries (its
/// softmax is undefined); the message names the row. `s` may alias `logits` (in-place).
template <typename Scalar>
void row_softmax(const std::type_identity_t<ConstMatrixRef<Scalar>>& logits, Matrix<Scalar>& s,
                 const char* layer = "row_softmax") {
  const Index n = logits.rows(), k = logits.cols();
  if (k == 0) {
    s.resize(n, 0);
    return;
  }
  if (s.data() != logits.data()) s = logits;  // in place when s aliases logits
  // Passes over fixed chunks of whole rows (in parallel) rather than one Eigen expression per
  // row: for K of a few tens the per-row overhead dominated, and one exp over a chunk's flat
  // array is vectorised throughout. Every chunk but the last holds a multiple of 16 entries
  // (row_grain rows), so each entry takes the same exp path (packet or scalar tail) as in one
  // pass over the whole matrix, for any number of threads.
  Scalar* p = s.data();
  Vector<Scalar> m(n), sum(n);
  detail::parallel_rows(n, [&](Index lo, Index hi) {
    for (Index i = lo; i < hi; ++i) {
      Scalar* row = p + i * k;
      Scalar top = row[0];
      for (Index q = 1; q < k; ++q) top = std::max(top, row[q]);
      m[i] = top;
      for (Index q = 0; q < k; ++q) row[q] -= top;
    }
    Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> flat(p + lo * k, (hi - lo) * k);
    flat = flat.exp();
    for (Index i = lo; i < hi; ++i) {
      Scalar* row = p + i * k;
      Scalar total(0);
      for (Index q = 0; q < k; ++q) total += row[q];
      sum[i] = total;
      const Scalar inv = Scalar(1) / total;
      for (Index q = 0; q < k; ++q) row[q] *= inv;
    }
  });
  // A NaN entry makes sum NaN, +inf makes m = +inf and the row NaN, all -inf makes m = -inf.
  // The check runs after the loop, so the row it names does not depend on the thread count.
  if (!detail::all_finite(m) || !detail::all_finite(sum)) [[unlikely]] {
    Index row = 0;
    while (row < n && std::isfinite(m[row]) && std::isfinite(sum[row])) ++row;
    detail::raise<invalid_argument>(detail::concat(layer, ": row ", row,
                                                   " of the logits contains NaN or +inf, or only -inf; "
                                                   "its softmax is undefined"));
  }
}

/// dlogits = s ⊙ (ds - rowsum(ds ⊙ s)): the vector-Jacobian product of `row_softmax`, from
/// its output s and the upstream gradient ds (both N x K). `dlogits` is assigned (resized)
/// and may alias `ds`. Throws `shape_error` when ds and s differ in shape. Cost O(N K).
template <typename Scalar>
void row_softmax_backward(const std::type_identity_t<ConstMatrixRef<Scalar>>& s,
                          const std::type_identity_t<ConstMatrixRef<Scalar>>& ds, Matrix<Scalar>& dlogits) {
  GNNPOOL_CHECK(ds.rows() == s.rows() && ds.cols() == s.cols(), shape_error,
                "row_softmax_backward: ds is ", detail::shape(ds.rows(), ds.cols()), " but s is ",
                detail::shape(s.rows(), s.cols()));
  const Index n = s.rows(), k = s.cols();
  dlogits.resize(n, k);
  // Raw row loops (each row is contiguous, `outerStride` apart): per-row Eigen expressions cost more than the
  // arithmetic for K of a few tens. Each row's dot is taken before the row is overwritten.
  detail::parallel_rows(n, [&](Index lo, Index hi) {
    for (Index i = lo; i < hi; ++i) {
      const Scalar* si = s.data() + i * s.outerStride();  // views of wider matrices too
      const Scalar* gi = ds.data() + i * ds.outerStride();
      Scalar* di = dlogits.data() + i * k;
      Scalar dot(0);
      for (Index q = 0; q < k; ++q) dot += si[q] * gi[q];
      for (Index q = 0; q < k; ++q) di[q] = si[q] * (gi[q] - dot);
    }
  });
}

}  // namespace gnnpool

#endif
