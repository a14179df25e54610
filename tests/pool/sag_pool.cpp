// Tests of gnnpool/pool/sag_pool.hpp: SAGPool end to end (forward against its parts, gradient
// check with edge weights for both scorers, float against double, empty graphs, errors).

#include <gnnpool/pool/sag_pool.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "select/score_test_support.hpp"
#include "support/approx.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_sag_pool {

using gnnpool::Batch;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::SAGOptions;
using gnnpool::SAGPool;
using gnnpool::SAGScorer;
using gnnpool::Vector;
using gnnpool::test::require_throws_with;

TEST_CASE("SAGPool forward: gated rows of the kept nodes and their induced subgraph", "[pool][sag_pool]") {
  const auto in = gnnpool::test::random_cluster_batch<double>({12, 0, 9}, 4.0, 3, 7, true);
  ParameterSet<double> params;
  SAGOptions o;
  o.topk.multiplier = 0.5;
  const auto pool = gnnpool::SAGPool(params, "sag", 3, o);
  CHECK(params.find("sag.gnn.lin_rel.weight") >= 0);
  CHECK(params.find("sag.select.weight") >= 0);
  params.initialize(5);
  SAGPool<double>::Output out;
  SAGPool<double>::Cache cache;
  pool.forward(params, in, out, cache);
  CHECK(out.batch.offsets == IndexVector{0, 6, 6, 11});
  CHECK_NOTHROW(gnnpool::check_batch(out.batch, "test"));
  const auto& perm = out.selection.representative;
  for (std::size_t r = 0; r < perm.size(); ++r) {
    const auto row = static_cast<Index>(r);
    CHECK(gnnpool::test::max_relative_error(out.batch.x.row(row), 0.5 * out.selection.weight[perm[r]] * in.x.row(perm[r])) < 1e-15);
    for (std::size_t c = 0; c < perm.size(); ++c)
      CHECK(out.batch.adj.coeff(row, static_cast<Index>(c)) == in.adj.coeff(perm[r], perm[c]));
  }
}

TEST_CASE("SAGPool passes the gradient check (x, edge weights through scorer and connect, parameters)",
          "[pool][sag_pool][gradcheck]") {
  std::vector<SAGOptions> cases(4);
  cases[1].scorer = SAGScorer::gcn;
  cases[2].scorer = SAGScorer::gcn;
  cases[2].topk.min_score = 0.2;
  cases[3].edge_weights = false;
  cases[3].topk.k = 2;
  for (const auto& o : cases) {
    auto in = gnnpool::test::random_cluster_batch<double>({9, 0, 7}, 3.0, 3, 12, true);
    ParameterSet<double> params;
    const auto pool = gnnpool::SAGPool(params, "", 3, o);
    params.initialize(8);
    const auto r = gnnpool::testing::check_pool(pool, params, in);
    INFO(r.log);
    CHECK(r.ok);
  }
}

TEST_CASE("SAGPool in float matches double, forward and backward", "[pool][sag_pool]") {
  const auto in = gnnpool::test::random_cluster_batch<double>({40, 25}, 5.0, 6, 9, true);
  for (const auto scorer : {SAGScorer::graph_conv, SAGScorer::gcn}) {
    SAGOptions o;
    o.scorer = scorer;
    gnnpool::test::check_pool_float_double([&](auto& params) { return gnnpool::SAGPool(params, "", 6, o); }, in, 3,
                                           {"select.weight"});
  }
}

TEST_CASE("SAGPool keeps empty graphs and rejects a wrong feature width", "[pool][sag_pool][errors]") {
  ParameterSet<double> params;
  const auto pool = gnnpool::SAGPool(params, "", 2, SAGOptions{});
  params.initialize(1);
  Batch<double> empty;
  empty.x.resize(0, 2);
  empty.adj.resize(0, 0);
  empty.offsets = {0, 0};
  SAGPool<double>::Output out;
  SAGPool<double>::Cache cache;
  pool.forward(params, empty, out, cache);
  CHECK(out.batch.offsets == IndexVector{0, 0});
  const auto in = gnnpool::test::random_cluster_batch<double>({5}, 2.0, 3, 1, false);
  require_throws_with<gnnpool::shape_error>([&] { pool.forward(params, in, out, cache); },
                                            {"SAGPool", "x is 5 x 3", "expects 2 features"});
}

}  // namespace gnnpool_test_pool_sag_pool
