// Tests of gnnpool/readout/sum.hpp.

#include <gnnpool/readout/sum.hpp>

#include "readout/readout_test_support.hpp"

#include <catch2/catch.hpp>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_readout_sum {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::SumReadout;

namespace {
auto make_sum = [](auto& params) {
  (void)params;
  return SumReadout<typename std::remove_cvref_t<decltype(params)>::Scalar>{};
};
}  // namespace

static_assert(gnnpool::ReadoutPolicy<SumReadout<float>>);
static_assert(gnnpool::ReadoutPolicy<SumReadout<double>>);

TEMPLATE_TEST_CASE("SumReadout sums the rows of each graph; an empty graph gives a zero row", "[readout][sum]", float,
                   double) {
  Matrix<TestType> x(5, 2);
  x << 1, -2, 3, 4, -5, 6, 7, 8, 0.5, -0.25;
  const auto batch = gnnpool::test::split_rows(x, {0, 2, 2, 5});
  ParameterSet<TestType> params;
  const SumReadout<TestType> readout;
  Matrix<TestType> out;
  typename SumReadout<TestType>::Cache cache;
  readout.forward(params, batch, out, cache);
  Matrix<TestType> expected(3, 2);
  expected << 4, 2, 0, 0, 2.5, 13.75;
  CHECK(out == expected);

  Matrix<TestType> dout(3, 2);
  dout << 1, 2, 30, 40, -1, 0.5;
  Matrix<TestType> dx;
  ParameterSet<TestType> dparams;
  readout.backward(params, batch, cache, dout, {&dx, nullptr}, dparams);
  Matrix<TestType> expected_dx(5, 2);
  expected_dx << 1, 2, 1, 2, -1, 0.5, -1, 0.5, -1, 0.5;
  CHECK(dx == expected_dx);
}

TEST_CASE("SumReadout satisfies the readout contract", "[readout][sum][gradcheck][errors]") {
  gnnpool::test::check_readout_contract(make_sum, 4, 11, "SumReadout");
}

}  // namespace gnnpool_test_readout_sum
