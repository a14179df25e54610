#ifndef GNNPOOL_TESTS_NN_NN_TEST_SUPPORT_HPP
#define GNNPOOL_TESTS_NN_NN_TEST_SUPPORT_HPP

// Helpers shared by the tests of gnnpool/nn: random parameters, the
// gradient check of a graph layer (GCNConv / GraphConv signature) and the test graphs.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/testing/gradcheck.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "support/approx.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace gnnpool::test {

/// Every parameter U(-1, 1): non-zero biases so that their gradients are exercised.
template <typename Scalar>
void randomize(ParameterSet<Scalar>& params, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (Index s = 0; s < params.size(); ++s)
    for (Index i = 0; i < params[s].size(); ++i) params[s].data()[i] = static_cast<Scalar>(u(rng));
}

/// Fills a dense matrix from the checker's flat upstream gradient, starting at `k`.
inline Matrix<double> take(const std::vector<double>& upstream, Index rows, Index cols, std::size_t& k) {
  Matrix<double> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = upstream[k++];
  return m;
}

/// A weighted test batch with every case a graph layer must handle: a random weighted graph
/// (random_graph, self loops allowed), an isolated node, a path whose middle node has a stored
/// self loop, and a directed (non-symmetric) triangle with a loop.
template <typename Scalar>
Batch<Scalar> layer_test_graph(Index features, std::uint64_t seed) {
  testing::RandomGraphOptions options;
  options.weighted = true;
  options.self_loops = true;
  std::vector<Batch<Scalar>> parts;
  parts.push_back(testing::random_graph<Scalar>(9, 14, features, seed, options));
  parts.push_back(make_graph<Scalar>(testing::random_features<Scalar>(1, features, seed + 1), EdgeList{}));
  const std::vector<Scalar> path_w{Scalar(0.8), Scalar(0.6), Scalar(1.2)};
  parts.push_back(make_graph<Scalar>(testing::random_features<Scalar>(3, features, seed + 2),
                                     EdgeList{{0, 1}, {1, 1}, {1, 2}}, std::span<const Scalar>(path_w)));
  EdgeListOptions directed;
  directed.symmetrize = false;
  const std::vector<Scalar> tri_w{Scalar(0.7), Scalar(1.3), Scalar(0.9), Scalar(1.1)};
  parts.push_back(make_graph<Scalar>(testing::random_features<Scalar>(3, features, seed + 3),
                                     EdgeList{{0, 1}, {1, 2}, {2, 0}, {2, 2}}, std::span<const Scalar>(tri_w),
                                     directed));
  return concatenate<Scalar>(parts);
}

/// Gradient check of a dense map y = f(x; params): `forward(y)` evaluates at the current x and
/// params, `backward(dy, dx, dparams)` must assign dx and every slot of dparams. Variables: x
/// and every parameter. (Layers use testing::check_feature_layer / check_graph_layer.)
template <typename Forward, typename Backward>
testing::GradCheckResult check_dense_layer(ParameterSet<double>& params, Matrix<double>& x, Forward forward,
                                           Backward backward) {
  testing::GradCheckProblem problem;
  problem.variables.push_back({"x", x.data(), x.size()});
  testing::add_parameters(problem, params);
  problem.forward = [&](std::vector<double>& outputs, std::vector<Index>&) {
    Matrix<double> y;
    forward(y);
    testing::append(y, outputs);
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& upstream, std::vector<std::vector<double>>& grads) {
    Matrix<double> y;
    forward(y);
    std::size_t k = 0;
    const Matrix<double> dy = take(upstream, y.rows(), y.cols(), k);
    Matrix<double> dx = Matrix<double>::Constant(x.rows(), x.cols(), std::numeric_limits<double>::quiet_NaN());
    ParameterSet<double> dparams = params.zeros_like();
    testing::poison(dparams);
    backward(dy, dx, dparams);
    testing::copy_gradient(dx, grads[0]);
    for (Index s = 0; s < dparams.size(); ++s) testing::copy_gradient(dparams[s], grads[static_cast<std::size_t>(s) + 1]);
  };
  return testing::check_gradients(problem);
}

/// `check_graph_layer` on `layer_test_graph(in, seed)` for the layer `make(params)` builds, with
/// random parameters; the result must pass.
template <typename Make>
void require_graph_layer_gradients(Make make, Index in, std::uint64_t seed, bool adjacency = true) {
  auto g = layer_test_graph<double>(in, seed);
  ParameterSet<double> params;
  const auto layer = make(params);
  randomize(params, seed + 1);
  const auto result = testing::check_graph_layer(layer, params, g, adjacency);
  INFO(result.log);
  CHECK(result.ok);
}

/// Runs a graph layer in float and in double on a random weighted graph (200 nodes) and checks
/// that y, dx, dadj and every parameter gradient agree to float precision. `make(params)` builds
/// the layer for a ParameterSet of either Scalar, so both layouts are the same.
template <typename Make>
void check_graph_layer_float_vs_double(Make make, Index in, Index out, std::uint64_t seed) {
  testing::RandomGraphOptions weighted;
  weighted.weighted = true;
  const auto g = testing::random_graph<double>(200, 800, in, seed, weighted);
  ParameterSet<double> params;
  const auto layer = make(params);
  randomize(params, seed + 1);
  ParameterSet<float> pf;
  const auto layerf = make(pf);
  pf = params.cast<float>();
  Batch<float> gf;
  gf.adj = g.adj.cast<float>();
  gf.x = g.x.cast<float>();
  gf.offsets = g.offsets;
  Matrix<double> y, dx;
  Matrix<float> yf, dxf;
  typename std::remove_cvref_t<decltype(layer)>::Cache cache;
  typename std::remove_cvref_t<decltype(layerf)>::Cache cachef;
  layer.forward(params, g, y, cache);
  layerf.forward(pf, gf, yf, cachef);
  const double tol = numeric<float>::compare_tolerance();
  CHECK(max_relative_error(yf, y) < tol);
  const Matrix<double> dy = testing::random_features<double>(g.x.rows(), out, seed + 2);
  Vector<double> dadj;
  Vector<float> dadjf;
  ParameterSet<double> grads = params.zeros_like();
  ParameterSet<float> gradsf = pf.zeros_like();
  layer.backward(params, g, cache, dy, {&dx, &dadj}, grads);
  const Matrix<float> dyf = dy.cast<float>();
  layerf.backward(pf, gf, cachef, dyf, {&dxf, &dadjf}, gradsf);
  CHECK(max_relative_error(dxf, dx) < tol);
  CHECK(max_relative_error(dadjf, dadj) < tol);
  for (Index s = 0; s < grads.size(); ++s) CHECK(max_relative_error(gradsf[s], grads[s]) < tol);
}

}  // namespace gnnpool::test

#endif
