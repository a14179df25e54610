// Tests of gnnpool/readout/mean.hpp.

#include <gnnpool/readout/mean.hpp>

#include "readout/readout_test_support.hpp"

#include <catch2/catch.hpp>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_readout_mean {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::MeanReadout;
using gnnpool::ParameterSet;

namespace {
auto make_mean = [](auto& params) {
  (void)params;
  return MeanReadout<typename std::remove_cvref_t<decltype(params)>::Scalar>{};
};
}  // namespace

static_assert(gnnpool::ReadoutPolicy<MeanReadout<float>>);
static_assert(gnnpool::ReadoutPolicy<MeanReadout<double>>);

TEMPLATE_TEST_CASE("MeanReadout averages the rows of each graph; an empty graph gives a zero row",
                   "[readout][mean]", float, double) {
  using T = TestType;
  Matrix<T> x(6, 2);
  x << 1, -2, 3, 4, -5, 6, 7, 8, 0.5, -0.25, 9, -9;
  const auto batch = gnnpool::test::split_rows(x, {0, 2, 2, 5, 6});
  ParameterSet<T> params;
  const MeanReadout<T> readout;
  Matrix<T> out;
  typename MeanReadout<T>::Cache cache;
  readout.forward(params, batch, out, cache);
  Matrix<T> expected(4, 2);
  expected << 2, 1, 0, 0, T(2.5) / T(3), T(13.75) / T(3), 9, -9;
  CHECK(out == expected);
  CHECK(out.allFinite());

  Matrix<T> dout(4, 2);
  dout << 1, 2, 30, 40, -1, 0.5, 7, 8;
  Matrix<T> dx;
  ParameterSet<T> dparams;
  readout.backward(params, batch, cache, dout, {&dx, nullptr}, dparams);
  Matrix<T> expected_dx(6, 2);
  expected_dx << 0.5, 1, 0.5, 1, T(-1) / T(3), T(0.5) / T(3), T(-1) / T(3), T(0.5) / T(3), T(-1) / T(3),
      T(0.5) / T(3), 7, 8;
  CHECK(dx == expected_dx);
}

TEST_CASE("MeanReadout satisfies the readout contract", "[readout][mean][gradcheck][errors]") {
  gnnpool::test::check_readout_contract(make_mean, 4, 21, "MeanReadout");
}

}  // namespace gnnpool_test_readout_mean
