// Tests of gnnpool/readout/attention_sum.hpp (Spektral GlobalAttnSumPool).

#include <gnnpool/readout/attention_sum.hpp>

#include "readout/readout_test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_readout_attention_sum {

using gnnpool::AttentionSumOptions;
using gnnpool::AttentionSumReadout;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::test::require_throws_with;

namespace {
auto make_attn_sum = [](auto& params) {
  return AttentionSumReadout<typename std::remove_cvref_t<decltype(params)>::Scalar>(params, "readout", 4);
};
}  // namespace

static_assert(gnnpool::ReadoutPolicy<AttentionSumReadout<float>>);
static_assert(gnnpool::ReadoutPolicy<AttentionSumReadout<double>>);

TEMPLATE_TEST_CASE("AttentionSumReadout weights the rows of each graph by the softmax of x a",
                   "[readout][attention_sum]", float, double) {
  using T = TestType;
  for (const double eps : {0.0, gnnpool::spektral_constants::segment_softmax_denominator_eps}) {
    INFO("softmax_eps " << eps);
    ParameterSet<T> params;
    const AttentionSumReadout<T> readout(params, "readout", 2, AttentionSumOptions{eps});
    REQUIRE(params.at("readout.attn_kernel").rows() == 2);
    REQUIRE(params.at("readout.attn_kernel").cols() == 1);
    params.set("readout.attn_kernel", Matrix<T>{{1}, {0}});
    // Graph 0: scores 0 and ln 3, alpha = (1/3, 1) / (4/3 + eps). Graph 1 is empty.
    Matrix<T> x(2, 2);
    x << 0, 1, static_cast<T>(std::log(3.0)), 2;
    const auto batch = gnnpool::test::split_rows(x, {0, 2, 2});
    Matrix<T> out;
    typename AttentionSumReadout<T>::Cache cache;
    readout.forward(params, batch, out, cache);
    const T denominator = T(1) / T(3) + T(1) + static_cast<T>(eps);
    const T a0 = (T(1) / T(3)) / denominator, a1 = T(1) / denominator;
    Matrix<T> expected(2, 2);
    expected << a1 * x(1, 0), a0 + 2 * a1, 0, 0;
    const T tol = 16 * gnnpool::numeric<T>::epsilon();
    CHECK(gnnpool::test::max_relative_error(out, expected) <= tol);
    if (eps == 0) CHECK(std::abs(cache.alpha.sum() - T(1)) <= tol);

    // dout = (1, 0): dalpha = x_i0, dz_i = alpha_i (x_i0 - out_00), dx_i = alpha_i e_0 + dz_i a^T.
    Matrix<T> dout = Matrix<T>::Zero(2, 2);
    dout(0, 0) = 1;
    Matrix<T> dx;
    ParameterSet<T> dparams = params.zeros_like();
    readout.backward(params, batch, cache, dout, {&dx, nullptr}, dparams);
    const T dz0 = a0 * (x(0, 0) - (a0 * x(0, 0) + a1 * x(1, 0))), dz1 = a1 * (x(1, 0) - (a0 * x(0, 0) + a1 * x(1, 0)));
    Matrix<T> expected_dx(2, 2);
    expected_dx << a0 + dz0, 0, a1 + dz1, 0;
    CHECK(gnnpool::test::max_relative_error(dx, expected_dx) <= tol);
    CHECK(gnnpool::test::max_relative_error(dparams.at("readout.attn_kernel"),
                                            Matrix<T>{{dz0 * x(0, 0) + dz1 * x(1, 0)}, {dz0 + 2 * dz1}}) <= tol);
  }
}

TEST_CASE("AttentionSumReadout satisfies the readout contract", "[readout][attention_sum][gradcheck][errors]") {
  gnnpool::test::check_readout_contract(make_attn_sum, 4, 61, "AttentionSumReadout");
}

TEST_CASE("AttentionSumReadout rejects bad sizes and options", "[readout][attention_sum][errors]") {
  ParameterSet<double> params;
  require_throws_with<gnnpool::invalid_argument>([&] { AttentionSumReadout<double>(params, "a", 0); },
                                                 {"AttentionSumReadout", "in_features", "0"});
  require_throws_with<gnnpool::invalid_argument>(
      [&] { AttentionSumReadout<double>(params, "b", 2, AttentionSumOptions{-1.0}); },
      {"AttentionSumReadout", "softmax_eps", "-1"});
  require_throws_with<gnnpool::invalid_argument>(
      [&] { AttentionSumReadout<double>(params, "c", 2, AttentionSumOptions{std::numeric_limits<double>::quiet_NaN()}); },
      {"AttentionSumReadout", "softmax_eps"});
  const AttentionSumReadout<double> readout(params, "d", 3);
  const auto batch = gnnpool::test::readout_batch<double>({2, 3}, 2, 1);
  Matrix<double> out;
  AttentionSumReadout<double>::Cache cache;
  require_throws_with<gnnpool::shape_error>([&] { readout.forward(params, batch, out, cache); },
                                            {"AttentionSumReadout", "5 x 2", "expects 3 features"});
}

}  // namespace gnnpool_test_readout_attention_sum
