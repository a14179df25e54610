// Tests of gnnpool/readout/attention.hpp (PyG AttentionalAggregation).

#include <gnnpool/readout/attention.hpp>

#include "readout/readout_test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_readout_attention {

using gnnpool::AttentionReadout;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::test::require_throws_with;

namespace {
auto make_gate = [](auto& params) {
  return AttentionReadout<typename std::remove_cvref_t<decltype(params)>::Scalar>(params, "pool", 4);
};
auto make_gate_nn = [](auto& params) {
  return AttentionReadout<typename std::remove_cvref_t<decltype(params)>::Scalar>(params, "pool", 4, 3);
};
}  // namespace

static_assert(gnnpool::ReadoutPolicy<AttentionReadout<float>>);
static_assert(gnnpool::ReadoutPolicy<AttentionReadout<double>>);

TEMPLATE_TEST_CASE("AttentionReadout weights each graph's rows by the softmax of the gate", "[readout][attention]",
                   float, double) {
  using T = TestType;
  ParameterSet<T> params;
  const AttentionReadout<T> readout(params, "pool", 2);
  CHECK(readout.out_features() == 2);
  CHECK_FALSE(readout.has_nn());
  params.set("pool.gate_nn.weight", Matrix<T>{{1, 0}});
  params.set("pool.gate_nn.bias", Matrix<T>{{0.5}});
  // Graph 0: gates 0.5 and ln 3 + 0.5, so alpha = (1/4, 3/4). Graph 1 is empty, graph 2 has one
  // node (alpha = 1 / (1 + 1e-16) = 1).
  Matrix<T> x(3, 2);
  x << 0, 1, static_cast<T>(std::log(3.0)), 2, -7, 5;
  const auto batch = gnnpool::test::split_rows(x, {0, 2, 2, 3});
  Matrix<T> out;
  typename AttentionReadout<T>::Cache cache;
  readout.forward(params, batch, out, cache);
  const T tol = 16 * gnnpool::numeric<T>::epsilon();
  Matrix<T> expected(3, 2);
  expected << T(0.75) * x(1, 0), T(0.25) + T(1.5), 0, 0, -7, 5;
  CHECK(gnnpool::test::max_relative_error(out, expected) <= tol);
  CHECK(std::abs(cache.alpha(0, 0) - T(0.25)) <= tol);
  CHECK(cache.alpha(2, 0) == T(1));

  // dL/dx for dout = e_0 on graph 0: dx_i = alpha_i e_0 + dz_i w, dz_i = alpha_i (x_i0 - out_00).
  Matrix<T> dout = Matrix<T>::Zero(3, 2);
  dout(0, 0) = 1;
  Matrix<T> dx;
  ParameterSet<T> dparams = params.zeros_like();
  readout.backward(params, batch, cache, dout, {&dx, nullptr}, dparams);
  const T dz0 = T(0.25) * (x(0, 0) - out(0, 0)), dz1 = T(0.75) * (x(1, 0) - out(0, 0));
  Matrix<T> expected_dx(3, 2);
  expected_dx << T(0.25) + dz0, 0, T(0.75) + dz1, 0, 0, 0;
  CHECK(gnnpool::test::max_relative_error(dx, expected_dx) <= tol);
  CHECK(std::abs(dparams.at("pool.gate_nn.bias")(0, 0)) <= tol);  // a softmax ignores a common shift
  CHECK(gnnpool::test::max_relative_error(dparams.at("pool.gate_nn.weight"),
                                          Matrix<T>{{dz0 * x(0, 0) + dz1 * x(1, 0), dz0 + 2 * dz1}}) <= tol);
}

TEST_CASE("AttentionReadout with nn sums the transformed rows, and a gate shift changes nothing",
          "[readout][attention]") {
  ParameterSet<double> params;
  const AttentionReadout<double> readout(params, "", 2, 3);
  CHECK(readout.out_features() == 3);
  CHECK(params.at("nn.weight").rows() == 3);
  CHECK(params.at("nn.bias").cols() == 3);
  gnnpool::test::randomize_parameters(params, 5);
  const auto batch = gnnpool::test::readout_batch<double>({4, 1, 6}, 2, 6);
  const gnnpool::test::ReadoutRun<AttentionReadout<double>> a(readout, params, batch, 7);
  Matrix<double> expected(3, 3);
  const Matrix<double> h = (batch.x * params.at("nn.weight").transpose()).rowwise() + params.at("nn.bias").row(0);
  for (Index g = 0; g < 3; ++g)
    expected.row(g) = a.cache.alpha.col(0).segment(batch.graph_begin(g), batch.graph_size(g)).transpose() *
                      h.middleRows(batch.graph_begin(g), batch.graph_size(g));
  CHECK(gnnpool::test::max_relative_error(a.out, expected) <= 1e-14);
  for (Index g = 0; g < 3; ++g)
    CHECK(std::abs(a.cache.alpha.col(0).segment(batch.graph_begin(g), batch.graph_size(g)).sum() - 1) <= 1e-15);

  params.at("gate_nn.bias")(0, 0) += 3.0;
  const gnnpool::test::ReadoutRun<AttentionReadout<double>> b(readout, params, batch, 7);
  CHECK(gnnpool::test::max_relative_error(b.out, a.out) <= 1e-14);
  CHECK(gnnpool::test::max_relative_error(b.dx, a.dx) <= 1e-14);
}

TEST_CASE("AttentionReadout without nn satisfies the readout contract", "[readout][attention][gradcheck][errors]") {
  gnnpool::test::check_readout_contract(make_gate, 4, 41, "AttentionReadout");
}

TEST_CASE("AttentionReadout with nn satisfies the readout contract", "[readout][attention][gradcheck][errors]") {
  gnnpool::test::check_readout_contract(make_gate_nn, 4, 42, "AttentionReadout");
}

TEST_CASE("AttentionReadout rejects bad sizes", "[readout][attention][errors]") {
  ParameterSet<double> params;
  require_throws_with<gnnpool::invalid_argument>([&] { AttentionReadout<double>(params, "a", 0); },
                                                 {"AttentionReadout", "in_features", "0"});
  require_throws_with<gnnpool::invalid_argument>([&] { AttentionReadout<double>(params, "b", 3, 0); },
                                                 {"AttentionReadout", "nn_out_features", "0"});
  const AttentionReadout<double> readout(params, "c", 3, 2);
  const auto batch = gnnpool::test::readout_batch<double>({2, 3}, 4, 1);
  Matrix<double> out, dx;
  AttentionReadout<double>::Cache cache;
  require_throws_with<gnnpool::shape_error>([&] { readout.forward(params, batch, out, cache); },
                                            {"AttentionReadout", "5 x 4", "expects 3 features"});
  const auto good = gnnpool::test::readout_batch<double>({2, 3}, 3, 1);
  readout.forward(params, good, out, cache);
  ParameterSet<double> dparams = params.zeros_like();
  require_throws_with<gnnpool::shape_error>(
      [&] { readout.backward(params, good, cache, Matrix<double>::Zero(2, 3), {&dx, nullptr}, dparams); },
      {"AttentionReadout", "dout is 2 x 3", "output is 2 x 2"});
  require_throws_with<gnnpool::shape_error>([&] { readout.backward(params, batch, cache, out, {&dx, nullptr}, dparams); },
                                            {"AttentionReadout", "expects 3 features"});
}

}  // namespace gnnpool_test_readout_attention
