// Tests of gnnpool/readout/sort.hpp (SortPool, PyG SortAggregation).

#include <gnnpool/model/check.hpp>
#include <gnnpool/model/ops.hpp>
#include <gnnpool/model/tape.hpp>
#include <gnnpool/nn/graph_conv.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/readout/sort.hpp>

#include "readout/readout_test_support.hpp"

#include <catch2/catch.hpp>

#include <limits>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_readout_sort {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::SortReadout;

static_assert(gnnpool::ReadoutPolicy<SortReadout<float>>);
static_assert(gnnpool::ReadoutPolicy<SortReadout<double>>);

TEMPLATE_TEST_CASE("SortReadout keeps each graph's k nodes with the largest last channel, zero-padded",
                   "[readout][sort]", float, double) {
  using T = TestType;
  Matrix<T> x(6, 2);
  x << 1, 0.5, 2, 0.75, 3, 0.25, 4, 0.75, -5, 2, 6, -1;
  // Graph 0: nodes 0..3 (tie 0.75 between 1 and 3: the lower node first); graph 1: nodes 4, 5.
  const auto batch = gnnpool::test::split_rows(x, {0, 4, 6});
  const SortReadout<T> readout(3);
  CHECK(readout.out_features(2) == 6);
  Matrix<T> out;
  typename SortReadout<T>::Cache cache;
  const ParameterSet<T> none;
  readout.forward(none, batch, out, cache);
  Matrix<T> expected(2, 6);
  expected << 2, 0.75, 4, 0.75, 1, 0.5, -5, 2, 6, -1, 0, 0;
  CHECK(out == expected);
  CHECK(cache.source == gnnpool::IndexVector{1, 3, 0, 4, 5, -1});
  Matrix<T> dout = Matrix<T>::Constant(2, 6, 1);
  dout(0, 0) = 7;
  Matrix<T> dx;
  ParameterSet<T> dparams;
  readout.backward(none, batch, cache, dout, {&dx, nullptr}, dparams);
  Matrix<T> expected_dx(6, 2);
  expected_dx << 1, 1, 7, 1, 0, 0, 1, 1, 1, 1, 1, 1;
  CHECK(dx == expected_dx);
}

TEST_CASE("SortReadout zeroes the entries equal to min(x) - 1, as PyG", "[readout][sort]") {
  // min(x) - 1 == min(x) when |min(x)| exceeds 2^53: PyG then zeroes real entries, and so does gnnpool.
  Matrix<double> x(2, 2);
  x << -1e17, 1, 3, 2;
  const auto batch = gnnpool::test::split_rows(x, {0, 2});
  Matrix<double> out;
  SortReadout<double>::Cache cache;
  const ParameterSet<double> none;
  SortReadout<double>(2).forward(none, batch, out, cache);
  CHECK(out(0, 0) == 3);
  CHECK(out(0, 2) == 0);  // -1e17 == fill
  CHECK(out(0, 3) == 1);
}

TEST_CASE("SortReadout on a batch of many row chunks equals a per-graph reference", "[readout][sort]") {
  // 3 000 nodes: the fill value's minimum is taken over three row chunks and the graphs run in
  // several runs; every graph is also read out alone (one chunk) and must give the same row.
  std::vector<Index> sizes;
  for (Index g = 0; g < 60; ++g) sizes.push_back(20 + (g * 7) % 61);
  const auto batch = gnnpool::test::readout_batch<double>(sizes, 3, 611);
  REQUIRE(batch.num_nodes() > 2 * gnnpool::detail::row_grain);
  const ParameterSet<double> none;
  const SortReadout<double> sort(5);
  Matrix<double> out;
  SortReadout<double>::Cache cache;
  sort.forward(none, batch, out, cache);
  CHECK(cache.fill == batch.x.minCoeff() - 1);
  for (Index g = 0; g < batch.num_graphs(); ++g) {
    const Index lo = batch.offsets[static_cast<std::size_t>(g)], n = batch.graph_size(g);
    const auto one = gnnpool::test::split_rows(Matrix<double>(batch.x.middleRows(lo, n)), {0, n});
    Matrix<double> row;
    SortReadout<double>::Cache alone;
    sort.forward(none, one, row, alone);
    INFO("graph " << g);
    CHECK(row == out.row(g));
    for (Index s = 0; s < 5; ++s) CHECK(alone.source[static_cast<std::size_t>(s)] + lo == cache.source[static_cast<std::size_t>(g * 5 + s)]);
  }
}

TEST_CASE("SortReadout backward matches finite differences, float matches double", "[readout][sort][gradcheck]") {
  auto make = [](auto& params) {
    (void)params;
    return SortReadout<typename std::remove_cvref_t<decltype(params)>::Scalar>(4);
  };
  gnnpool::test::check_readout_gradients(make, 3, 601);
  gnnpool::test::check_float_matches_double(make, 3, 602);
}

TEST_CASE("A GraphConv with a SortReadout head passes the whole-model gradient check", "[readout][sort][model]") {
  ParameterSet<double> params;
  // GraphConv: a GCN gives the two nodes of an isolated edge the same embedding, an exact tie of
  // the sort key that any one-sided perturbation of A flips.
  const gnnpool::GraphConv<double> conv(params, "conv", 3, 4);
  const SortReadout<double> sort(3);
  const gnnpool::Linear<double> head(params, "head", 12, 2);
  params.initialize(4);
  gnnpool::Batch<double> batch = gnnpool::test::readout_batch<double>({5, 2, 6}, 3, 605);
  const std::vector<Index> labels{1, 0, 1};
  const auto r = gnnpool::check_model(
      params,
      [&](gnnpool::Tape<double>& tape) {
        auto [g, x] = tape.inputs(batch);
        return gnnpool::cross_entropy(tape(head, tape(sort, g, gnnpool::tanh(tape(conv, g, x)))), labels);
      },
      {&batch});
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("SortReadout rejects k < 1, a non-finite sort key and a wrong dout", "[readout][sort][errors]") {
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([] { (void)SortReadout<double>(0); },
                                                                {"SortReadout", "k must be >= 1", "0"});
  Matrix<double> x(2, 2);
  x << 1, std::numeric_limits<double>::quiet_NaN(), 2, 3;
  const auto batch = gnnpool::test::split_rows(x, {0, 2});
  Matrix<double> out;
  SortReadout<double>::Cache cache;
  const ParameterSet<double> none;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { SortReadout<double>(2).forward(none, batch, out, cache); }, {"SortReadout", "x(0, 1)", "not finite"});
  x(0, 1) = 0;
  const auto ok = gnnpool::test::split_rows(x, {0, 2});
  SortReadout<double>(2).forward(none, ok, out, cache);
  Matrix<double> dx;
  ParameterSet<double> dparams;
  const Matrix<double> bad = Matrix<double>::Zero(1, 3);
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { SortReadout<double>(2).backward(none, ok, cache, bad, {&dx, nullptr}, dparams); }, {"SortReadout", "dout is 1 x 3"});
}

}  // namespace gnnpool_test_readout_sort
