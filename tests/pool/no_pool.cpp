// Tests of gnnpool/pool/no_pool.hpp and gnnpool/select/identity.hpp: NoPool returns its input
// (x, weighted adjacency, offsets) with an identity selection, passes the gradient checks alone
// and on a tape, and rejects a wrong feature width.

#include <gnnpool/pool/no_pool.hpp>
#include <gnnpool/select/identity.hpp>

#include "pool/hard_test_support.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_no_pool {

using namespace gnnpool;

TEMPLATE_TEST_CASE("NoPool returns its input batch and the identity selection", "[pool][no_pool]", float, double) {
  using T = TestType;
  std::vector<Index> sizes{5, 0, 4};
  const Batch<T> in = testing::random_batch<T>(sizes, 2.0, 3, 4, {.weighted = true});
  ParameterSet<T> params;
  const NoPool<T> pool(params, "np", 3);
  CHECK(pool.name() == "np (NoPool)");
  CHECK(params.size() == 0);
  typename NoPool<T>::Output out;
  typename NoPool<T>::Cache cache;
  pool.forward(params, in, out, cache);
  CHECK(out.batch.x == in.x);
  CHECK(Matrix<T>(out.batch.adj) == Matrix<T>(in.adj));
  CHECK(out.batch.offsets == in.offsets);
  CHECK(out.losses.empty());
  for (Index i = 0; i < in.num_nodes(); ++i) {
    CHECK(out.selection.assignment[static_cast<std::size_t>(i)] == i);
    CHECK(out.selection.representative[static_cast<std::size_t>(i)] == i);
  }
  CHECK(out.selection.weight == Vector<T>::Ones(in.num_nodes()));
  // The lift of tgp (S x') gives x back.
  Matrix<T> lifted;
  WeightedHardLift<T>().forward(out.selection, out.batch.x, lifted);
  CHECK(lifted == in.x);
}

TEST_CASE("NoPool passes the gradient check alone and on a tape", "[pool][no_pool][gradcheck]") {
  std::vector<Index> sizes{6, 1, 5};
  Batch<double> in = testing::random_batch<double>(sizes, 2.0, 3, 8, {.weighted = true});
  ParameterSet<double> params;
  const NoPool<double> pool(params, "", 3);
  const auto r = testing::check_pool(pool, params, in);
  INFO(r.log);
  CHECK(r.ok);
  const WeightedHardLift<double> lift;
  const auto t = test::check_pool_on_tape([](ParameterSet<double>& p, Index h) { return NoPool<double>(p, "pool", h); },
                                          in, &lift);
  INFO(t.log);
  CHECK(t.ok);
}

TEST_CASE("NoPool rejects a wrong feature width", "[pool][no_pool][errors]") {
  const Batch<double> in = testing::random_graph<double>(4, 3, 2, 1);
  ParameterSet<double> params;
  const NoPool<double> pool(params, "np", 3);
  typename NoPool<double>::Output out;
  typename NoPool<double>::Cache cache;
  test::require_throws_with<shape_error>([&] { pool.forward(params, in, out, cache); },
                                         {"np (NoPool)", "x is 4 x 2", "3 features"});
  test::require_throws_with<invalid_argument>([&] { NoPool<double>(params, "np", 0); }, {"in_channels must be >= 1"});
}

}  // namespace gnnpool_test_pool_no_pool
