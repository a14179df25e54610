#ifndef GNNPOOL_GNNPOOL_HPP
#define GNNPOOL_GNNPOOL_HPP

/// \file
/// Everything of gnnpool in one include: the core types, the layers, the poolers and their
/// policies, the readouts, the readers, the data utilities and the model layer. The per-family
/// headers (gnnpool/pool/topk_pool.hpp, ...) stay available for lighter translation units.
/// NDP uses Spectra for large graphs when it is installed (select/ndp.hpp).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/core/sparse_selection.hpp>
#include <gnnpool/core/types.hpp>

#include <gnnpool/nn/activation.hpp>
#include <gnnpool/nn/adam.hpp>
#include <gnnpool/nn/cross_entropy.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/nn/graph_conv.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/nn/lstm.hpp>
#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/nn/softmax.hpp>

#include <gnnpool/select/asap.hpp>
#include <gnnpool/select/edge_contraction.hpp>
#include <gnnpool/select/eigen.hpp>
#include <gnnpool/select/graclus.hpp>
#include <gnnpool/select/identity.hpp>
#include <gnnpool/select/kmis.hpp>
#include <gnnpool/select/lapool.hpp>
#include <gnnpool/select/maxcut.hpp>
#include <gnnpool/select/ndp.hpp>
#include <gnnpool/select/nmf.hpp>
#include <gnnpool/select/pan.hpp>
#include <gnnpool/select/precomputed.hpp>
#include <gnnpool/select/sag.hpp>
#include <gnnpool/select/scorer.hpp>
#include <gnnpool/select/sep.hpp>
#include <gnnpool/select/soft_assign.hpp>
#include <gnnpool/select/stick_breaking.hpp>
#include <gnnpool/select/topk.hpp>

#include <gnnpool/reduce/cluster.hpp>
#include <gnnpool/reduce/eigen.hpp>
#include <gnnpool/reduce/gather.hpp>
#include <gnnpool/reduce/soft.hpp>
#include <gnnpool/reduce/sparse.hpp>

#include <gnnpool/connect/augmented.hpp>
#include <gnnpool/connect/cluster.hpp>
#include <gnnpool/connect/induced.hpp>
#include <gnnpool/connect/kron.hpp>
#include <gnnpool/connect/normalized.hpp>
#include <gnnpool/connect/representative.hpp>
#include <gnnpool/connect/soft.hpp>

#include <gnnpool/loss/balance.hpp>
#include <gnnpool/loss/bnpool.hpp>
#include <gnnpool/loss/cluster.hpp>
#include <gnnpool/loss/entropy.hpp>
#include <gnnpool/loss/higher_order_cut.hpp>
#include <gnnpool/loss/link.hpp>
#include <gnnpool/loss/maxcut.hpp>
#include <gnnpool/loss/mincut.hpp>
#include <gnnpool/loss/modularity.hpp>
#include <gnnpool/loss/orthogonality.hpp>
#include <gnnpool/loss/total_variation.hpp>

#include <gnnpool/pool/asap_pool.hpp>
#include <gnnpool/pool/asym_cheeger_cut_pool.hpp>
#include <gnnpool/pool/bn_pool.hpp>
#include <gnnpool/pool/diff_pool.hpp>
#include <gnnpool/pool/dmon_pool.hpp>
#include <gnnpool/pool/edge_contraction_pool.hpp>
#include <gnnpool/pool/eigen_pool.hpp>
#include <gnnpool/pool/expressive.hpp>
#include <gnnpool/pool/graclus_pool.hpp>
#include <gnnpool/pool/hard_lift.hpp>
#include <gnnpool/pool/hosc_pool.hpp>
#include <gnnpool/pool/just_balance_pool.hpp>
#include <gnnpool/pool/kmis_pool.hpp>
#include <gnnpool/pool/lapool.hpp>
#include <gnnpool/pool/maxcut_pool.hpp>
#include <gnnpool/pool/mincut_pool.hpp>
#include <gnnpool/pool/ndp_pool.hpp>
#include <gnnpool/pool/nmf_pool.hpp>
#include <gnnpool/pool/no_pool.hpp>
#include <gnnpool/pool/pan_pool.hpp>
#include <gnnpool/pool/pinv_lift.hpp>
#include <gnnpool/pool/pool.hpp>
#include <gnnpool/pool/pyramid.hpp>
#include <gnnpool/pool/sag_pool.hpp>
#include <gnnpool/pool/sep_pool.hpp>
#include <gnnpool/pool/soft_function.hpp>
#include <gnnpool/pool/soft_lift.hpp>
#include <gnnpool/pool/soft_pool.hpp>
#include <gnnpool/pool/sparse_lift.hpp>
#include <gnnpool/pool/topk_pool.hpp>
#include <gnnpool/pool/weighted_lift.hpp>

#include <gnnpool/readout/attention.hpp>
#include <gnnpool/readout/attention_sum.hpp>
#include <gnnpool/readout/gated_attention.hpp>
#include <gnnpool/readout/max.hpp>
#include <gnnpool/readout/mean.hpp>
#include <gnnpool/readout/set2set.hpp>
#include <gnnpool/readout/sort.hpp>
#include <gnnpool/readout/sum.hpp>

#include <gnnpool/io/checkpoint.hpp>
#include <gnnpool/io/edge_list.hpp>
#include <gnnpool/io/linqs.hpp>
#include <gnnpool/io/tu.hpp>

#include <gnnpool/data/loader.hpp>
#include <gnnpool/data/splits.hpp>

#include <gnnpool/testing/gradcheck.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <gnnpool/model/check.hpp>
#include <gnnpool/model/ops.hpp>
#include <gnnpool/model/tape.hpp>

#endif
