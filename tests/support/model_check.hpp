#ifndef GNNPOOL_TESTS_SUPPORT_MODEL_CHECK_HPP
#define GNNPOOL_TESTS_SUPPORT_MODEL_CHECK_HPP

// The whole-model gradient check that the model-layer and pooler tests share: a pooler between
// two convolutions of a small graph-classification model (with, optionally, a U-Net branch
// through a lift), checked by finite differences through `check_model` (parameters, and the
// input's x and adjacency when asked).

#include <gnnpool/model/check.hpp>
#include <gnnpool/model/ops.hpp>
#include <gnnpool/model/tape.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/pool/hard_lift.hpp>
#include <gnnpool/readout/mean.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <cstdint>
#include <type_traits>
#include <vector>

namespace gnnpool::test {

/// Three small random graphs (7, 5 and 6 nodes, average degree 2.5).
inline Batch<double> three_graphs(Index features, std::uint64_t seed) {
  const std::vector<Index> sizes{7, 5, 6};
  return testing::random_batch<double>(sizes, 2.5, features, seed);
}

/// The `Lift` of a check without the lift branch (a soft pooler's selection has no HardLift).
struct NoLift {};

/// conv -> pool -> conv -> mean -> linear, plus (when `lift` is given) a U-Net branch that lifts
/// the pooled features back and adds them to the first level; cross-entropy + the aux losses.
/// `make_pool(params, width)` builds the pooler on `width` features.
template <typename MakePool, typename Lift = HardLift<double>>
testing::GradCheckResult check_pool_on_tape(MakePool make_pool, Batch<double>& batch, const Lift* lift = nullptr,
                                            bool with_inputs = true, std::uint64_t seed = 3) {
  ParameterSet<double> params;
  const Index f = batch.num_features(), h = 4;
  const GCNConv<double> conv1(params, "conv1", f, h);
  const auto pool = make_pool(params, h);
  const GCNConv<double> conv2(params, "conv2", h, h);
  const MeanReadout<double> mean;
  const Linear<double> head(params, "head", h, 2);
  params.initialize(seed);
  std::vector<Index> labels;
  for (Index b = 0; b < batch.num_graphs(); ++b) labels.push_back(b % 2);
  std::vector<Batch<double>*> inputs;
  if (with_inputs) inputs.push_back(&batch);
  return check_model(
      params,
      [&](Tape<double>& tape) {
        auto [g, x] = tape.inputs(batch);
        auto h1 = tanh(tape(conv1, g, x));
        auto p = tape(pool, g, h1);
        auto h2 = tanh(tape(conv2, p.graph, p.x));
        auto logits = tape(head, tape(mean, p.graph, h2));
        if constexpr (!std::is_same_v<Lift, NoLift>)
          if (lift) logits = logits + tape(head, tape(mean, g, h1 + tape(*lift, p.selection, h2)));
        return cross_entropy(logits, labels) + p.aux_loss();
      },
      inputs);
}

/// `check_pool_on_tape` on `three_graphs(3, 11)`, without the lift branch.
template <typename MakePool>
testing::GradCheckResult check_conv_after_pool(MakePool make_pool, bool with_inputs) {
  Batch<double> batch = three_graphs(3, 11);
  return check_pool_on_tape<MakePool, NoLift>(make_pool, batch, nullptr, with_inputs);
}

}  // namespace gnnpool::test

#endif
