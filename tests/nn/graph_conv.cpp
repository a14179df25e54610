// Tests of gnnpool/nn/graph_conv.hpp: names, hand-computed values, a dense reference,
// gradients (x, edge weights, parameters), float vs double, errors.

#include <gnnpool/nn/graph_conv.hpp>

#include "nn_test_support.hpp"
#include "support/approx.hpp"

#include <catch2/catch.hpp>

#include <type_traits>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_nn_graph_conv {

using gnnpool::EdgeList;
using gnnpool::GraphConv;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::SparseMatrix;
using gnnpool::Vector;

TEMPLATE_TEST_CASE("GraphConv has PyG's names and sums weighted in-messages", "[nn][graph_conv]", float, double) {
  using S = TestType;
  ParameterSet<S> params;
  GraphConv<S> conv(params, "sel.gnn", 1, 1);
  REQUIRE(params.size() == 3);
  CHECK(params.name(0) == "sel.gnn.lin_rel.weight");
  CHECK(params.name(1) == "sel.gnn.lin_rel.bias");
  CHECK(params.name(2) == "sel.gnn.lin_root.weight");
  params.at("sel.gnn.lin_rel.weight")(0, 0) = S(1);
  params.at("sel.gnn.lin_rel.bias")(0, 0) = S(0.5);
  params.at("sel.gnn.lin_root.weight")(0, 0) = S(10);
  // Directed 0 -> 1 of weight 2, a stored loop of weight 3 on node 1 (an ordinary edge here),
  // node 2 isolated: y = (0 + 0.5 + 10, 2 + 3 * 2 + 0.5 + 20, 0.5 + 30).
  gnnpool::EdgeListOptions directed;
  directed.symmetrize = false;
  const std::vector<S> w{S(2), S(3)};
  Matrix<S> x(3, 1);
  x << S(1), S(2), S(3);
  auto g = gnnpool::make_graph<S>(x, EdgeList{{0, 1}, {1, 1}}, std::span<const S>(w), directed);
  Matrix<S> y;
  typename GraphConv<S>::Cache cache;
  conv.forward(params, g, y, cache);
  CHECK(y(0, 0) == S(10.5));
  CHECK(y(1, 0) == S(28.5));
  CHECK(y(2, 0) == S(30.5));

  // Backward with dy = (1, 1, 1): dadj(1, 0) = dy_1 x_0 = 1, dadj(1, 1) = dy_1 x_1 = 2 (CSR
  // order: row 1 holds columns 0, 1); dx_0 = 2 dy_1 W_rel + 10 = 12, dx_1 = 3 + 10 = 13.
  Matrix<S> dx;
  Vector<S> dadj;
  ParameterSet<S> grads = params.zeros_like();
  conv.backward(params, g, cache, Matrix<S>::Ones(3, 1), {&dx, &dadj}, grads);
  REQUIRE(dadj.size() == 2);
  CHECK(dadj[0] == S(1));
  CHECK(dadj[1] == S(2));
  CHECK(dx(0, 0) == S(12));
  CHECK(dx(1, 0) == S(13));
  CHECK(dx(2, 0) == S(10));
  CHECK(grads.at("sel.gnn.lin_rel.weight")(0, 0) == S(8));  // sum of aggregated messages (0, 8, 0)
  CHECK(grads.at("sel.gnn.lin_rel.bias")(0, 0) == S(3));
  CHECK(grads.at("sel.gnn.lin_root.weight")(0, 0) == S(6));

  ParameterSet<S> nb;
  GraphConv<S> no_bias(nb, "g", 2, 3, false);
  CHECK(nb.size() == 2);
  CHECK(nb.name(1) == "g.lin_root.weight");
  CHECK_FALSE(no_bias.has_bias());
}

TEST_CASE("GraphConv equals its dense definition in both product orders", "[nn][graph_conv]") {
  for (bool bias : {true, false})
    for (auto [in, out] : {std::pair<Index, Index>{3, 2}, {2, 5}, {4, 4}}) {
      INFO("bias " << bias << ", in " << in << ", out " << out);
      auto g = gnnpool::test::layer_test_graph<double>(in, 5);
      ParameterSet<double> params;
      GraphConv<double> conv(params, "conv", in, out, bias);
      gnnpool::test::randomize(params, 9);
      Matrix<double> y;
      GraphConv<double>::Cache cache;
      conv.forward(params, g, y, cache);
      CHECK(cache.aggregate_first == (in <= out));
      Matrix<double> expected = Matrix<double>(g.adj) * g.x * params.at("conv.lin_rel.weight").transpose() +
                                g.x * params.at("conv.lin_root.weight").transpose();
      if (bias) expected.rowwise() += params.at("conv.lin_rel.bias").row(0);
      CHECK(gnnpool::test::max_relative_error(y, expected) < 1e-14);
    }
}

TEST_CASE("GraphConv backward matches finite differences for x, edge weights and parameters",
          "[nn][graph_conv][gradcheck]") {
  for (bool bias : {true, false})
    for (auto [in, out] : {std::pair<Index, Index>{3, 2}, {2, 3}}) {
      INFO("bias " << bias << ", in " << in << ", out " << out);
      gnnpool::test::require_graph_layer_gradients(
          [&, in = in, out = out](ParameterSet<double>& p) { return GraphConv<double>(p, "conv", in, out, bias); }, in,
          13);
    }
  gnnpool::test::require_graph_layer_gradients(
      [](ParameterSet<double>& p) { return GraphConv<double>(p, "conv", 3, 1); }, 3, 1, false);
}

TEST_CASE("GraphConv in float agrees with double", "[nn][graph_conv]") {
  for (auto [in, out] : {std::pair<Index, Index>{8, 1}, {4, 8}}) {
    INFO("in " << in << ", out " << out);
    gnnpool::test::check_graph_layer_float_vs_double(
        [in = in, out = out](auto& params) {
          using S = typename std::decay_t<decltype(params)>::Scalar;
          return GraphConv<S>(params, "conv", in, out);
        },
        in, out, 3);
  }
}

TEST_CASE("GraphConv rejects bad graphs and shapes with sentences", "[nn][graph_conv][errors]") {
  using gnnpool::test::require_throws_with;
  ParameterSet<double> params;
  require_throws_with<gnnpool::invalid_argument>([&] { GraphConv<double>(params, "c", 2, 0); },
                                                 {"GraphConv 'c'", "2 and 0"});
  GraphConv<double> conv(params, "conv", 3, 2);
  auto g = gnnpool::test::layer_test_graph<double>(3, 1);
  const Index n = g.x.rows();
  const std::string nn = std::to_string(n);
  Matrix<double> y, dx;
  GraphConv<double>::Cache cache;
  SparseMatrix<double> rect(n + 1, n);
  rect.makeCompressed();
  using Ref = gnnpool::BatchRef<double>;
  require_throws_with<gnnpool::shape_error>([&] { conv.forward(params, Ref(g.x, rect, g.offsets), y, cache); },
                                            {"GraphConv", "adj must be square", std::to_string(n + 1) + " x " + nn});
  require_throws_with<gnnpool::shape_error>([&] { conv.forward(params, Ref(g.x.topRows(2), g.adj, g.offsets), y, cache); },
                                            {"GraphConv", "adj is " + nn + " x " + nn, "2 rows"});
  require_throws_with<gnnpool::shape_error>([&] { conv.forward(params, Ref(Matrix<double>::Zero(n, 1), g.adj, g.offsets), y, cache); },
                                            {"GraphConv", "x is " + nn + " x 1", "3 input features"});
  SparseMatrix<double> loose = g.adj;
  loose.uncompress();
  require_throws_with<gnnpool::invalid_argument>([&] { conv.forward(params, Ref(g.x, loose, g.offsets), y, cache); },
                                                 {"GraphConv", "compressed"});
  conv.forward(params, g, y, cache);
  ParameterSet<double> grads = params.zeros_like();
  require_throws_with<gnnpool::shape_error>(
      [&] { conv.backward(params, g, cache, Matrix<double>::Zero(n - 1, 2), {&dx, nullptr}, grads); },
      {"conv (GraphConv) backward", "dy is " + std::to_string(n - 1) + " x 2", "expected " + nn + " x 2"});
  require_throws_with<gnnpool::shape_error>(
      [&] { conv.backward(params, Ref(g.x, rect, g.offsets), cache, Matrix<double>::Zero(n, 2), {&dx, nullptr}, grads); },
      {"conv (GraphConv)", "adj must be square"});
  GraphConv<double>::Cache other;
  require_throws_with<gnnpool::invalid_argument>(
      [&] { conv.backward(params, g, other, Matrix<double>::Zero(n, 2), {&dx, nullptr}, grads); },
      {"conv (GraphConv) backward", "cache"});
}

}  // namespace gnnpool_test_nn_graph_conv
