#ifndef GNNPOOL_TESTS_SELECT_SCORE_TEST_SUPPORT_HPP
#define GNNPOOL_TESTS_SELECT_SCORE_TEST_SUPPORT_HPP

// Helpers shared by the tests of the score-based poolers (TopK, SAG, their reduce / connect /
// lift policies and the property tests): small graphs and a gradient check of any select
// policy whose selection is a HardSelection.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/testing/gradcheck.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "pool/cluster_test_support.hpp"
#include "support/approx.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace gnnpool::test {

/// A node selection (TopK-like) of n nodes keeping `perm` in that order, weights 1.
template <typename Scalar>
HardSelection<Scalar> node_selection(const IndexVector& perm, const IndexVector& offsets, Index n) {
  HardSelection<Scalar> sel;
  sel.assignment.assign(static_cast<std::size_t>(n), HardSelection<Scalar>::dropped);
  for (std::size_t r = 0; r < perm.size(); ++r) sel.assignment[static_cast<std::size_t>(perm[r])] = static_cast<Index>(r);
  sel.representative = perm;
  sel.weight = Vector<Scalar>::Ones(n);
  sel.offsets = offsets;
  return sel;
}

/// Finite-difference check of a hard select policy: variables x, the adjacency's stored values
/// (when `adjacency`) and every parameter; outputs the per-node weights (scores); discrete
/// decision the assignment. Resampling redraws x.
template <typename Select>
testing::GradCheckResult check_select(const Select& select, ParameterSet<double>& params, Batch<double>& g,
                                      bool adjacency) {
  testing::GradCheckProblem problem;
  problem.variables.push_back({"x", g.x.data(), g.x.size()});
  if (adjacency) problem.variables.push_back({"adj", g.adj.valuePtr(), g.adj.nonZeros()});
  testing::add_parameters(problem, params);
  problem.forward = [&](std::vector<double>& out, std::vector<Index>& discrete) {
    HardSelection<double> sel;
    typename Select::Cache cache;
    select.forward(params, g, sel, cache);
    testing::append(sel.weight, out);
    discrete = sel.assignment;
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    HardSelection<double> sel;
    typename Select::Cache cache;
    select.forward(params, g, sel, cache);
    const Vector<double> dsel = Eigen::Map<const Vector<double>>(up.data(), static_cast<Index>(up.size()));
    BatchGrad<double> din;  // a select policy ADDS into din
    din.x.setZero(g.x.rows(), g.x.cols());
    din.adj.setZero(g.adj.nonZeros());
    ParameterSet<double> dparams = params.zeros_like();
    testing::poison(dparams);
    select.backward(params, g, sel, cache, dsel, din, dparams);
    std::size_t v = 0;
    testing::copy_gradient(din.x, grads[v++]);
    if (adjacency) testing::copy_gradient(din.adj, grads[v++]);
    for (Index s = 0; s < dparams.size(); ++s) testing::copy_gradient(dparams[s], grads[v++]);
  };
  problem.resample = [&](std::uint64_t seed) { g.x = testing::random_features<double>(g.x.rows(), g.x.cols(), seed); };
  return testing::check_gradients(problem);
}

/// Nodes of graph b kept by `sel`, in output order.
template <typename Scalar>
IndexVector kept_in_graph(const HardSelection<Scalar>& sel, Index b) {
  return IndexVector(sel.representative.begin() + sel.offsets[static_cast<std::size_t>(b)],
                     sel.representative.begin() + sel.offsets[static_cast<std::size_t>(b + 1)]);
}

/// Runs a select policy (TopKSelect, SAGSelect: constructor (params, prefix, F, options)) in
/// float and in double on the same graph and parameters, forward and backward, and requires
/// the float results within numeric<float>::compare_tolerance() of the double ones. Parameter
/// gradients named in `exact_zero` (exactly 0 up to round-off) are not compared.
template <template <typename> class Select, typename Options>
void check_select_float_double(const Options& options, const Batch<double>& gd, std::uint64_t seed,
                               const std::vector<std::string>& exact_zero = {}) {
  const Index f = gd.x.cols();
  const Batch<float> gf{gd.x.cast<float>(), gd.adj.cast<float>(), gd.offsets};
  ParameterSet<double> pd;
  ParameterSet<float> pf;
  const Select<double> sd(pd, "", f, options);
  const Select<float> sf(pf, "", f, options);
  pd.initialize(seed);
  for (Index s = 0; s < pd.size(); ++s) pf[s] = pd[s].template cast<float>();
  HardSelection<double> seld;
  HardSelection<float> self;
  typename Select<double>::Cache cd;
  typename Select<float>::Cache cf;
  sd.forward(pd, gd, seld, cd);
  sf.forward(pf, gf, self, cf);
  const float tol = numeric<float>::compare_tolerance();
  CHECK(max_relative_error(self.weight, seld.weight) <= tol);
  CHECK(self.offsets == seld.offsets);
  // Random scores are far apart compared with float round-off: the kept sets agree.
  CHECK(self.representative == seld.representative);
  const Vector<double> dsd = Vector<double>::LinSpaced(gd.num_nodes(), -1, 1);
  BatchGrad<double> dind{Matrix<double>::Zero(gd.x.rows(), f), Vector<double>::Zero(gd.adj.nonZeros())};
  BatchGrad<float> dinf{Matrix<float>::Zero(gf.x.rows(), f), Vector<float>::Zero(gf.adj.nonZeros())};
  auto gpd = pd.zeros_like();
  auto gpf = pf.zeros_like();
  sd.backward(pd, gd, seld, cd, dsd, dind, gpd);
  sf.backward(pf, gf, self, cf, dsd.cast<float>(), dinf, gpf);
  CHECK(max_relative_error(dinf.x, dind.x) <= tol);
  CHECK(max_relative_error(dinf.adj, dind.adj) <= tol);
  for (Index s = 0; s < pd.size(); ++s) {
    INFO(pd.name(s));
    if (std::find(exact_zero.begin(), exact_zero.end(), pd.name(s)) == exact_zero.end())
      CHECK(max_relative_error(gpf[s], gpd[s]) <= tol);
  }
}

/// The same for a whole pooler: `make(params)` builds it for a ParameterSet<double> or <float>.
template <typename Make>
void check_pool_float_double(Make make, const Batch<double>& in, std::uint64_t seed,
                             const std::vector<std::string>& exact_zero = {}) {
  const Batch<float> inf{in.x.cast<float>(), in.adj.cast<float>(), in.offsets};
  ParameterSet<double> pd;
  ParameterSet<float> pf;
  const auto pool_d = make(pd);
  const auto pool_f = make(pf);
  using PoolD = std::remove_const_t<decltype(pool_d)>;
  using PoolF = std::remove_const_t<decltype(pool_f)>;
  pd.initialize(seed);
  for (Index s = 0; s < pd.size(); ++s) pf[s] = pd[s].template cast<float>();
  typename PoolD::Output od;
  typename PoolF::Output of;
  typename PoolD::Cache cd;
  typename PoolF::Cache cf;
  pool_d.forward(pd, in, od, cd);
  pool_f.forward(pf, inf, of, cf);
  const float tol = numeric<float>::compare_tolerance();
  REQUIRE(of.selection.representative == od.selection.representative);
  CHECK(max_relative_error(of.batch.x, od.batch.x) <= tol);
  typename PoolD::OutputGrad gd;
  gd.x = testing::random_features<double>(od.batch.x.rows(), in.x.cols(), seed + 1);
  gd.adj = testing::random_features<double>(od.batch.adj.nonZeros(), 1, seed + 2).col(0);
  gd.selection = testing::random_features<double>(in.num_nodes(), 1, seed + 3).col(0);
  typename PoolF::OutputGrad gf{gd.x.template cast<float>(), gd.adj.template cast<float>(),
                                gd.selection.template cast<float>()};
  BatchGrad<double> dind;
  BatchGrad<float> dinf;
  auto dpd = pd.zeros_like();
  auto dpf = pf.zeros_like();
  pool_d.backward(pd, in, od, cd, gd, dind, dpd);
  pool_f.backward(pf, inf, of, cf, gf, dinf, dpf);
  CHECK(max_relative_error(dinf.x, dind.x) <= tol);
  CHECK(max_relative_error(dinf.adj, dind.adj) <= tol);
  for (Index s = 0; s < pd.size(); ++s) {
    INFO(pd.name(s));
    if (std::find(exact_zero.begin(), exact_zero.end(), pd.name(s)) == exact_zero.end())
      CHECK(max_relative_error(dpf[s], dpd[s]) <= tol);
  }
}

}  // namespace gnnpool::test

#endif
