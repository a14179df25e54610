#ifndef GNNPOOL_TESTS_READOUT_READOUT_TEST_SUPPORT_HPP
#define GNNPOOL_TESTS_READOUT_READOUT_TEST_SUPPORT_HPP

// Checks shared by the tests of gnnpool/readout: the gradient check on batches with an empty
// and a single-node graph, float against double, transparency of empty graphs, and the errors
// every readout must raise. Each takes a factory `make(ParameterSet<Scalar>&)` that builds the
// readout under test, so the float and double layers have the same parameter layout.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/concepts.hpp>
#include <gnnpool/testing/gradcheck.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "support/approx.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool::test {

/// Graphs of the given sizes (0 allowed), a few edges each (readouts ignore them), F features U(-1, 1).
template <typename Scalar>
Batch<Scalar> readout_batch(const std::vector<Index>& sizes, Index features, std::uint64_t seed) {
  return testing::random_batch<Scalar>(std::span<const Index>(sizes), 2.0, features, seed);
}

/// Every parameter U(-1, 1).
template <typename Scalar>
void randomize_parameters(ParameterSet<Scalar>& params, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (Index s = 0; s < params.size(); ++s)
    for (Index i = 0; i < params[s].size(); ++i) params[s].data()[i] = static_cast<Scalar>(u(rng));
}

/// Forward, then backward for a seeded upstream gradient U(-1, 1) of the output's shape (the
/// same values in float and double).
template <typename Readout>
struct ReadoutRun {
  using Scalar = typename Readout::Scalar;
  Matrix<Scalar> out, dout, dx;
  ParameterSet<Scalar> dparams;
  typename Readout::Cache cache;

  ReadoutRun(const Readout& readout, const ParameterSet<Scalar>& params, const Batch<Scalar>& batch,
             std::uint64_t seed) {
    static_assert(ReadoutPolicy<Readout>);
    readout.forward(params, batch, out, cache);
    dout = testing::random_features<Scalar>(out.rows(), out.cols(), seed);
    dparams = params.zeros_like();
    readout.backward(params, batch, cache, dout, {&dx, nullptr}, dparams);
  }
};

/// Gradient check in double of x and every parameter, on graphs of 3, 0, 1, 6 and 2 nodes.
template <typename Make>
void check_readout_gradients(Make&& make, Index features, std::uint64_t seed) {
  ParameterSet<double> params;
  const auto readout = make(params);
  randomize_parameters(params, seed);
  Batch<double> batch = readout_batch<double>({3, 0, 1, 6, 2}, features, seed + 1);
  const testing::GradCheckResult r = testing::check_readout(readout, params, batch);
  INFO(r.log);
  CHECK(r.ok);
  CHECK(r.entries_checked == batch.x.size() + params.num_scalars());
}

/// float forward and backward agree with double within numeric<float>::compare_tolerance().
template <typename Make>
void check_float_matches_double(Make&& make, Index features, std::uint64_t seed) {
  ParameterSet<double> pd;
  const auto rd = make(pd);
  randomize_parameters(pd, seed);
  ParameterSet<float> pf = pd.template cast<float>();
  ParameterSet<float> layout_f;
  const auto rf = make(layout_f);
  REQUIRE(pf.same_layout(layout_f));
  const Batch<double> bd = readout_batch<double>({4, 0, 1, 7, 30}, features, seed + 1);
  Batch<float> bf;
  bf.x = bd.x.cast<float>();
  bf.adj = bd.adj.cast<float>();
  bf.offsets = bd.offsets;
  const ReadoutRun<std::remove_cvref_t<decltype(rd)>> d(rd, pd, bd, seed + 2);
  const ReadoutRun<std::remove_cvref_t<decltype(rf)>> f(rf, pf, bf, seed + 2);
  const double tol = numeric<float>::compare_tolerance();
  CHECK(max_relative_error(f.out, d.out) <= tol);
  CHECK(max_relative_error(f.dx, d.dx) <= tol);
  for (Index s = 0; s < pd.size(); ++s) {
    INFO(pd.name(s));
    CHECK(max_relative_error(f.dparams[s], d.dparams[s]) <= tol);
  }
}

/// A batch of the rows of x split by `offsets`, with an edgeless adjacency.
template <typename Scalar>
Batch<Scalar> split_rows(const Matrix<Scalar>& x, IndexVector offsets) {
  Batch<Scalar> b;
  b.x = x;
  b.adj.resize(x.rows(), x.rows());
  b.adj.makeCompressed();
  b.offsets = std::move(offsets);
  return b;
}

/// Empty graphs read out as zero rows, whatever their upstream gradient, and change nothing
/// else: graphs {3, 0, 2, 0} give the rows of graphs {3, 2} around zero rows, the same dx and
/// the same parameter gradients. A batch of empty graphs only gives zeros.
template <typename Make>
void check_empty_graphs_are_transparent(Make&& make, Index features, std::uint64_t seed) {
  ParameterSet<double> params;
  const auto readout = make(params);
  using Readout = std::remove_cvref_t<decltype(readout)>;
  randomize_parameters(params, seed);
  const Matrix<double> x = testing::random_features<double>(5, features, seed + 1);
  const Batch<double> with_empty = split_rows(x, {0, 3, 3, 5, 5});
  const Batch<double> without = split_rows(x, {0, 3, 5});
  const ReadoutRun<Readout> a(readout, params, with_empty, seed + 2);
  Matrix<double> dout_b(2, a.out.cols());
  dout_b << a.dout.row(0), a.dout.row(2);
  Matrix<double> out_b, dx_b;
  typename Readout::Cache cache_b;
  readout.forward(params, without, out_b, cache_b);
  ParameterSet<double> dparams_b = params.zeros_like();
  readout.backward(params, without, cache_b, dout_b, {&dx_b, nullptr}, dparams_b);

  CHECK(a.out.row(1).isZero(0));
  CHECK(a.out.row(3).isZero(0));
  CHECK(a.out.row(0) == out_b.row(0));
  CHECK(a.out.row(2) == out_b.row(1));
  CHECK(a.dx == dx_b);
  for (Index s = 0; s < params.size(); ++s) CHECK(a.dparams[s] == dparams_b[s]);

  const Batch<double> all_empty = split_rows(Matrix<double>(0, features), {0, 0, 0});
  const ReadoutRun<Readout> e(readout, params, all_empty, seed + 3);
  CHECK(e.out.rows() == 2);
  CHECK(e.out.isZero(0));
  CHECK(e.dx.rows() == 0);
  CHECK(e.dx.cols() == features);
  for (Index s = 0; s < params.size(); ++s) CHECK(e.dparams[s].isZero(0));
}

/// The argument errors every readout raises, each a sentence naming the layer.
template <typename Make>
void check_readout_errors(Make&& make, Index features, const std::string& layer) {
  ParameterSet<double> params;
  const auto readout = make(params);
  using Readout = std::remove_cvref_t<decltype(readout)>;
  const Matrix<double> x = testing::random_features<double>(4, features, 7);
  Matrix<double> out, dx;
  typename Readout::Cache cache;
  ParameterSet<double> dparams = params.zeros_like();
  auto forward = [&](IndexVector offsets) { readout.forward(params, split_rows(x, std::move(offsets)), out, cache); };
  require_throws_with<invalid_argument>([&] { forward({0}); }, {layer, "empty"});
  require_throws_with<invalid_argument>([&] { forward({1, 4}); }, {layer, "start at 0"});
  require_throws_with<invalid_argument>([&] { forward({0, 3, 2, 4}); }, {layer, "non-decreasing", "offsets[2] = 2"});
  require_throws_with<shape_error>([&] { forward({0, 3}); }, {layer, "end at 3", "4 x " + std::to_string(features)});

  const Batch<double> batch = split_rows(x, {0, 1, 4});
  readout.forward(params, batch, out, cache);
  const Matrix<double> bad_dout = Matrix<double>::Zero(3, out.cols());
  require_throws_with<shape_error>([&] { readout.backward(params, batch, cache, bad_dout, {&dx, nullptr}, dparams); },
                                      {layer, "dout is 3 x", "output is 2 x"});
  const Batch<double> other = split_rows(Matrix<double>(x.topRows(3)), {0, 1, 3});
  const Matrix<double> dout = Matrix<double>::Zero(2, out.cols());
  require_throws_with<shape_error>([&] { readout.backward(params, other, cache, dout, {&dx, nullptr}, dparams); },
                                      {layer, "cache", "4 x", "3 x"});
}

/// x and dout handed over as views of some columns of wider matrices (an outer stride larger
/// than their width, as a model that concatenates features or splits a concatenated gradient
/// passes them) give the output, dx and parameter gradients of contiguous copies. The other
/// columns hold values that would show if a row were read at the wrong stride.
template <typename Make>
void check_strided_views(Make&& make, Index features, std::uint64_t seed) {
  ParameterSet<double> params;
  const auto readout = make(params);
  randomize_parameters(params, seed);
  const Batch<double> batch = readout_batch<double>({3, 0, 5, 2}, features, seed + 1);
  const ReadoutRun plain(readout, params, batch, seed + 2);
  Matrix<double> wide_x = testing::random_features<double>(batch.x.rows(), features + 3, seed + 3) * 10.0;
  wide_x.leftCols(features) = batch.x;
  const BatchRef<double> view(wide_x.leftCols(features), batch.adj, batch.offsets);
  REQUIRE(view.x.outerStride() == features + 3);
  const Index c = plain.out.cols();
  Matrix<double> wide_dout = testing::random_features<double>(plain.out.rows(), c + 2, seed + 4) * 10.0;
  wide_dout.leftCols(c) = plain.dout;
  Matrix<double> out, dx;
  typename std::remove_cvref_t<decltype(readout)>::Cache cache;
  ParameterSet<double> dparams = params.zeros_like();
  readout.forward(params, view, out, cache);
  readout.backward(params, view, cache, wide_dout.leftCols(c), {&dx, nullptr}, dparams);
  CHECK(max_relative_error(out, plain.out) < 1e-13);
  CHECK(max_relative_error(dx, plain.dx) < 1e-13);
  for (Index s = 0; s < dparams.size(); ++s) CHECK(max_relative_error(dparams[s], plain.dparams[s]) < 1e-13);
}

/// Everything every readout must satisfy, one SECTION each: the gradient check, float against
/// double, transparent empty graphs, strided views of x and dout, the argument errors naming
/// `layer`.
template <typename Make>
void check_readout_contract(Make&& make, Index features, std::uint64_t seed, const std::string& layer) {
  SECTION("backward passes the gradient check (x and every parameter)") { check_readout_gradients(make, features, seed); }
  SECTION("float agrees with double") { check_float_matches_double(make, features, seed + 10); }
  SECTION("empty graphs are zero rows and change nothing else") {
    check_empty_graphs_are_transparent(make, features, seed + 20);
  }
  SECTION("x and dout as views of wider matrices") { check_strided_views(make, features, seed + 30); }
  SECTION("malformed batches, gradients and caches are rejected") { check_readout_errors(make, features, layer); }
}

}  // namespace gnnpool::test

#endif
