#ifndef GNNPOOL_POOL_LAPOOL_HPP
#define GNNPOOL_POOL_LAPOOL_HPP

/// \file
/// `LaPool` (Noutahi et al., "Towards interpretable sparse graph representation learning with
/// Laplacian pooling", 2019) as an SRC composition, with tgp's semantics.

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/soft.hpp>
#include <gnnpool/select/lapool.hpp>

#include <string_view>

namespace gnnpool {

/// Settings of LaPool. Defaults reproduce tgp's `LaPooling()` (shortest_path_reg = False).
struct LaPoolOptions {
  /// tgp's DenseConnect: zero diagonal, clamped column-degree normalisation.
  SoftConnectNormalization normalization = SoftConnectNormalization::clamped_column_degree;
};

/// LaPool:
///
///   S = LaPoolSelect(X, A)   (leaders = local maxima of |L X|; cosine softmax to the leaders)
///   X' = S^T X               (SoftReduce)
///   A' = C^-1/2 (S^T A S - diag) C^-1/2   (SoftConnect, clamped_column_degree)
///
/// No parameters and no auxiliary loss. The number of clusters is data-dependent: K = the largest
/// number of leaders of a graph of the batch, graphs with fewer leaders get empty supernodes (see
/// LaPoolSelect). Backward: dL/dX through S^T X, S^T A S and the cosine similarities; dL/dA
/// through S^T A S (the leaders are a discrete choice). Cost O(E (F + K) + sum_b n_b L_b F).
template <typename Scalar_>
class LaPool : public Pool<LaPoolSelect<Scalar_>, SoftReduce<Scalar_>, SoftConnect<Scalar_>> {
 public:
  using Scalar = Scalar_;
  using Base = Pool<LaPoolSelect<Scalar>, SoftReduce<Scalar>, SoftConnect<Scalar>>;

  /// No parameters are registered: `params` and `in_channels` keep the constructor uniform with
  /// the other poolers (in_channels is checked against x).
  LaPool(ParameterSet<Scalar>& /*params*/, std::string_view prefix, Index in_channels, LaPoolOptions options = {})
      : Base(layer_label(prefix, "LaPool"), LaPoolSelect<Scalar>(), SoftReduce<Scalar>(),
             SoftConnect<Scalar>(options.normalization)) {
    this->expect_features(in_channels);
  }
};

}  // namespace gnnpool

#endif
