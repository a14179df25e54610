#ifndef GNNPOOL_POOL_NMF_POOL_HPP
#define GNNPOOL_POOL_NMF_POOL_HPP

/// \file
/// `NMFPool`: NMF pooling (Bacciu & Di Sotto 2019; tgp's `NMFPooling`) as an SRC composition.

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/soft.hpp>
#include <gnnpool/select/nmf.hpp>
#include <gnnpool/select/precomputed.hpp>

#include <concepts>
#include <string_view>
#include <utility>

namespace gnnpool {

/// Settings of NMFPool. Defaults reproduce tgp's `NMFPooling(k)` on sparse input.
struct NMFPoolOptions {
  Index k = 0;         ///< components (clusters) per graph (required, >= 1)
  NMFOptions nmf{};    ///< the factorisation's iteration and stopping rule
  /// tgp's DenseConnect on sparse (unbatched) input: zero diagonal, then the degrees of its
  /// A[source, target] rows, which are the columns of gnnpool's adj(target, source).
  SoftConnectNormalization normalization = SoftConnectNormalization::clamped_column_degree;
};

/// NMF pooling:
///
///   S = NMFSelect(A)   (softmax(H^T) of A ≈ W H per graph; special cases ones / I; padded to K)
///   X' = S^T X         (SoftReduce)
///   A' = C^-1/2 (S^T A S - diag) C^-1/2   (SoftConnect, clamped_column_degree)
///
/// Non-trainable and feature-independent: S is a constant (no gradient flows through it, as in
/// tgp); dL/dX comes from S^T X and dL/dA from S^T A S. `Select` may be `PrecomputedSoftSelect`
/// to reuse a selection computed once per graph (or recorded from scikit-learn): construct the
/// pooler from it. Cost: the factorisation (O(E k + n k^2) per HALS sweep) plus O(E K + N K (K + F)).
template <typename Scalar_, typename Select = NMFSelect<Scalar_>>
class NMFPool : public Pool<Select, SoftReduce<Scalar_>, SoftConnect<Scalar_>> {
 public:
  using Scalar = Scalar_;
  using Base = Pool<Select, SoftReduce<Scalar>, SoftConnect<Scalar>>;

  /// gnnpool's own factorisation with options.k components; no parameters are registered.
  NMFPool(ParameterSet<Scalar>& /*params*/, std::string_view prefix, Index in_channels, const NMFPoolOptions& options)
    requires std::same_as<Select, NMFSelect<Scalar>>
      : NMFPool(NMFSelect<Scalar>(options.k, options.nmf), options, prefix) {
    this->expect_features(in_channels);
  }

  /// Any soft selector without parameters (a `PrecomputedSoftSelect`, ...); options.k and
  /// options.nmf are not read.
  explicit NMFPool(Select select, const NMFPoolOptions& options = {}, std::string_view prefix = {})
      : Base(layer_label(prefix, "NMFPool"), std::move(select), SoftReduce<Scalar>(),
             SoftConnect<Scalar>(options.normalization)) {}
};

}  // namespace gnnpool

#endif
