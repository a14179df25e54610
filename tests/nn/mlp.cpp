// Tests of gnnpool/nn/mlp.hpp: PyG names, values, gradients, float vs double, errors.

#include <gnnpool/nn/mlp.hpp>

#include "nn_test_support.hpp"
#include "support/approx.hpp"

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_nn_mlp {

using gnnpool::Activation;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::MLP;
using gnnpool::ParameterSet;

TEMPLATE_TEST_CASE("MLP has PyG's names and no activation after the last layer", "[nn][mlp]", float, double) {
  using S = TestType;
  ParameterSet<S> params;
  MLP<S> mlp(params, "pool.mlp", {1, 1, 1});
  REQUIRE(params.size() == 4);
  CHECK(params.name(0) == "pool.mlp.lins.0.weight");
  CHECK(params.name(1) == "pool.mlp.lins.0.bias");
  CHECK(params.name(2) == "pool.mlp.lins.1.weight");
  CHECK(params.name(3) == "pool.mlp.lins.1.bias");
  CHECK(mlp.num_layers() == 2);
  params[0](0, 0) = S(2);
  params[1](0, 0) = S(-1);
  params[2](0, 0) = S(-3);
  params[3](0, 0) = S(0.5);
  Matrix<S> x(2, 1);
  x << S(1), S(-1);
  Matrix<S> y;
  typename MLP<S>::Cache cache;
  mlp.forward(params, x, y, cache);
  // z = (1, -3), relu -> (1, 0), y = -3 h + 0.5 = (-2.5, 0.5): negative output, no final relu.
  CHECK(y(0, 0) == S(-2.5));
  CHECK(y(1, 0) == S(0.5));

  // Backward with dy = (1, 1): dW1 = dy^T h = 1, db1 = 2, dh = -3 dy, dz = dh [z > 0] = (-3, 0),
  // dW0 = dz^T x = -3, db0 = -3, dx = 2 dz = (-6, 0).
  Matrix<S> dx;
  ParameterSet<S> grads = params.zeros_like();
  mlp.backward(params, x, cache, Matrix<S>::Ones(2, 1), &dx, grads);
  CHECK(grads[2](0, 0) == S(1));
  CHECK(grads[3](0, 0) == S(2));
  CHECK(grads[0](0, 0) == S(-3));
  CHECK(grads[1](0, 0) == S(-3));
  CHECK(dx(0, 0) == S(-6));
  CHECK(dx(1, 0) == S(0));

  ParameterSet<S> nb;
  MLP<S> no_bias(nb, "", {3, 4, 2}, Activation::tanh, false);
  CHECK(nb.size() == 2);
  CHECK(nb.name(1) == "lins.1.weight");
  CHECK(nb[1].rows() == 2);
  CHECK(nb[1].cols() == 4);
}

TEST_CASE("MLP backward matches finite differences", "[nn][mlp][gradcheck]") {
  const std::vector<std::vector<Index>> shapes{{4, 3}, {4, 5, 2}, {3, 6, 4, 2}};
  for (const auto& channels : shapes)
    for (Activation act : {Activation::identity, Activation::relu, Activation::tanh, Activation::sigmoid,
                           Activation::selu})
      for (bool bias : {true, false}) {
        INFO("layers " << channels.size() - 1 << ", " << gnnpool::activation_name(act) << ", bias " << bias);
        ParameterSet<double> params;
        MLP<double> mlp(params, "mlp", channels, act, bias);
        gnnpool::test::randomize(params, 3);
        Matrix<double> x = gnnpool::testing::random_features<double>(5, channels.front(), 8);
        const auto result = gnnpool::testing::check_feature_layer(mlp, params, x);
        INFO(result.log);
        CHECK(result.ok);
      }
}

TEST_CASE("MLP in float agrees with double", "[nn][mlp]") {
  ParameterSet<double> params;
  MLP<double> mlp(params, "mlp", {6, 16, 16, 3}, Activation::selu);
  params.initialize(4);
  ParameterSet<float> pf;
  MLP<float> mlpf(pf, "mlp", {6, 16, 16, 3}, Activation::selu);
  pf = params.cast<float>();
  const Matrix<double> x = gnnpool::testing::random_features<double>(30, 6, 1);
  const Matrix<double> dy = gnnpool::testing::random_features<double>(30, 3, 2);
  Matrix<double> y, dx;
  Matrix<float> yf, dxf;
  MLP<double>::Cache cache;
  MLP<float>::Cache cachef;
  mlp.forward(params, x, y, cache);
  mlpf.forward(pf, x.cast<float>(), yf, cachef);
  CHECK(gnnpool::test::max_relative_error(yf, y) < gnnpool::numeric<float>::compare_tolerance());
  ParameterSet<double> g = params.zeros_like();
  ParameterSet<float> gf = pf.zeros_like();
  mlp.backward(params, x, cache, dy, &dx, g);
  mlpf.backward(pf, x.cast<float>(), cachef, dy.cast<float>(), &dxf, gf);
  CHECK(gnnpool::test::max_relative_error(dxf, dx) < gnnpool::numeric<float>::compare_tolerance());
  for (Index s = 0; s < g.size(); ++s)
    CHECK(gnnpool::test::max_relative_error(gf[s], g[s]) < gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("MLP rejects bad channels and shapes with sentences", "[nn][mlp][errors]") {
  using gnnpool::test::require_throws_with;
  ParameterSet<double> params;
  require_throws_with<gnnpool::invalid_argument>([&] { MLP<double>(params, "m", {3}); },
                                                 {"MLP 'm'", "at least 2 entries", "got 1"});
  require_throws_with<gnnpool::invalid_argument>([&] { MLP<double>(params, "m", {3, 0, 2}); },
                                                 {"MLP 'm'", "channels[1]", "got 0"});
  MLP<double> mlp(params, "mlp", {3, 4, 2});
  Matrix<double> y, dx;
  MLP<double>::Cache cache;
  require_throws_with<gnnpool::shape_error>([&] { mlp.forward(params, Matrix<double>::Zero(5, 4), y, cache); },
                                            {"MLP", "x is 5 x 4", "3 input features"});
  const Matrix<double> x = Matrix<double>::Zero(5, 3);
  mlp.forward(params, x, y, cache);
  ParameterSet<double> grads = params.zeros_like();
  require_throws_with<gnnpool::shape_error>(
      [&] { mlp.backward(params, x, cache, Matrix<double>::Zero(5, 3), &dx, grads); },
      {"mlp (MLP) backward", "dy is 5 x 3", "expected 5 x 2"});
  MLP<double>::Cache empty;
  require_throws_with<gnnpool::invalid_argument>(
      [&] { mlp.backward(params, x, empty, Matrix<double>::Zero(5, 2), &dx, grads); }, {"mlp (MLP) backward", "cache"});
}

}  // namespace gnnpool_test_nn_mlp
