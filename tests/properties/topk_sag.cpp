// Property tests of the score-based poolers (TopKPool, TopKAugmentedPool, SAGPool):
// - alignment: every pooled row is its representative's gated row and every pooled edge joins
//   two pooled rows whose original nodes were adjacent (two hops for the augmented connect),
//   with the original weight (the row/edge misalignment bug found in tgp);
// - a batch of graphs gives exactly what each graph gives pooled alone, forward and backward;
// - relabelling the input nodes permutes the output consistently (forward and backward);
// - ties are resolved deterministically (higher score, then lower node index).

#include <gnnpool/pool/sag_pool.hpp>
#include <gnnpool/pool/topk_pool.hpp>

#include "select/score_test_support.hpp"
#include "support/approx.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_properties_topk_sag {

using gnnpool::Batch;
using gnnpool::BatchGrad;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::NodeOrder;
using gnnpool::ParameterSet;
using gnnpool::SAGOptions;
using gnnpool::SAGScorer;
using gnnpool::SparseMatrix;
using gnnpool::TopKOptions;
using gnnpool::Vector;

namespace {

/// One pooler configuration under test, with its forward and backward type-erased so that
/// each property runs over TopK, TopK-augmented and SAG alike.
struct Subject {
  std::string name;
  std::function<void(ParameterSet<double>&, Index)> build;  // registers parameters for F features
  std::function<gnnpool::PoolOutput<double, gnnpool::HardSelection<double>>(const ParameterSet<double>&, const Batch<double>&)> forward;
  /// din and parameter gradients for the upstream (dx', dA', dscore).
  std::function<void(const ParameterSet<double>&, const Batch<double>&, const Matrix<double>&, const Vector<double>&,
                     const Vector<double>&, BatchGrad<double>&, ParameterSet<double>&)>
      backward;
  bool augmented = false;
  NodeOrder order = NodeOrder::pyg;
};

template <typename PoolT, typename Make>
Subject subject(std::string name, Make make, bool augmented, NodeOrder order) {
  auto pool = std::make_shared<std::optional<PoolT>>();
  Subject s;
  s.name = std::move(name);
  s.augmented = augmented;
  s.order = order;
  s.build = [pool, make](ParameterSet<double>& params, Index f) { pool->emplace(make(params, f)); };
  s.forward = [pool](const ParameterSet<double>& params, const Batch<double>& in) {
    typename PoolT::Output out;
    typename PoolT::Cache cache;
    (*pool)->forward(params, in, out, cache);
    return out;
  };
  s.backward = [pool](const ParameterSet<double>& params, const Batch<double>& in, const Matrix<double>& dx,
                      const Vector<double>& dadj, const Vector<double>& dscore, BatchGrad<double>& din,
                      ParameterSet<double>& dparams) {
    typename PoolT::Output out;
    typename PoolT::Cache cache;
    (*pool)->forward(params, in, out, cache);
    typename PoolT::OutputGrad g{dx, dadj, dscore};
    (*pool)->backward(params, in, out, cache, g, din, dparams);
  };
  return s;
}

std::vector<Subject> subjects() {
  std::vector<Subject> all;
  for (const auto order : {NodeOrder::pyg, NodeOrder::node_index}) {
    TopKOptions o;
    o.order = order;
    all.push_back(subject<gnnpool::TopKPool<double>>(
        "TopK", [o](ParameterSet<double>& p, Index f) { return gnnpool::TopKPool(p, "", f, o); }, false, order));
    all.push_back(subject<gnnpool::TopKAugmentedPool<double>>(
        "TopK augmented", [o](ParameterSet<double>& p, Index f) { return gnnpool::TopKAugmentedPool(p, "", f, o); },
        true, order));
    for (const auto scorer : {SAGScorer::graph_conv, SAGScorer::gcn}) {
      SAGOptions so;
      so.topk = o;
      so.scorer = scorer;
      all.push_back(subject<gnnpool::SAGPool<double>>(
          scorer == SAGScorer::gcn ? "SAG-GCN" : "SAG-GraphConv",
          [so](ParameterSet<double>& p, Index f) { return gnnpool::SAGPool(p, "", f, so); }, false, order));
    }
  }
  TopKOptions ms;
  ms.min_score = 0.05;
  all.push_back(subject<gnnpool::TopKPool<double>>(
      "TopK min_score", [ms](ParameterSet<double>& p, Index f) { return gnnpool::TopKPool(p, "", f, ms); }, false,
      NodeOrder::pyg));
  return all;
}

Vector<double> random_vector(Index n, std::uint64_t seed) {
  return gnnpool::testing::random_features<double>(n, 1, seed).col(0);
}

/// The input graph with node i renamed perm[i] (x rows and adjacency permuted alike).
Batch<double> relabel(const Batch<double>& in, const IndexVector& perm) {
  Batch<double> out;
  out.offsets = in.offsets;
  out.x.resize(in.x.rows(), in.x.cols());
  for (Index i = 0; i < in.num_nodes(); ++i) out.x.row(perm[static_cast<std::size_t>(i)]) = in.x.row(i);
  std::vector<Eigen::Triplet<double, gnnpool::StorageIndex>> t;
  for (Index i = 0; i < in.num_nodes(); ++i)
    for (SparseMatrix<double>::InnerIterator it(in.adj, i); it; ++it)
      t.emplace_back(static_cast<gnnpool::StorageIndex>(perm[static_cast<std::size_t>(i)]),
                     static_cast<gnnpool::StorageIndex>(perm[static_cast<std::size_t>(it.col())]), it.value());
  out.adj.resize(in.num_nodes(), in.num_nodes());
  out.adj.setFromTriplets(t.begin(), t.end());
  out.adj.makeCompressed();
  return out;
}

/// Position of stored entry (i, j) in CSR order, or -1.
Index entry(const SparseMatrix<double>& a, Index i, Index j) {
  for (auto p = a.outerIndexPtr()[i]; p < a.outerIndexPtr()[i + 1]; ++p)
    if (a.innerIndexPtr()[p] == j) return p;
  return -1;
}

}  // namespace

TEST_CASE("Pooled rows and pooled edges stay aligned with their original nodes", "[properties][topk][sag]") {
  const auto in = gnnpool::test::random_cluster_batch<double>({25, 0, 18, 31}, 5.0, 4, 3, true);
  const Matrix<double> dense(in.adj);
  Matrix<double> two_hop = dense;
  two_hop.diagonal().setOnes();
  two_hop = (two_hop * two_hop).eval();
  for (auto& s : subjects()) {
    INFO(s.name << (s.order == NodeOrder::node_index ? " (node order)" : ""));
    ParameterSet<double> params;
    s.build(params, 4);
    params.initialize(11);
    const auto out = s.forward(params, in);
    const auto& perm = out.selection.representative;
    for (std::size_t r = 0; r < perm.size(); ++r)
      CHECK(gnnpool::test::max_relative_error(out.batch.x.row(static_cast<Index>(r)),
                                              out.selection.weight[perm[r]] * in.x.row(perm[r])) < 1e-15);
    for (Index a = 0; a < out.batch.adj.rows(); ++a)
      for (SparseMatrix<double>::InnerIterator it(out.batch.adj, a); it; ++it) {
        const Index i = perm[static_cast<std::size_t>(a)], j = perm[static_cast<std::size_t>(it.col())];
        if (s.augmented) {
          CHECK(i != j);
          CHECK(two_hop(i, j) != 0.0);
          CHECK(it.value() == Approx(two_hop(i, j)).epsilon(1e-12));
        } else {
          CHECK(dense(i, j) != 0.0);
          CHECK(it.value() == dense(i, j));
        }
      }
    // Within a graph the order is score-descending (PyG) or ascending node id.
    for (Index b = 0; b < out.batch.num_graphs(); ++b) {
      const auto kept = gnnpool::test::kept_in_graph(out.selection, b);
      for (std::size_t r = 1; r < kept.size(); ++r) {
        if (s.order == NodeOrder::node_index || s.name == "TopK min_score") CHECK(kept[r - 1] < kept[r]);
        else CHECK(out.selection.weight[kept[r - 1]] >= out.selection.weight[kept[r]]);
      }
    }
  }
}

TEST_CASE("A batch pools exactly like its graphs pooled one by one, forward and backward", "[properties][topk][sag]") {
  const std::vector<Index> sizes{14, 0, 9, 20};
  std::vector<Batch<double>> graphs;
  for (std::size_t b = 0; b < sizes.size(); ++b)
    graphs.push_back(gnnpool::test::random_cluster_batch<double>({sizes[b]}, 4.0, 3, 40 + b, true));
  const auto batch = gnnpool::concatenate<double>(graphs);
  for (auto& s : subjects()) {
    INFO(s.name << (s.order == NodeOrder::node_index ? " (node order)" : ""));
    ParameterSet<double> params;
    s.build(params, 3);
    params.initialize(5);
    const auto whole = s.forward(params, batch);
    const Matrix<double> dx = gnnpool::testing::random_features<double>(whole.batch.x.rows(), 3, 1);
    const Vector<double> dadj = random_vector(whole.batch.adj.nonZeros(), 2);
    const Vector<double> dscore = random_vector(batch.num_nodes(), 3);
    BatchGrad<double> din;
    auto dparams = params.zeros_like();
    s.backward(params, batch, dx, dadj, dscore, din, dparams);

    auto dparams_sum = params.zeros_like();
    Index node0 = 0, row0 = 0, edge0 = 0, in_edge0 = 0;
    for (std::size_t b = 0; b < graphs.size(); ++b) {
      const auto& g = graphs[b];
      const auto alone = s.forward(params, g);
      const Index n = g.num_nodes(), m = alone.batch.x.rows(), e = alone.batch.adj.nonZeros();
      REQUIRE(whole.batch.offsets[b + 1] - whole.batch.offsets[b] == m);
      CHECK(whole.batch.x.middleRows(row0, m) == alone.batch.x);
      for (Index r = 0; r < m; ++r)
        CHECK(whole.selection.representative[static_cast<std::size_t>(row0 + r)] ==
              node0 + alone.selection.representative[static_cast<std::size_t>(r)]);
      CHECK(whole.selection.weight.segment(node0, n) == alone.selection.weight);
      CHECK(Matrix<double>(whole.batch.adj).block(row0, row0, m, m) == Matrix<double>(alone.batch.adj));
      BatchGrad<double> dg;
      auto dp = params.zeros_like();
      s.backward(params, g, dx.middleRows(row0, m), dadj.segment(edge0, e), dscore.segment(node0, n), dg, dp);
      CHECK(gnnpool::test::max_relative_error(din.x.middleRows(node0, n), dg.x) < 1e-13);
      CHECK(gnnpool::test::max_relative_error(din.adj.segment(in_edge0, g.num_edges()), dg.adj) < 1e-13);
      dparams_sum += dp;
      node0 += n;
      row0 += m;
      edge0 += e;
      in_edge0 += g.num_edges();
    }
    for (Index p = 0; p < params.size(); ++p)
      CHECK(gnnpool::test::max_relative_error(dparams[p], dparams_sum[p]) < 1e-12);
  }
}

TEST_CASE("Relabelling the input nodes permutes the output consistently", "[properties][topk][sag]") {
  const auto in = gnnpool::test::random_cluster_batch<double>({17, 23}, 4.0, 3, 77, true);
  // A random relabelling inside each graph.
  IndexVector perm(static_cast<std::size_t>(in.num_nodes()));
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937_64 rng(5);
  for (Index b = 0; b < in.num_graphs(); ++b)
    std::shuffle(perm.begin() + in.graph_begin(b), perm.begin() + in.graph_begin(b + 1), rng);
  const auto moved = relabel(in, perm);
  for (auto& s : subjects()) {
    INFO(s.name << (s.order == NodeOrder::node_index ? " (node order)" : ""));
    ParameterSet<double> params;
    s.build(params, 3);
    params.initialize(9);
    const auto a = s.forward(params, in);
    const auto b = s.forward(params, moved);
    REQUIRE(a.batch.offsets == b.batch.offsets);
    for (Index i = 0; i < in.num_nodes(); ++i)
      CHECK(b.selection.weight[perm[static_cast<std::size_t>(i)]] == Approx(a.selection.weight[i]).epsilon(1e-13));
    // Output row r of `a` is output row q[r] of `b`: same node, renamed.
    const Index m = a.batch.x.rows();
    IndexVector q(static_cast<std::size_t>(m));
    for (Index r = 0; r < m; ++r) {
      const Index renamed = perm[static_cast<std::size_t>(a.selection.representative[static_cast<std::size_t>(r)])];
      q[static_cast<std::size_t>(r)] = b.selection.assignment[static_cast<std::size_t>(renamed)];
      REQUIRE(q[static_cast<std::size_t>(r)] >= 0);
      if (s.order == NodeOrder::pyg && s.name != "TopK min_score") CHECK(q[static_cast<std::size_t>(r)] == r);  // score order: same rows
      CHECK(gnnpool::test::max_relative_error(b.batch.x.row(q[static_cast<std::size_t>(r)]), a.batch.x.row(r)) < 1e-13);
    }
    REQUIRE(a.batch.adj.nonZeros() == b.batch.adj.nonZeros());
    for (Index r = 0; r < m; ++r)
      for (SparseMatrix<double>::InnerIterator it(a.batch.adj, r); it; ++it)
        CHECK(b.batch.adj.coeff(q[static_cast<std::size_t>(r)], q[static_cast<std::size_t>(it.col())]) ==
              Approx(it.value()).epsilon(1e-13));

    // Backward: the same upstream, renamed, gives the renamed gradients.
    const Matrix<double> dxa = gnnpool::testing::random_features<double>(m, 3, 4);
    const Vector<double> dadja = random_vector(a.batch.adj.nonZeros(), 6);
    const Vector<double> dsa = random_vector(in.num_nodes(), 8);
    Matrix<double> dxb(m, 3);
    Vector<double> dadjb(b.batch.adj.nonZeros()), dsb(in.num_nodes());
    for (Index r = 0; r < m; ++r) dxb.row(q[static_cast<std::size_t>(r)]) = dxa.row(r);
    for (Index i = 0; i < in.num_nodes(); ++i) dsb[perm[static_cast<std::size_t>(i)]] = dsa[i];
    for (Index r = 0; r < m; ++r)
      for (auto p = a.batch.adj.outerIndexPtr()[r]; p < a.batch.adj.outerIndexPtr()[r + 1]; ++p)
        dadjb[entry(b.batch.adj, q[static_cast<std::size_t>(r)], q[static_cast<std::size_t>(a.batch.adj.innerIndexPtr()[p])])] = dadja[p];
    BatchGrad<double> ga, gb;
    auto dpa = params.zeros_like();
    auto dpb = params.zeros_like();
    s.backward(params, in, dxa, dadja, dsa, ga, dpa);
    s.backward(params, moved, dxb, dadjb, dsb, gb, dpb);
    for (Index i = 0; i < in.num_nodes(); ++i) {
      const Index pi = perm[static_cast<std::size_t>(i)];
      CHECK(gnnpool::test::max_relative_error(gb.x.row(pi), ga.x.row(i)) < 1e-12);
      for (auto p = in.adj.outerIndexPtr()[i]; p < in.adj.outerIndexPtr()[i + 1]; ++p)
        CHECK(gb.adj[entry(moved.adj, pi, perm[static_cast<std::size_t>(in.adj.innerIndexPtr()[p])])] ==
              Approx(ga.adj[p]).margin(1e-12));
    }
    for (Index p = 0; p < params.size(); ++p) CHECK(gnnpool::test::max_relative_error(dpb[p], dpa[p]) < 1e-12);
  }
}

TEST_CASE("Ties are resolved by the lower node index, identically on every run", "[properties][topk][sag]") {
  // Identical feature rows: every score is equal, in every graph.
  auto in = gnnpool::test::random_cluster_batch<double>({9, 6}, 3.0, 2, 1, false);
  in.x.setConstant(0.5);
  for (auto& s : subjects()) {
    if (s.name.rfind("SAG", 0) == 0) continue;  // SAG's scores also depend on the degrees
    INFO(s.name);
    ParameterSet<double> params;
    s.build(params, 2);
    params.initialize(3);
    const auto first = s.forward(params, in);
    for (Index b = 0; b < in.num_graphs(); ++b) {
      const auto kept = gnnpool::test::kept_in_graph(first.selection, b);
      IndexVector lowest(kept.size());
      std::iota(lowest.begin(), lowest.end(), in.graph_begin(b));
      CHECK(kept == lowest);  // the lowest indices, in ascending order
    }
    for (int run = 0; run < 3; ++run) CHECK(s.forward(params, in).selection.representative == first.selection.representative);
  }
  // SAG on a regular graph (a cycle: every degree 2) with equal features: all scores tie.
  gnnpool::EdgeList cycle;
  for (Index i = 0; i < 8; ++i) cycle.emplace_back(i, (i + 1) % 8);
  const auto ring = gnnpool::make_graph<double>(Matrix<double>::Constant(8, 2, 0.25), cycle);
  for (const auto scorer : {SAGScorer::graph_conv, SAGScorer::gcn}) {
    SAGOptions o;
    o.scorer = scorer;
    o.topk.k = 3;
    ParameterSet<double> params;
    const auto pool = gnnpool::SAGPool(params, "", 2, o);
    params.initialize(2);
    gnnpool::SAGPool<double>::Output out;
    gnnpool::SAGPool<double>::Cache cache;
    pool.forward(params, ring, out, cache);
    CHECK(out.selection.representative == IndexVector{0, 1, 2});
  }
}

}  // namespace gnnpool_test_properties_topk_sag
