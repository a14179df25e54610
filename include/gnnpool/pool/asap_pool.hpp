#ifndef GNNPOOL_POOL_ASAP_POOL_HPP
#define GNNPOOL_POOL_ASAP_POOL_HPP

/// \file
/// `ASAPPool`: ASAP (Ranjan et al. 2020; tgp `ASAPooling`, PyG `ASAPooling`) as a
/// Select-Reduce-Connect composition with a sparse selection.

#include <gnnpool/connect/induced.hpp>
#include <gnnpool/connect/normalized.hpp>
#include <gnnpool/connect/representative.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/reduce/sparse.hpp>
#include <gnnpool/select/asap.hpp>

#include <string_view>
#include <utility>

namespace gnnpool {

struct ASAPPoolOptions {
  ASAPOptions select{};
  /// tgp's post-processing of the pooled adjacency; ASAP removes the self loops.
  NormalizedConnectOptions connect{.remove_self_loops = true};
};

/// ASAPSelect + SparseReduce + NormalizedConnect<RepresentativeConnect<InducedConnect>>.
///
/// Forward:  clusters c_i = sum_j alpha_ij x_j (master-query attention over i's 1-hop
///           neighbourhood with its self loop), fitness fit = sigmoid(LEConv(c)), the top-k
///           clusters per graph (score order); X' = S^T X = fit_i c_i for each kept centre i;
///           A' = the edges between kept centres with their weights, self loops removed (tgp).
/// Backward: dL/dX through S^T X, the attention, the master query's max and the fitness;
///           dL/dA through the induced subgraph and the LEConv weights; every parameter.
/// tgp labels its pooled edges by ascending node index while its pooled rows are in score order;
/// gnnpool's pooled graph is consistent (docs/sparse-pooling.md). PyG's ASAPooling pools the
/// adjacency as S^T A S instead and scores without edge weights: gnnpool implements tgp's
/// adjacency and PyG's unweighted score (`ASAPOptions::fitness_edge_weights = false`), not
/// PyG's S^T A S.
/// Lift: `SparseLift` (representative: tgp's; assignment: x = S x').
/// Parameters: see ASAPSelect (tgp's names under prefix).
template <typename Scalar>
class ASAPPool : public Pool<ASAPSelect<Scalar>, SparseReduce<Scalar>,
                             NormalizedConnect<RepresentativeConnect<InducedConnect<Scalar>>>> {
 public:
  using Connect = NormalizedConnect<RepresentativeConnect<InducedConnect<Scalar>>>;
  using Base = Pool<ASAPSelect<Scalar>, SparseReduce<Scalar>, Connect>;

  ASAPPool(ParameterSet<Scalar>& params, std::string_view prefix, Index in_channels, ASAPPoolOptions options = {})
      : Base(layer_label(prefix, "ASAPPool"), ASAPSelect<Scalar>(params, prefix, in_channels, std::move(options.select)),
             SparseReduce<Scalar>{}, Connect(RepresentativeConnect<InducedConnect<Scalar>>{}, options.connect)) {
    this->expect_features(in_channels);
  }
};

}  // namespace gnnpool

#endif
