#ifndef GNNPOOL_TESTS_POOL_HARD_TEST_SUPPORT_HPP
#define GNNPOOL_TESTS_POOL_HARD_TEST_SUPPORT_HPP

// Helpers shared by the tests of the sparse / hard poolers of tgp (NoPool, EdgeContraction,
// MaxCut, PAN, ASAP, SEP): the whole-model check of a pooler recorded on a tape (with the lift
// back to the input nodes), and float against double for forward and backward.

#include <gnnpool/gnnpool.hpp>
#include <gnnpool/model/check.hpp>
#include <gnnpool/model/ops.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "support/approx.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <vector>

namespace gnnpool::test {

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
        if (lift) logits = logits + tape(head, tape(mean, g, h1 + tape(*lift, p.selection, h2)));
        return cross_entropy(logits, labels) + p.aux_loss();
      },
      inputs);
}

/// Runs `pd` (double) and `pf` (float) on the same batch and upstream gradient and requires the
/// same discrete choices and values within float accuracy. The parameters of `nf` are set from
/// `nd` (cast).
template <typename PoolD, typename PoolF>
void require_float_matches_double(const PoolD& pd, ParameterSet<double>& nd, const PoolF& pf, ParameterSet<float>& nf,
                                  const Batch<double>& gd, double tolerance = 2e-4) {
  for (Index s = 0; s < nd.size(); ++s) nf[s] = nd[s].template cast<float>();
  Batch<float> gf;
  gf.x = gd.x.template cast<float>();
  gf.adj = gd.adj.template cast<float>();
  gf.offsets = gd.offsets;
  typename PoolD::Output od;
  typename PoolD::Cache cd;
  typename PoolF::Output of;
  typename PoolF::Cache cf;
  pd.forward(nd, gd, od, cd);
  pf.forward(nf, gf, of, cf);
  REQUIRE(od.selection.offsets == of.selection.offsets);
  if constexpr (requires { od.selection.assignment; })
    REQUIRE(od.selection.assignment == of.selection.assignment);
  CHECK(max_relative_error(of.batch.x, od.batch.x) < tolerance);
  CHECK(max_relative_error(Matrix<float>(of.batch.adj), Matrix<double>(od.batch.adj)) < tolerance);
  for (std::size_t l = 0; l < od.losses.size(); ++l)
    CHECK(std::abs(double(of.losses[l].value) - od.losses[l].value) < tolerance * std::max(1.0, std::abs(od.losses[l].value)));
  typename PoolD::OutputGrad gdd;
  gdd.x = testing::random_features<double>(od.batch.x.rows(), od.batch.x.cols(), 9);
  gdd.adj = testing::random_features<double>(od.batch.adj.nonZeros(), 1, 10);
  typename PoolF::OutputGrad gff;
  gff.x = gdd.x.template cast<float>();
  gff.adj = gdd.adj.template cast<float>();
  BatchGrad<double> dd;
  BatchGrad<float> df;
  ParameterSet<double> pdd = nd.zeros_like();
  ParameterSet<float> pff = nf.zeros_like();
  pd.backward(nd, gd, od, cd, gdd, dd, pdd);
  pf.backward(nf, gf, of, cf, gff, df, pff);
  CHECK(max_relative_error(df.x, dd.x) < tolerance);
  CHECK(max_relative_error(df.adj, dd.adj) < tolerance);
  for (Index s = 0; s < nd.size(); ++s) {
    INFO(nd.name(s));
    CHECK(max_relative_error(pff[s], pdd[s]) < tolerance);
  }
}

}  // namespace gnnpool::test

#endif
