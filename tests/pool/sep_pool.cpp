// Tests of gnnpool/pool/sep_pool.hpp, gnnpool/select/sep.hpp and the coding tree of
// gnnpool/detail/coding_tree.hpp: partitions of structured graphs recorded from tgp's
// PartitionTree (grid, complete graph, star, path: exact ties everywhere), one graph alone and
// inside a batch, the CPython set order emulation, the gradient checks (alone and on a tape),
// float against double, a precomputed pyramid, and the errors.

#include <gnnpool/detail/coding_tree.hpp>
#include <gnnpool/pool/pyramid.hpp>
#include <gnnpool/pool/sep_pool.hpp>
#include <gnnpool/select/sep.hpp>

#include "pool/hard_test_support.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_sep_pool {

using namespace gnnpool;

namespace {

IndexVector sep_clusters(const Batch<double>& g) {
  HardSelection<double> sel;
  SEPSelect<double>::Cache cache;
  SEPSelect<double>().forward(ParameterSet<double>{}, g, sel, cache);
  return sel.assignment;
}

Batch<double> unweighted(Index n, const EdgeList& edges) { return make_graph<double>(Matrix<double>::Zero(n, 1), edges); }

EdgeList complete(Index n) {
  EdgeList e;
  for (Index i = 0; i < n; ++i)
    for (Index j = i + 1; j < n; ++j) e.emplace_back(i, j);
  return e;
}

}  // namespace

TEST_CASE("SEPSelect reproduces tgp's partitions of structured graphs", "[pool][sep]") {
  // Expected assignments computed by tgp 1.0.1's PartitionTree (SEPSelect, depth 2) on CPython 3.11.
  EdgeList grid;
  for (Index r = 0; r < 4; ++r)
    for (Index c = 0; c < 4; ++c) {
      if (c < 3) grid.emplace_back(4 * r + c, 4 * r + c + 1);
      if (r < 3) grid.emplace_back(4 * r + c, 4 * (r + 1) + c);
    }
  CHECK(sep_clusters(unweighted(16, grid)) == IndexVector{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 3, 0, 3, 3, 3, 0});
  CHECK(sep_clusters(unweighted(5, complete(5))) == IndexVector{1, 1, 0, 0, 1});
  CHECK(sep_clusters(unweighted(6, complete(6))) == IndexVector{1, 1, 1, 1, 0, 0});
  CHECK(sep_clusters(unweighted(8, {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}, {0, 6}, {0, 7}, {1, 2}})) ==
        IndexVector{1, 0, 0, 1, 1, 1, 1, 1});
  CHECK(sep_clusters(unweighted(4, {{0, 1}, {1, 2}, {2, 3}, {0, 3}})) == IndexVector{0, 0, 1, 1});
  EdgeList path;
  for (Index i = 0; i + 1 < 14; ++i) path.emplace_back(i, i + 1);
  CHECK(sep_clusters(unweighted(14, path)) == IndexVector{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2});
  // No edges: every node its own cluster; isolated nodes and single-node components too.
  CHECK(sep_clusters(unweighted(3, {})) == IndexVector{0, 1, 2});
  CHECK(sep_clusters(unweighted(6, {{1, 2}, {2, 4}, {1, 4}})) == IndexVector{0, 1, 1, 3, 2, 4});
}

TEST_CASE("SEPSelect partitions each graph of a batch as it partitions it alone", "[pool][sep]") {
  std::vector<Index> sizes{30, 1, 0, 25};
  const auto batch = testing::random_batch<double>(sizes, 3.0, 1, 4, {.weighted = true});
  HardSelection<double> all;
  SEPSelect<double>::Cache cache;
  SEPSelect<double>().forward(ParameterSet<double>{}, batch, all, cache);
  for (Index b = 0; b < batch.num_graphs(); ++b) {
    const Index ids[] = {b};
    const auto alone = select_graphs(batch, std::span<const Index>(ids));
    const IndexVector own = sep_clusters(alone);
    for (Index i = 0; i < alone.num_nodes(); ++i)
      CHECK(all.assignment[static_cast<std::size_t>(batch.graph_begin(b) + i)] ==
            own[static_cast<std::size_t>(i)] + all.offsets[static_cast<std::size_t>(b)]);
  }
}

TEST_CASE("PySetOrder iterates like a CPython 3.11 set of ints", "[pool][sep]") {
  // Orders printed by CPython 3.11 for the same operations.
  detail::PySetOrder s;
  for (const std::int64_t k : {15, 63}) s.add(k);
  s.add(13);
  std::vector<std::int64_t> order;
  s.for_each([&](std::int64_t k) { order.push_back(k); });
  CHECK(order == std::vector<std::int64_t>{13, 63, 15});
  // 1, 9, 17 collide at slot 1; a removed 1 leaves a dummy the next collision reuses.
  detail::PySetOrder t;
  for (const std::int64_t k : {1, 9, 17}) t.add(k);
  t.remove(1);
  t.add(25);
  order.clear();
  t.for_each([&](std::int64_t k) { order.push_back(k); });
  CHECK(order == std::vector<std::int64_t>{25, 9, 17});
  const auto u = detail::PySetOrder::union_of(s, t);
  order.clear();
  u.for_each([&](std::int64_t k) { order.push_back(k); });
  CHECK(order.size() == 6);
}

TEST_CASE("SEPPool passes the gradient check alone and on a tape", "[pool][sep][gradcheck]") {
  std::vector<Index> sizes{12, 1, 9};
  Batch<double> g = testing::random_batch<double>(sizes, 3.0, 3, 5, {.weighted = true});
  ParameterSet<double> params;
  const SEPPool<double> pool(params, "", 3);
  const auto r = testing::check_pool(pool, params, g);
  INFO(r.log);
  CHECK(r.ok);
  const HardLift<double> lift;
  const auto t = test::check_pool_on_tape([](ParameterSet<double>& p, Index h) { return SEPPool<double>(p, "pool", h); }, g,
                                          &lift);
  INFO(t.log);
  CHECK(t.ok);
}

TEST_CASE("SEPPool in float matches double", "[pool][sep][float]") {
  std::vector<Index> sizes{40, 17};
  const auto g = testing::random_batch<double>(sizes, 3.0, 3, 6, {.weighted = true});
  ParameterSet<double> nd;
  ParameterSet<float> nf;
  const SEPPool<double> pd(nd, "", 3);
  const SEPPool<float> pf(nf, "", 3);
  test::require_float_matches_double(pd, nd, pf, nf, g);
}

TEST_CASE("SEP precomputes into a pyramid equal to pooling level after level", "[pool][sep][pyramid]") {
  std::vector<Index> sizes{50, 30};
  const auto g = testing::random_batch<double>(sizes, 3.0, 1, 9, {.weighted = true});
  using Connect = NormalizedConnect<ClusterConnect<double>>;
  const auto p = build_pyramid(g, 2, make_coarsener(SEPSelect<double>{}, Connect(ClusterConnect<double>{}, {.degree_norm = true})));
  REQUIRE(p.num_levels() == 2);
  ParameterSet<double> none;
  const SEPPool<double> pool(none, "", 1);
  typename SEPPool<double>::Output out;
  typename SEPPool<double>::Cache cache;
  pool.forward(none, g, out, cache);
  CHECK(out.selection.assignment == p.levels[0].selection.assignment);
  CHECK(Matrix<double>(out.batch.adj) == Matrix<double>(p.levels[0].adj));
  CHECK(p.level_size(2) <= p.level_size(1));
}

TEST_CASE("SEPPool rejects negative weights and a wrong width", "[pool][sep][errors]") {
  std::vector<double> w{1, -1};
  const auto g = make_graph<double>(Matrix<double>::Ones(3, 2), EdgeList{{0, 1}, {1, 2}}, std::span<const double>(w),
                                    {.allow_negative_weights = true});
  ParameterSet<double> params;
  const SEPPool<double> pool(params, "sep", 2);
  typename SEPPool<double>::Output out;
  typename SEPPool<double>::Cache cache;
  test::require_throws_with<invalid_argument>([&] { pool.forward(params, g, out, cache); },
                                              {"SEPSelect", "negative weight"});
  const auto wide = make_graph<double>(Matrix<double>::Ones(3, 3), EdgeList{{0, 1}});
  test::require_throws_with<shape_error>([&] { pool.forward(params, wide, out, cache); },
                                         {"sep (SEPPool)", "x is 3 x 3", "2 features"});
}

}  // namespace gnnpool_test_pool_sep_pool
