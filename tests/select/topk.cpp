// Tests of gnnpool/select/topk.hpp: scores, kept sets and their order in every mode, ties,
// empty graphs, gradients of the score head, float against double, and the errors of bad input.

#include <gnnpool/select/topk.hpp>
#include <gnnpool/core/concepts.hpp>

#include "select/score_test_support.hpp"
#include "support/approx.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_select_topk {

using gnnpool::Activation;
using gnnpool::Batch;
using gnnpool::EdgeList;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::NodeOrder;
using gnnpool::ParameterSet;
using gnnpool::TopKOptions;
using gnnpool::TopKSelect;
using gnnpool::Vector;
using gnnpool::test::require_throws_with;

static_assert(gnnpool::SelectPolicy<TopKSelect<float>>);
static_assert(gnnpool::SelectPolicy<TopKSelect<double>>);

namespace {

/// Path 0-1-2-3-4 with x chosen so that, for p = (3, 4) (||p|| = 5), y = x p / 5 is
/// (0.6, 0.8, -0.6, 0.4, 1.2): the ranking is 4, 1, 0, 3, 2.
template <typename Scalar>
Batch<Scalar> path5() {
  Matrix<Scalar> x(5, 2);
  x << 1, 0, 0, 1, -1, 0, 0, 0.5, 2, 0;
  return gnnpool::make_graph<Scalar>(x, EdgeList{{0, 1}, {1, 2}, {2, 3}, {3, 4}});
}

const std::vector<double> path5_y{0.6, 0.8, -0.6, 0.4, 1.2};

template <typename Scalar>
HardSelection<Scalar> select_path5(const TopKOptions& options, const Batch<Scalar>& g = path5<Scalar>()) {
  ParameterSet<Scalar> params;
  const TopKSelect<Scalar> select(params, "pool", 2, options);
  params.at("pool.select.weight") << Scalar(3), Scalar(4);
  HardSelection<Scalar> sel;
  typename TopKSelect<Scalar>::Cache cache;
  select.forward(params, g, sel, cache);
  return sel;
}

TopKOptions with_ratio(double ratio, NodeOrder order = NodeOrder::pyg) {
  TopKOptions o;
  o.ratio = ratio;
  o.order = order;
  return o;
}

}  // namespace

TEMPLATE_TEST_CASE("TopKSelect keeps ceil(ratio N) nodes by tanh(x p / |p|), score-descending",
                   "[select][topk]", float, double) {
  const auto sel = select_path5<TestType>(with_ratio(0.5));
  CHECK(sel.representative == IndexVector{4, 1, 0});
  CHECK(sel.assignment == IndexVector{2, 1, -1, -1, 0});
  CHECK(sel.offsets == IndexVector{0, 3});
  REQUIRE(sel.weight.size() == 5);
  for (Index i = 0; i < 5; ++i)  // every node carries its score, dropped ones included
    CHECK(sel.weight[i] == Approx(std::tanh(path5_y[static_cast<std::size_t>(i)])).epsilon(1e-6));
}

TEMPLATE_TEST_CASE("TopKSelect orders: node index (Spektral) and score, sigmoid gate", "[select][topk]", float, double) {
  CHECK(select_path5<TestType>(with_ratio(0.5, NodeOrder::node_index)).representative == IndexVector{0, 1, 4});
  CHECK(select_path5<TestType>(with_ratio(0.5, NodeOrder::score)).representative == IndexVector{4, 1, 0});
  auto o = with_ratio(0.7);
  o.nonlinearity = Activation::sigmoid;
  const auto sel = select_path5<TestType>(o);  // ceil(3.5) = 4
  CHECK(sel.representative == IndexVector{4, 1, 0, 3});
  for (Index i = 0; i < 5; ++i)
    CHECK(sel.weight[i] == Approx(1 / (1 + std::exp(-path5_y[static_cast<std::size_t>(i)]))).epsilon(1e-6));
}

TEMPLATE_TEST_CASE("TopKSelect with a fixed k keeps min(k, N_g) nodes per graph; empty graphs stay empty",
                   "[select][topk]", float, double) {
  TopKOptions o;
  o.k = 2;
  CHECK(select_path5<TestType>(o).representative == IndexVector{4, 1});
  o.k = 10;
  CHECK(select_path5<TestType>(o).representative == IndexVector{4, 1, 0, 3, 2});

  // path5, an empty graph, then a triangle whose third node scores highest.
  Matrix<TestType> xt(3, 2);
  xt << 0, -1, 1, 1, 2, 2;
  std::vector<Batch<TestType>> parts{path5<TestType>(), gnnpool::make_graph<TestType>(Matrix<TestType>(0, 2), EdgeList{}),
                                     gnnpool::make_graph<TestType>(xt, EdgeList{{0, 1}, {1, 2}, {0, 2}})};
  const auto batch = gnnpool::concatenate<TestType>(parts);
  REQUIRE(batch.offsets == IndexVector{0, 5, 5, 8});
  o.k = 2;
  const auto sel = select_path5<TestType>(o, batch);
  CHECK(sel.representative == IndexVector{4, 1, 7, 6});
  CHECK(sel.offsets == IndexVector{0, 2, 2, 4});
  const auto half = select_path5<TestType>(with_ratio(0.5), batch);  // ceil(2.5) = 3, 0, ceil(1.5) = 2
  CHECK(half.representative == IndexVector{4, 1, 0, 7, 6});
  CHECK(half.offsets == IndexVector{0, 3, 3, 5});
}

TEST_CASE("TopKOptions::from_pyg_ratio maps PyG's two meanings of ratio", "[select][topk]") {
  const auto a = TopKOptions::from_pyg_ratio(0.25);
  CHECK_FALSE(a.k.has_value());
  CHECK(a.ratio == 0.25);
  const auto b = TopKOptions::from_pyg_ratio(1.0);  // PyG gotcha: ratio = 1.0 keeps ONE node
  REQUIRE(b.k.has_value());
  CHECK(*b.k == 1);
  CHECK(*TopKOptions::from_pyg_ratio(3.0).k == 3);
  CHECK(select_path5<double>(TopKOptions::from_pyg_ratio(1.0)).representative == IndexVector{4});
}

TEMPLATE_TEST_CASE("TopKSelect min_score: per-graph softmax of x p, threshold, ascending node order",
                   "[select][topk]", float, double) {
  TopKOptions o;
  o.min_score = 0.1;
  const auto sel = select_path5<TestType>(o);
  // z = x p = (3, 4, -3, 2, 6); softmax: node 4 ~ 0.83, node 1 ~ 0.11, the rest < 0.05.
  const std::vector<double> z{3, 4, -3, 2, 6};
  double sum = 0;
  for (double v : z) sum += std::exp(v - 6);
  for (Index i = 0; i < 5; ++i)
    CHECK(sel.weight[i] == Approx(std::exp(z[static_cast<std::size_t>(i)] - 6) / (sum + 1e-16)).epsilon(1e-6));
  CHECK(sel.representative == IndexVector{1, 4});
  o.order = NodeOrder::score;
  CHECK(select_path5<TestType>(o).representative == IndexVector{4, 1});
  // A threshold above every score still keeps the best node of each graph (max - 1e-7).
  o.min_score = 0.99;
  o.order = NodeOrder::pyg;
  CHECK(select_path5<TestType>(o).representative == IndexVector{4});
}

TEMPLATE_TEST_CASE("TopKSelect breaks ties by the lower node index", "[select][topk]", float, double) {
  auto g = path5<TestType>();
  g.x.setOnes();  // every score equal
  TopKOptions o;
  o.k = 3;
  CHECK(select_path5<TestType>(o, g).representative == IndexVector{0, 1, 2});
  g.x.row(3) *= TestType(2);  // node 3 first, then the tied ones by index
  CHECK(select_path5<TestType>(o, g).representative == IndexVector{3, 0, 1});
}

TEMPLATE_TEST_CASE("rank_and_select equals a reference ranking: ties, signed zeros, graphs below and above the radix cutoff",
                   "[select][topk]", float, double) {
  // Scores on a coarse grid (many ties), with +0 and -0 (equal: they tie) and values spanning
  // exponents, so that radix passes are both taken and skipped; graph sizes around the radix
  // sort's cutoff (64); every ordering and keeping mode.
  using S = TestType;
  const IndexVector sizes{0, 1, 5, 63, 64, 65, 300, 1000};
  IndexVector offsets{0};
  for (const Index n : sizes) offsets.push_back(offsets.back() + n);
  const Index n = offsets.back();
  std::uint64_t state = 12345;
  const auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>((state >> 33) % 41) - 20;
  };
  for (const int spread : {0, 1, 2}) {
    Vector<S> score(n);
    for (Index i = 0; i < n; ++i) {
      const int v = next();
      score[i] = spread == 0 ? S(1)  // all equal: every radix pass skipped
                 : spread == 1 ? static_cast<S>(v) / S(8)
                               : std::ldexp(static_cast<S>(v), v);  // many exponents
      if (v == 0) score[i] = (i % 2 == 0) ? S(0) : -S(0);
    }
    for (const auto order : {NodeOrder::pyg, NodeOrder::node_index})
      for (const double ratio : {0.1, 0.5, 0.99})
        for (const bool fixed_k : {false, true}) {
          TopKOptions o = with_ratio(ratio, order);
          if (fixed_k) o.k = static_cast<Index>(ratio * 100);
          INFO("spread " << spread << ", order " << static_cast<int>(order) << ", ratio " << ratio << ", k "
                         << fixed_k);
          HardSelection<S> sel;
          gnnpool::detail::rank_and_select(score, offsets, o, sel);
          IndexVector rep, out_offsets{0};
          for (std::size_t b = 0; b + 1 < offsets.size(); ++b) {
            IndexVector nodes;
            for (Index i = offsets[b]; i < offsets[b + 1]; ++i) nodes.push_back(i);
            std::stable_sort(nodes.begin(), nodes.end(), [&](Index a, Index c) { return score[a] > score[c]; });
            nodes.resize(static_cast<std::size_t>(gnnpool::detail::topk_count<S>(o, offsets[b + 1] - offsets[b])));
            if (order == NodeOrder::node_index) std::sort(nodes.begin(), nodes.end());
            rep.insert(rep.end(), nodes.begin(), nodes.end());
            out_offsets.push_back(static_cast<Index>(rep.size()));
          }
          CHECK(sel.representative == rep);
          CHECK(sel.offsets == out_offsets);
          IndexVector assignment(static_cast<std::size_t>(n), HardSelection<S>::dropped);
          for (std::size_t r = 0; r < rep.size(); ++r) assignment[static_cast<std::size_t>(rep[r])] = static_cast<Index>(r);
          CHECK(sel.assignment == assignment);
        }
  }
}

TEST_CASE("TopKSelect backward: score head gradients to x and p (tanh, sigmoid, min_score)",
          "[select][topk][gradcheck]") {
  auto g = gnnpool::test::random_cluster_batch<double>({6, 0, 9, 4}, 3.0, 3, 11, false);
  std::vector<TopKOptions> cases(4);
  cases[1].nonlinearity = Activation::sigmoid;
  cases[2].min_score = 0.2;
  cases[3].k = 2;
  cases[3].order = NodeOrder::node_index;
  for (const auto& o : cases) {
    ParameterSet<double> params;
    const TopKSelect<double> select(params, "", 3, o);
    params.initialize(5);
    const auto result = gnnpool::test::check_select(select, params, g, false);
    INFO(result.log);
    CHECK(result.ok);
  }
}

TEST_CASE("TopKSelect in float matches double", "[select][topk]") {
  const auto g = gnnpool::test::random_cluster_batch<double>({40, 25}, 4.0, 8, 3, false);
  gnnpool::test::check_select_float_double<TopKSelect>(TopKOptions{}, g, 2);
  TopKOptions o;
  o.min_score = 0.02;
  gnnpool::test::check_select_float_double<TopKSelect>(o, g, 2);
}

TEST_CASE("TopKSelect rejects bad options, feature widths, weights and features", "[select][topk][errors]") {
  ParameterSet<double> params;
  const auto make = [&](TopKOptions o) { return TopKSelect<double>(params, "", 2, o); };
  require_throws_with<gnnpool::invalid_argument>([&] { make(with_ratio(0.0)); }, {"TopKSelect", "ratio must lie in (0, 1), got 0"});
  require_throws_with<gnnpool::invalid_argument>([&] { make(with_ratio(1.0)); }, {"TopKSelect", "ratio", "got 1", "set k"});
  require_throws_with<gnnpool::invalid_argument>([&] { make(with_ratio(-0.5)); }, {"ratio", "-0.5"});
  require_throws_with<gnnpool::invalid_argument>([&] { make(with_ratio(std::nan(""))); }, {"ratio", "nan"});
  TopKOptions o;
  o.k = 0;
  require_throws_with<gnnpool::invalid_argument>([&] { make(o); }, {"TopKSelect", "k must be at least 1, got 0"});
  o = {};
  o.min_score = 1.0;
  require_throws_with<gnnpool::invalid_argument>([&] { make(o); }, {"TopKSelect", "min_score must lie in (0, 1), got 1"});
  o.min_score = 0.0;
  require_throws_with<gnnpool::invalid_argument>([&] { make(o); }, {"min_score", "got 0"});
  o = {};
  o.nonlinearity = Activation::relu;
  require_throws_with<gnnpool::invalid_argument>([&] { make(o); }, {"TopKSelect", "tanh or sigmoid", "relu"});
  o = {};
  o.multiplier = std::numeric_limits<double>::infinity();
  require_throws_with<gnnpool::invalid_argument>([&] { make(o); }, {"TopKSelect", "multiplier must be finite"});
  require_throws_with<gnnpool::invalid_argument>([] { TopKOptions::from_pyg_ratio(0); }, {"from_pyg_ratio", "positive"});
  require_throws_with<gnnpool::invalid_argument>([&] { TopKSelect<double>(params, "bad", 0, {}); },
                                                 {"TopKSelect 'bad'", "in_features must be >= 1, got 0"});

  ParameterSet<double> p2;
  const TopKSelect<double> select(p2, "pool", 3, {});
  auto g = path5<double>();  // 2 features, the layer expects 3
  HardSelection<double> sel;
  TopKSelect<double>::Cache cache;
  require_throws_with<gnnpool::shape_error>([&] { select.forward(p2, g, sel, cache); },
                                            {"TopKSelect", "x is 5 x 2", "expects 3 features"});
  ParameterSet<double> p3;
  const TopKSelect<double> s3(p3, "pool", 2, {});  // weight left at zero
  require_throws_with<gnnpool::invalid_argument>([&] { s3.forward(p3, g, sel, cache); },
                                                 {"TopKSelect", "'pool.select.weight' is zero"});
  p3.at("pool.select.weight") << 1, std::numeric_limits<double>::quiet_NaN();
  require_throws_with<gnnpool::invalid_argument>([&] { s3.forward(p3, g, sel, cache); }, {"'pool.select.weight'", "non-finite"});
  p3.at("pool.select.weight") << 1, 1;
  g.x(2, 1) = std::numeric_limits<double>::infinity();
  require_throws_with<gnnpool::invalid_argument>([&] { s3.forward(p3, g, sel, cache); },
                                                 {"TopKSelect", "score of node 2 is not finite"});
}

}  // namespace gnnpool_test_select_topk
