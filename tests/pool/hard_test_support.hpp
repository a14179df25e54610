#ifndef GNNPOOL_TESTS_POOL_HARD_TEST_SUPPORT_HPP
#define GNNPOOL_TESTS_POOL_HARD_TEST_SUPPORT_HPP

// Helpers shared by the tests of the sparse / hard poolers of tgp (NoPool, EdgeContraction,
// MaxCut, PAN, ASAP, SEP): float against double for forward and backward (the whole-model check
// is support/model_check.hpp's).

#include <gnnpool/gnnpool.hpp>
#include <gnnpool/model/check.hpp>
#include <gnnpool/model/ops.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "support/approx.hpp"
#include "support/model_check.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <vector>

namespace gnnpool::test {

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
