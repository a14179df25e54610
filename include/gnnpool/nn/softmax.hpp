#ifndef GNNPOOL_NN_SOFTMAX_HPP
#define GNNPOOL_NN_SOFTMAX_HPP

/// \file
/// `row_softmax`: softmax of every row of a dense matrix, with its backward pass.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/types.hpp>

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
void row_softmax(const std::type_identity_t<ConstMatrixRef<Scalar>>& logits, Matrix<Scalar>& s) {
  const Index n = logits.rows(), k = logits.cols();
  s.resize(n, k);
  if (k == 0) return;
  for (Index i = 0; i < n; ++i) {
    const Scalar m = logits.row(i).maxCoeff();
    s.row(i) = (logits.row(i).array() - m).exp().matrix();
    const Scalar sum = s.row(i).sum();
    // A NaN entry makes sum NaN, +inf makes m = +inf and the row NaN, all -inf makes m = -inf.
    GNNPOOL_CHECK(std::isfinite(m) && std::isfinite(sum), invalid_argument, "row_softmax: row ", i,
                  " of logits contains NaN or +inf, or only -inf; its softmax is undefined");
    s.row(i) /= sum;
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
  dlogits.resize(s.rows(), s.cols());
  for (Index i = 0; i < s.rows(); ++i) {
    const Scalar dot = ds.row(i).dot(s.row(i));
    dlogits.row(i) = (s.row(i).array() * (ds.row(i).array() - dot)).matrix();
  }
}

}  // namespace gnnpool

#endif
