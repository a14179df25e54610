#ifndef GNNPOOL_NN_CROSS_ENTROPY_HPP
#define GNNPOOL_NN_CROSS_ENTROPY_HPP

/// \file
/// `softmax_cross_entropy`: the classification loss of the examples (PyTorch's
/// `F.cross_entropy(logits, labels)`, mean reduction), and `argmax_accuracy_count`.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/types.hpp>

#include <cmath>
#include <span>
#include <type_traits>

namespace gnnpool {

namespace detail {

template <typename Scalar>
void check_labels(const ConstMatrixRef<Scalar>& logits, std::span<const Index> labels, const char* who) {
  GNNPOOL_CHECK(static_cast<Index>(labels.size()) == logits.rows(), shape_error, who, ": logits has ",
                logits.rows(), " rows but ", labels.size(), " labels were given");
  for (std::size_t i = 0; i < labels.size(); ++i)
    GNNPOOL_CHECK(labels[i] >= 0 && labels[i] < logits.cols(), invalid_argument, who, ": label ",
                  labels[i], " of row ", i, " is outside [0, ", logits.cols(), ")");
}

}  // namespace detail

/// Mean softmax cross-entropy of N rows of logits against integer labels.
///
/// Forward:  L = (1/N) sum_i (logsumexp(l_i) - l_{i, y_i}),  logsumexp(l) = m + log sum_k exp(l_k - m),
///           m = max_k l_k (stable for any finite logits).
/// Backward: dL/dl_ij = (softmax(l_i)_j - [j = y_i]) / N, written into `*dlogits` (assigned,
///           resized to N x K) when `dlogits` is not null.
/// Shapes: logits N x K, labels N entries in [0, K). Cost O(N K), no allocation besides dlogits.
///
/// Errors: `shape_error` when labels.size() != N; `invalid_argument` when N = 0 (the mean is
/// undefined), when a label is outside [0, K) (naming the row), or when a row has a NaN or
/// +inf logit or only -inf logits.
template <typename Scalar>
Scalar softmax_cross_entropy(const std::type_identity_t<ConstMatrixRef<Scalar>>& logits,
                             std::span<const Index> labels, Matrix<Scalar>* dlogits = nullptr) {
  detail::check_labels<Scalar>(logits, labels, "softmax_cross_entropy");
  const Index n = logits.rows(), k = logits.cols();
  GNNPOOL_CHECK(n > 0, invalid_argument, "softmax_cross_entropy: logits has no rows; the mean loss is undefined");
  if (dlogits) dlogits->resize(n, k);
  const Scalar inv_n = Scalar(1) / static_cast<Scalar>(n);
  Scalar total(0);
  for (Index i = 0; i < n; ++i) {
    const Scalar m = logits.row(i).maxCoeff();
    const Scalar sum = (logits.row(i).array() - m).exp().sum();
    GNNPOOL_CHECK(std::isfinite(m) && std::isfinite(sum), invalid_argument, "softmax_cross_entropy: row ", i,
                  " of logits contains NaN or +inf, or only -inf");
    const Index y = labels[static_cast<std::size_t>(i)];
    total += std::log(sum) - (logits(i, y) - m);  // shifted first: exact for large equal logits
    if (dlogits) {
      dlogits->row(i) = ((logits.row(i).array() - m).exp() * (inv_n / sum)).matrix();
      (*dlogits)(i, y) -= inv_n;
    }
  }
  return total * inv_n;
}

/// Deducing overload: `softmax_cross_entropy(logits, labels)` or with `&dlogits`, for any dense
/// row-major expression (the Scalar is the expression's). The constraint keeps a call with an
/// explicit Scalar (`softmax_cross_entropy<double>(...)`) from instantiating MatrixBase<double>.
template <typename Derived>
  requires std::is_class_v<Derived>
typename Derived::Scalar softmax_cross_entropy(const Eigen::MatrixBase<Derived>& logits, std::span<const Index> labels,
                                               Matrix<typename Derived::Scalar>* dlogits = nullptr) {
  return softmax_cross_entropy<typename Derived::Scalar>(logits.derived(), labels, dlogits);
}

/// Number of rows whose arg-max equals their label (ties: the lowest column, as `torch.argmax`
/// on CPU), for any dense Eigen expression of logits (the Scalar is deduced). Same shape checks as
/// `softmax_cross_entropy`; N = 0 gives 0. Cost O(N K).
template <typename Derived>
Index argmax_accuracy_count(const Eigen::MatrixBase<Derived>& logits, std::span<const Index> labels) {
  detail::check_labels<typename Derived::Scalar>(logits, labels, "argmax_accuracy_count");
  Index correct = 0;
  for (Index i = 0; i < logits.rows(); ++i) {
    Index best = 0;
    logits.row(i).maxCoeff(&best);
    if (best == labels[static_cast<std::size_t>(i)]) ++correct;
  }
  return correct;
}

}  // namespace gnnpool

#endif
