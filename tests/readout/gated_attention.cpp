// Tests of gnnpool/readout/gated_attention.hpp (Spektral GlobalAttentionPool).

#include <gnnpool/readout/gated_attention.hpp>

#include "readout/readout_test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_readout_gated_attention {

using gnnpool::GatedAttentionReadout;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::test::require_throws_with;

namespace {
auto make_gated = [](auto& params) {
  return GatedAttentionReadout<typename std::remove_cvref_t<decltype(params)>::Scalar>(params, "readout", 4, 3);
};
}  // namespace

static_assert(gnnpool::ReadoutPolicy<GatedAttentionReadout<float>>);
static_assert(gnnpool::ReadoutPolicy<GatedAttentionReadout<double>>);

TEMPLATE_TEST_CASE("GatedAttentionReadout sums sigmoid-gated features without normalising",
                   "[readout][gated_attention]", float, double) {
  using T = TestType;
  ParameterSet<T> params;
  const GatedAttentionReadout<T> readout(params, "readout", 1, 2);
  CHECK(readout.out_features() == 2);
  // Channel 0: f = 2x + 1 with a zero gate logit (s = 1/2); channel 1: f = 1, s = sigmoid(x).
  params.set("readout.features_layer.weight", Matrix<T>{{2}, {0}});
  params.set("readout.features_layer.bias", Matrix<T>{{1, 1}});
  params.set("readout.attn_layer.weight", Matrix<T>{{0}, {1}});
  params.set("readout.attn_layer.bias", Matrix<T>{{0, 0}});
  Matrix<T> x(4, 1);
  x << 1, -2, 0, 3;
  const auto batch = gnnpool::test::split_rows(x, {0, 3, 3, 4});
  Matrix<T> out;
  typename GatedAttentionReadout<T>::Cache cache;
  readout.forward(params, batch, out, cache);
  auto sigmoid = [](T v) { return T(1) / (T(1) + std::exp(-v)); };
  Matrix<T> expected(3, 2);
  expected << T(0.5) * (3 + -3 + 1), sigmoid(1) + sigmoid(-2) + sigmoid(0), 0, 0, T(0.5) * 7, sigmoid(3);
  const T tol = 16 * gnnpool::numeric<T>::epsilon();
  CHECK(gnnpool::test::max_relative_error(out, expected) <= tol);

  // Twice the same graph gives twice the output: a sum, not an average.
  Matrix<T> twice(6, 1);
  twice << 1, -2, 0, 1, -2, 0;
  Matrix<T> out2;
  readout.forward(params, gnnpool::test::split_rows(twice, {0, 6}), out2, cache);
  CHECK(gnnpool::test::max_relative_error(out2.row(0), (2 * expected.row(0)).eval()) <= tol);

  // dout = (0, 1) on graph 2: dx = s (1 - s) * 1 * W_a = s(1 - s); dW_a = s (1 - s) x, db_a = s (1 - s).
  readout.forward(params, batch, out, cache);
  Matrix<T> dout = Matrix<T>::Zero(3, 2);
  dout(2, 1) = 1;
  Matrix<T> dx;
  ParameterSet<T> dparams = params.zeros_like();
  readout.backward(params, batch, cache, dout, {&dx, nullptr}, dparams);
  const T ds = sigmoid(3) * (1 - sigmoid(3));
  CHECK(dx.topRows(3).isZero(0));
  CHECK(std::abs(dx(3, 0) - ds) <= tol);
  CHECK(std::abs(dparams.at("readout.attn_layer.weight")(1, 0) - 3 * ds) <= tol);
  CHECK(std::abs(dparams.at("readout.attn_layer.bias")(0, 1) - ds) <= tol);
  CHECK(std::abs(dparams.at("readout.features_layer.bias")(0, 1) - sigmoid(3)) <= tol);
  CHECK(dparams.at("readout.features_layer.bias")(0, 0) == 0);
}

TEST_CASE("GatedAttentionReadout satisfies the readout contract", "[readout][gated_attention][gradcheck][errors]") {
  gnnpool::test::check_readout_contract(make_gated, 4, 51, "GatedAttentionReadout");
}

TEST_CASE("GatedAttentionReadout rejects bad sizes", "[readout][gated_attention][errors]") {
  ParameterSet<double> params;
  require_throws_with<gnnpool::invalid_argument>([&] { GatedAttentionReadout<double>(params, "a", 3, 0); },
                                                 {"GatedAttentionReadout", "channels", "3 and 0"});
  const GatedAttentionReadout<double> readout(params, "b", 3, 2);
  const auto batch = gnnpool::test::readout_batch<double>({2, 3}, 5, 1);
  Matrix<double> out;
  GatedAttentionReadout<double>::Cache cache;
  require_throws_with<gnnpool::shape_error>([&] { readout.forward(params, batch, out, cache); },
                                            {"GatedAttentionReadout", "5 x 5", "expects 3 features"});
}


TEMPLATE_TEST_CASE("GatedAttentionReadout sums graphs that cross its row blocks", "[readout][gated_attention]", float,
                   double) {
  // The forward sums each block of 1024 rows while it is in cache; a graph cut by a block
  // boundary gets its later blocks' rows through per-block partials. Graphs here: one inside the
  // first block, one across two boundaries (1000 .. 3100), empty ones on both sides of a boundary,
  // one ending exactly at a boundary, small ones after. Oracle: the direct dense formula.
  using T = TestType;
  ParameterSet<T> params;
  const GatedAttentionReadout<T> readout(params, "readout", 3, 5);
  const Index n = 4500;
  const Matrix<T> x = gnnpool::testing::random_features<T>(n, 3, 11);
  const gnnpool::IndexVector offsets{0, 1000, 1000, 3100, 3100, 3100, 4096, 4096, 4200, 4201, 4500, 4500};
  const auto batch = gnnpool::test::split_rows(x, offsets);
  Matrix<T> out;
  typename GatedAttentionReadout<T>::Cache cache;
  readout.forward(params, batch, out, cache);
  const Matrix<T> f = (x * params.at("readout.features_layer.weight").transpose()).rowwise() +
                      params.at("readout.features_layer.bias").row(0);
  const Matrix<T> a = (x * params.at("readout.attn_layer.weight").transpose()).rowwise() +
                      params.at("readout.attn_layer.bias").row(0);
  const Matrix<T> s = (T(1) + (-a.array()).exp()).inverse().matrix();
  const Index graphs = static_cast<Index>(offsets.size()) - 1;
  REQUIRE(out.rows() == graphs);
  for (Index g = 0; g < graphs; ++g) {
    Eigen::Matrix<double, 1, Eigen::Dynamic> expected = Eigen::Matrix<double, 1, Eigen::Dynamic>::Zero(5);
    for (Index i = offsets[static_cast<std::size_t>(g)]; i < offsets[static_cast<std::size_t>(g) + 1]; ++i)
      expected += s.row(i).cwiseProduct(f.row(i)).template cast<double>();
    INFO("graph " << g);
    const double scale = 1 + expected.cwiseAbs().maxCoeff();
    CHECK((out.row(g).template cast<double>() - expected).cwiseAbs().maxCoeff() <=
          scale * 1e4 * static_cast<double>(gnnpool::numeric<T>::epsilon()));
    if (offsets[static_cast<std::size_t>(g)] == offsets[static_cast<std::size_t>(g) + 1]) CHECK(out.row(g).isZero(0));
  }
}

}  // namespace gnnpool_test_readout_gated_attention
