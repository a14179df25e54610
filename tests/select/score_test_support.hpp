#ifndef GNNPOOL_TESTS_SELECT_SCORE_TEST_SUPPORT_HPP
#define GNNPOOL_TESTS_SELECT_SCORE_TEST_SUPPORT_HPP

// Helpers shared by the tests of the score-based poolers (TopK, SAG, their reduce / connect /
// lift policies and the property tests): small graphs and a gradient check of any select
// policy whose selection is a HardSelection.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/testing/gradcheck.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace gnnpool::test {

/// A batch of random graphs of the given sizes (sizes may be 0), average degree `degree`,
/// weights U(0.5, 1.5) when `weighted`.
template <typename Scalar>
Batch<Scalar> score_batch(const std::vector<Index>& sizes, double degree, Index features, std::uint64_t seed,
                          bool weighted = false) {
  testing::RandomGraphOptions options;
  options.weighted = weighted;
  return testing::random_batch<Scalar>(std::span<const Index>(sizes), degree, features, seed, options);
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

}  // namespace gnnpool::test

#endif
