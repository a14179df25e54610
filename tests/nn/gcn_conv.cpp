// Tests of gnnpool/nn/gcn_conv.hpp: hand-computed graphs, a dense reference of PyG's gcn_norm,
// gradients (x, edge weights, parameters), float vs double, errors.

#include <gnnpool/nn/gcn_conv.hpp>

#include "nn_test_support.hpp"
#include "support/approx.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <type_traits>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_nn_gcn_conv {

using gnnpool::EdgeList;
using gnnpool::GCNConv;
using gnnpool::GCNConvOptions;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::SparseMatrix;
using gnnpool::Vector;

namespace {

std::vector<GCNConvOptions> all_options() {
  std::vector<GCNConvOptions> out;
  for (bool loops : {true, false})
    for (bool normalize : {true, false})
      for (bool bias : {true, false}) out.push_back({loops, normalize, bias});
  return out;
}

std::string describe(const GCNConvOptions& o) {
  return "add_self_loops " + std::to_string(o.add_self_loops) + ", normalize " + std::to_string(o.normalize) +
         ", bias " + std::to_string(o.bias);
}

/// PyG's gcn_norm written densely from its definition: A' = adj with weight-1 loops on the
/// nodes that store none, deg = row sums (in-degree), Â = D^-1/2 A' D^-1/2, y = Â x W^T + b.
Matrix<double> dense_reference(const ParameterSet<double>& params, const SparseMatrix<double>& adj,
                               const Matrix<double>& x, const GCNConvOptions& o) {
  Matrix<double> a = Matrix<double>(adj);
  if (o.add_self_loops)
    for (Index i = 0; i < adj.rows(); ++i) {
      bool stored = false;
      for (SparseMatrix<double>::InnerIterator it(adj, i); it; ++it) stored = stored || it.col() == i;
      if (!stored) a(i, i) = 1.0;
    }
  if (o.normalize) {
    const Vector<double> deg = a.rowwise().sum();
    Vector<double> s(deg.size());
    for (Index i = 0; i < deg.size(); ++i) s[i] = deg[i] > 0 ? 1.0 / std::sqrt(deg[i]) : 0.0;
    a = s.asDiagonal() * a * s.asDiagonal();
  }
  Matrix<double> y = a * x * params.at("conv.lin.weight").transpose();
  if (o.bias) y.rowwise() += params.at("conv.bias").row(0);
  return y;
}

}  // namespace

TEMPLATE_TEST_CASE("GCNConv on small graphs computed by hand", "[nn][gcn_conv]", float, double) {
  using S = TestType;
  const S tol = 8 * gnnpool::numeric<S>::epsilon();
  ParameterSet<S> params;
  GCNConv<S> conv(params, "conv", 1, 1);
  REQUIRE(params.size() == 2);
  CHECK(params.name(0) == "conv.lin.weight");
  CHECK(params.name(1) == "conv.bias");
  params[0](0, 0) = S(1);
  typename GCNConv<S>::Cache cache;
  Matrix<S> y;

  // Path 0 - 1 - 2 with unit weights: degrees with loops (2, 3, 2).
  Matrix<S> x(3, 1);
  x << S(1), S(2), S(3);
  auto path = gnnpool::make_graph<S>(x, EdgeList{{0, 1}, {1, 2}});
  conv.forward(params, path, y, cache);
  const double r6 = std::sqrt(6.0);
  CHECK(std::abs(y(0, 0) - S(0.5 + 2 / r6)) < tol);
  CHECK(std::abs(y(1, 0) - S(1 / r6 + 2.0 / 3 + 3 / r6)) < tol);
  CHECK(std::abs(y(2, 0) - S(2 / r6 + 1.5)) < tol);
  params[1](0, 0) = S(-1);  // the bias comes after propagation: a plain shift
  conv.forward(params, path, y, cache);
  CHECK(std::abs(y(1, 0) - S(1 / r6 + 2.0 / 3 + 3 / r6 - 1)) < tol);
  params[1](0, 0) = S(0);

  // Directed 0 -> 1 of weight 2, and node 1 stores a self loop of weight 3, which it keeps:
  // deg = (1, 2 + 3): y_0 = x_0, y_1 = 2 / sqrt(5) x_0 + 3/5 x_1. Node 2 is isolated: y_2 = x_2.
  gnnpool::EdgeListOptions directed;
  directed.symmetrize = false;
  const std::vector<S> w{S(2), S(3)};
  auto g = gnnpool::make_graph<S>(x, EdgeList{{0, 1}, {1, 1}}, std::span<const S>(w), directed);
  REQUIRE(g.adj.coeff(1, 0) == S(2));  // adj(i, j) = weight of j -> i
  conv.forward(params, g, y, cache);
  CHECK(std::abs(y(0, 0) - S(1)) < tol);
  CHECK(std::abs(y(1, 0) - S(2 / std::sqrt(5.0) * 1 + 0.6 * 2)) < tol);
  CHECK(std::abs(y(2, 0) - S(3)) < tol);

  // Without self loops the isolated node has degree 0 and gives 0 (PyG masks deg^-1/2 = inf).
  ParameterSet<S> p2;
  GCNConv<S> no_loops(p2, "conv", 1, 1, {false, true, true});
  p2[0](0, 0) = S(1);
  no_loops.forward(p2, g, y, cache);
  CHECK(y(0, 0) == S(0));  // no in-edges at all
  CHECK(std::abs(y(1, 0) - S(0.6 * 2)) < tol);  // s_0 = 0 cancels the edge, the stored loop stays
  CHECK(y(2, 0) == S(0));
}

TEST_CASE("GCNConv equals a dense evaluation of PyG's gcn_norm", "[nn][gcn_conv]") {
  for (const auto& o : all_options())
    // {3, 1}: one output channel, where Â is applied through s instead of being stored.
    for (auto [in, out] : {std::pair<Index, Index>{3, 2}, {2, 5}, {4, 4}, {3, 1}}) {
      INFO(describe(o) << ", in " << in << ", out " << out);
      auto g = gnnpool::test::layer_test_graph<double>(in, 5);
      ParameterSet<double> params;
      GCNConv<double> conv(params, "conv", in, out, o);
      gnnpool::test::randomize(params, 9);
      Matrix<double> y;
      GCNConv<double>::Cache cache;
      conv.forward(params, g, y, cache);
      CHECK(cache.transform_first == (out <= in));
      CHECK(gnnpool::test::max_relative_error(y, dense_reference(params, g.adj, g.x, o)) < 1e-14);
    }
}

TEST_CASE("GCNConv backward matches finite differences for x, edge weights and parameters",
          "[nn][gcn_conv][gradcheck]") {
  for (const auto& o : all_options())
    for (auto [in, out] : {std::pair<Index, Index>{3, 2}, {2, 3}, {3, 1}}) {
      INFO(describe(o) << ", in " << in << ", out " << out);
      gnnpool::test::require_graph_layer_gradients(
          [&, in = in, out = out](ParameterSet<double>& p) { return GCNConv<double>(p, "conv", in, out, o); }, in, 13);
    }
  // Without dadj requested, the other gradients are unchanged.
  gnnpool::test::require_graph_layer_gradients(
      [](ParameterSet<double>& p) { return GCNConv<double>(p, "conv", 3, 2); }, 3, 1, false);
}

TEST_CASE("GCNConv with a given operator: forward_operator and backward_operator", "[nn][gcn_conv][gradcheck]") {
  // M = random values on the stored entries plus a random diagonal, in both product orders.
  for (const auto& shape : {std::pair<Index, Index>{3, 2}, {2, 3}}) {
    const Index in = shape.first, out = shape.second;  // not a structured binding: the lambdas capture out
    INFO("in " << in << ", out " << out);
    auto g = gnnpool::test::layer_test_graph<double>(in, 21);
    const Index n = g.x.rows();
    ParameterSet<double> params;
    const GCNConv<double> conv(params, "conv", in, out, {.add_self_loops = false, .normalize = false});
    gnnpool::test::randomize(params, 22);
    Vector<double> values = gnnpool::testing::random_features<double>(g.adj.nonZeros(), 1, 23).col(0);
    const Vector<double> diag = gnnpool::testing::random_features<double>(n, 1, 24).col(0);
    // Against a dense evaluation: y = (M_off + diag(d)) X W^T + 1 b^T.
    {
      SparseMatrix<double> m = g.adj;
      std::copy(values.data(), values.data() + values.size(), m.valuePtr());
      Matrix<double> dense = m;
      dense.diagonal() += diag;
      Matrix<double> y;
      GCNConv<double>::Cache cache;
      conv.forward_operator(params, g.adj, values, &diag, g.x, y, cache);
      const Matrix<double> expected =
          (dense * g.x * params.at("conv.lin.weight").transpose()).rowwise() + params.at("conv.bias").row(0);
      CHECK(gnnpool::test::max_relative_error(y, expected) < 1e-14);
    }
    gnnpool::testing::GradCheckProblem problem;
    problem.variables.push_back({"x", g.x.data(), g.x.size()});
    problem.variables.push_back({"operator values", values.data(), values.size()});
    gnnpool::testing::add_parameters(problem, params);
    GCNConv<double>::Cache cache;
    problem.forward = [&](std::vector<double>& outputs, std::vector<Index>&) {
      Matrix<double> y;
      conv.forward_operator(params, g.adj, values, &diag, g.x, y, cache);
      gnnpool::testing::append(y, outputs);
      return 0.0;
    };
    problem.backward = [&](const std::vector<double>& upstream, std::vector<std::vector<double>>& grads) {
      Matrix<double> y;
      conv.forward_operator(params, g.adj, values, &diag, g.x, y, cache);
      std::size_t k = 0;
      const Matrix<double> dy = gnnpool::test::take(upstream, n, out, k);
      Matrix<double> dx;
      Vector<double> dm;
      ParameterSet<double> dparams = params.zeros_like();
      gnnpool::testing::poison(dparams);
      conv.backward_operator(params, g.adj, values, &diag, g.x, cache, dy, {&dx, &dm}, dparams);
      gnnpool::testing::copy_gradient(dx, grads[0]);
      gnnpool::testing::copy_gradient(dm, grads[1]);
      for (Index s = 0; s < dparams.size(); ++s)
        gnnpool::testing::copy_gradient(dparams[s], grads[static_cast<std::size_t>(s) + 2]);
    };
    const auto result = gnnpool::testing::check_gradients(problem);
    INFO(result.log);
    CHECK(result.ok);
    // An operator of the wrong size is refused, naming the layer and the sizes.
    Matrix<double> y;
    const Vector<double> short_values = values.head(values.size() - 1);
    gnnpool::test::require_throws_with<gnnpool::shape_error>(
        [&] { conv.forward_operator(params, g.adj, short_values, &diag, g.x, y, cache); },
        {"conv (GCNConv)", "values for an adjacency of"});
    const Vector<double> short_diag = diag.head(n - 1);
    gnnpool::test::require_throws_with<gnnpool::shape_error>(
        [&] { conv.forward_operator(params, g.adj, values, &short_diag, g.x, y, cache); },
        {"conv (GCNConv)", "diagonal has"});
  }
}

TEST_CASE("GCNConv in float agrees with double", "[nn][gcn_conv]") {
  for (auto [in, out] : {std::pair<Index, Index>{8, 4}, {4, 8}, {8, 1}}) {
    INFO("in " << in << ", out " << out);
    gnnpool::test::check_graph_layer_float_vs_double(
        [in = in, out = out](auto& params) {
          using S = typename std::decay_t<decltype(params)>::Scalar;
          return GCNConv<S>(params, "conv", in, out);
        },
        in, out, 3);
  }
}

TEST_CASE("GCNConv handles a graph without nodes", "[nn][gcn_conv]") {
  ParameterSet<double> params;
  GCNConv<double> conv(params, "conv", 3, 2);
  gnnpool::Batch<double> empty;
  empty.adj.resize(0, 0);
  empty.adj.makeCompressed();
  empty.x.resize(0, 3);
  Matrix<double> y, dx;
  GCNConv<double>::Cache cache;
  conv.forward(params, empty, y, cache);
  CHECK(y.rows() == 0);
  CHECK(y.cols() == 2);
  Vector<double> dadj;
  ParameterSet<double> grads = params.zeros_like();
  grads[0].setConstant(7);
  conv.backward(params, empty, cache, Matrix<double>(0, 2), {&dx, &dadj}, grads);
  CHECK(dx.rows() == 0);
  CHECK(dadj.size() == 0);
  CHECK(grads[0].isZero());
}

TEST_CASE("GCNConv rejects bad graphs and shapes with sentences", "[nn][gcn_conv][errors]") {
  using gnnpool::test::require_throws_with;
  ParameterSet<double> params;
  require_throws_with<gnnpool::invalid_argument>([&] { GCNConv<double>(params, "c", 0, 2); },
                                                 {"GCNConv 'c'", "0 and 2"});
  // The layer names itself by its prefix in every message.
  GCNConv<double> conv(params, "conv", 3, 2);
  auto g = gnnpool::test::layer_test_graph<double>(3, 1);
  const Index n = g.x.rows();
  Matrix<double> y, dx;
  GCNConv<double>::Cache cache;
  SparseMatrix<double> rect(n, n + 1);
  rect.makeCompressed();
  using Ref = gnnpool::BatchRef<double>;
  require_throws_with<gnnpool::shape_error>([&] { conv.forward(params, Ref(g.x, rect, g.offsets), y, cache); },
                                            {"GCNConv", "adj must be square", std::to_string(n) + " x " + std::to_string(n + 1)});
  require_throws_with<gnnpool::shape_error>(
      [&] { conv.forward(params, Ref(g.x.topRows(n - 1), g.adj, g.offsets), y, cache); },
      {"GCNConv", "adj is " + std::to_string(n) + " x " + std::to_string(n), std::to_string(n - 1) + " rows"});
  require_throws_with<gnnpool::shape_error>([&] { conv.forward(params, Ref(Matrix<double>::Zero(n, 4), g.adj, g.offsets), y, cache); },
                                            {"GCNConv", "x is " + std::to_string(n) + " x 4", "3 input features"});
  SparseMatrix<double> loose = g.adj;
  loose.uncompress();
  require_throws_with<gnnpool::invalid_argument>([&] { conv.forward(params, Ref(g.x, loose, g.offsets), y, cache); },
                                                 {"GCNConv", "compressed"});
  // A node whose weighted in-degree is negative has no deg^-1/2.
  gnnpool::EdgeListOptions neg;
  neg.allow_negative_weights = true;
  const std::vector<double> w{-3.0};
  auto bad = gnnpool::make_graph<double>(Matrix<double>::Zero(2, 3), EdgeList{{0, 1}}, std::span<const double>(w), neg);
  require_throws_with<gnnpool::invalid_argument>([&] { conv.forward(params, bad, y, cache); },
                                                 {"GCNConv", "node 0", "in-degree -2", ">= 0"});

  conv.forward(params, g, y, cache);
  ParameterSet<double> grads = params.zeros_like();
  Vector<double> dadj;
  require_throws_with<gnnpool::shape_error>(
      [&] { conv.backward(params, g, cache, Matrix<double>::Zero(n, 3), {&dx, &dadj}, grads); },
      {"conv (GCNConv) backward", "dy is " + std::to_string(n) + " x 3", "expected " + std::to_string(n) + " x 2"});
  GCNConv<double>::Cache other;
  require_throws_with<gnnpool::invalid_argument>(
      [&] { conv.backward(params, g, other, Matrix<double>::Zero(n, 2), {&dx, &dadj}, grads); },
      {"conv (GCNConv) backward", "cache"});
}

}  // namespace gnnpool_test_nn_gcn_conv
