// gnnpool/core/parallel.hpp: the fixed partitions, and the promise of docs/parallel.md that
// results are bit-identical for any number of threads. Every pooler and readout (the layer zoo
// of tests/support/layer_zoo.hpp plus the poolers it does not hold) runs forward and backward
// at 1, 2 and 3 threads, in float, on a batch of many graphs and on one graph large
// enough to be cut into several row chunks; outputs, losses (every loss of loss/ is part of one
// of these poolers) and every gradient are compared byte for byte. Without OpenMP the test still
// runs (then every run is serial and it checks that the chunked code is deterministic).

#include "support/layer_zoo.hpp"

#include <gnnpool/core/parallel.hpp>
#include <gnnpool/detail/propagate.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/select/topk.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace gnnpool_test_core_parallel {

using namespace gnnpool;

namespace {

/// Restores the thread count the test found.
struct ThreadsGuard {
  int saved = num_threads();
  ~ThreadsGuard() { set_num_threads(saved); }
};

template <typename Scalar>
std::vector<std::unique_ptr<test::ZooEntry<Scalar>>> every_layer(ParameterSet<Scalar>& params, Index f) {
  using test::zoo_detail::PoolEntry;
  auto layers = test::make_zoo<Scalar>(params, f, test::ZooHyper{.clusters = 4});
  const auto add = [&](auto entry) { test::zoo_detail::add<Scalar>(layers, std::move(entry)); };
  add(PoolEntry("SAGPool(gcn)", SAGPool<Scalar>(params, "sag_gcn", f, {.scorer = SAGScorer::gcn})));
  add(PoolEntry("TopKPool(min_score)", TopKPool<Scalar>(params, "topk_ms", f, {.min_score = 0.01})));
  test::add_hard_family<Scalar>(layers, params, f);
  return layers;
}

/// Byte equality of two runs (NaN == NaN here: the bytes are what must not change).
bool same_bytes(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

template <typename Scalar>
void check_thread_counts() {
  constexpr Index f = 36;
  std::vector<Index> sizes;
  for (Index b = 0; b < 28; ++b) sizes.push_back(20 + (b * 37) % 61);  // 28 graphs, 20..80 nodes
  const Batch<Scalar> many = testing::random_batch<Scalar>(sizes, 6.0, f, 11);
  const Batch<Scalar> large = testing::random_graph<Scalar>(1500, 4500, f, 12);  // 2 row chunks
  REQUIRE(many.num_nodes() > detail::row_grain);

  ParameterSet<Scalar> params;
  const auto layers = every_layer<Scalar>(params, f);
  params.initialize(5);
  ThreadsGuard guard;
  for (const auto& layer : layers) {
    // The dense per-graph methods (NDP's Kron reduction, EigenPool's eigenvectors, NMF's and
    // BN-Pool's n x n products) are quadratic or cubic in a graph's size: the batch of small
    // graphs is enough for them (EigenPool took 40 s on a 2 200-node graph).
    const std::string& name = layer->name();
    const bool small_only = name.starts_with("NDP") || name == "EigenPool" || name == "NMFPool" || name == "BNPool";
    for (const Batch<Scalar>* batch : {&many, &large}) {
      if (small_only && batch == &large) continue;
      INFO(layer->name() << " on " << batch->num_graphs() << " graphs, " << batch->num_nodes() << " nodes");
      set_num_threads(1);
      const std::vector<double> serial = layer->run(params, *batch, 3);
      REQUIRE(!serial.empty());
      for (const int threads : {2, 3}) {
        set_num_threads(threads);
        INFO(threads << " threads");
        CHECK(same_bytes(layer->run(params, *batch, 3), serial));
      }
    }
  }
}

/// Runs every layer forward and backward at 1, 2 and 3 threads and compares the bytes.
void check_layers(const std::vector<std::unique_ptr<test::ZooEntry<float>>>& layers, const ParameterSet<float>& params,
                  const Batch<float>& batch) {
  ThreadsGuard guard;
  for (const auto& layer : layers) {
    INFO(layer->name());
    set_num_threads(1);
    const std::vector<double> serial = layer->run(params, batch, 3);
    REQUIRE(!serial.empty());
    for (const int threads : {2, 3}) {
      set_num_threads(threads);
      INFO(threads << " threads");
      CHECK(same_bytes(layer->run(params, batch, 3), serial));
    }
  }
}

}  // namespace

// float only: the partitions and the code paths are the same in double, and each scalar type
// doubles the compile time of this file (the whole layer zoo is instantiated).
TEST_CASE("parallel: every pooler and readout gives the same bytes at 1, 2 and 3 threads", "[core][parallel]") {
  check_thread_counts<float>();
}

TEST_CASE("parallel: the large-graph paths give the same bytes at 1, 2 and 3 threads", "[core][parallel]") {
  // Large enough for the paths that a 1 500-node graph leaves serial: the pooled CSR build of
  // InducedConnect (chunks of 8 192 nodes), the one-feature scatter of the scorers' backward and
  // of GCN's normalisation gradient (2 partials from 131 072 stored entries), the scatter of
  // GatherReduce's backward and check_batch's row chunks. Two poolers cover them all (SAG's GCN
  // scorer has both scatters); the graph is just past the thresholds, since the CI runs this at
  // -O0 under the sanitizers.
  constexpr Index f = 4;
  const Batch<float> big = testing::random_graph<float>(9000, 66000, f, 21, {.weighted = true});
  REQUIRE(detail::chunk_count(big.num_nodes(), 8 * detail::row_grain) >= 2);
  REQUIRE(big.adj.nonZeros() >= 2 * (Index(1) << 16));
  REQUIRE(detail::scatter_chunks(big.adj.nonZeros()) >= 2);
  using test::zoo_detail::PoolEntry;
  ParameterSet<float> params;
  std::vector<std::unique_ptr<test::ZooEntry<float>>> layers;
  const auto add = [&](auto entry) { test::zoo_detail::add<float>(layers, std::move(entry)); };
  add(PoolEntry("SAGPool(gcn)", SAGPool<float>(params, "sag_gcn", f, {.scorer = SAGScorer::gcn})));
  add(PoolEntry("TopKPool", TopKPool<float>(params, "topk", f)));
  // ClusterConnect merges its pooled rows in one part per thread from 2^16 stored entries on,
  // ClusterReduce runs chunks of 1 024 clusters: Graclus (max) and k-MIS (representative, serial
  // backward) cover both.
  add(PoolEntry("GraclusPool", GraclusPool<float>(params, "graclus", f)));
  add(PoolEntry("KMISPool", KMISPool<float>(params, "kmis", f)));
  params.initialize(6);
  check_layers(layers, params, big);
}

TEST_CASE("parallel: EigenPool's clusters of one graph give the same bytes at 1, 2 and 3 threads", "[core][parallel]") {
  // A batch of many graphs runs EigenSelect over its graphs (the zoo test above); one graph runs
  // the eigenvectors of its clusters in parallel instead (four clusters of a 400-node graph, each
  // on the dense or the sparse eigensolver by its size).
  constexpr Index f = 3;
  const Batch<float> one = testing::random_graph<float>(400, 1600, f, 31, {.weighted = true});
  ParameterSet<float> params;
  std::vector<std::unique_ptr<test::ZooEntry<float>>> layers;
  test::zoo_detail::add<float>(layers, test::zoo_detail::PoolEntry("EigenPool", EigenPool<float>(params, "eigen", f, {.select = {.k = 4}})));
  params.initialize(7);
  check_layers(layers, params, one);
}

TEST_CASE("parallel: the readouts over many graphs give the same bytes at 1, 2 and 3 threads", "[core][parallel]") {
  // 600 graphs: Set2Set's LSTM runs on 600 rows, three chunks of its row-parallel products and
  // weight-gradient sums (256 rows each), which the zoo's 28-graph batch leaves as one; the max
  // and sort readouts get several runs of graphs and ties (small integer features).
  constexpr Index f = 4;
  std::vector<Index> sizes;
  for (Index b = 0; b < 600; ++b) sizes.push_back(1 + b % 4);
  Batch<float> many = testing::random_batch<float>(sizes, 1.0, f, 31);
  many.x = many.x.array().round().matrix();  // ties for MaxReadout's tie sets
  using test::zoo_detail::ReadoutEntry;
  ParameterSet<float> params;
  std::vector<std::unique_ptr<test::ZooEntry<float>>> layers;
  const auto add = [&](auto entry) { test::zoo_detail::add<float>(layers, std::move(entry)); };
  add(ReadoutEntry("Set2SetReadout", Set2SetReadout<float>(params, "s2s", f, 2)));
  add(ReadoutEntry("SortReadout", SortReadout<float>(3)));
  add(ReadoutEntry("MaxReadout", MaxReadout<float>()));
  params.initialize(7);
  check_layers(layers, params, many);
}

TEST_CASE("parallel: scatter_columns adds every entry into its column", "[core][parallel]") {
  ThreadsGuard guard;
  const Batch<double> g = testing::random_graph<double>(3000, 80000, 1, 5, {.weighted = true});
  REQUIRE(detail::scatter_chunks(g.adj.nonZeros()) >= 2);
  const Vector<double> x = testing::random_features<double>(3000, 1, 6).col(0);
  const Vector<double> reference = SparseMatrix<double>(g.adj.transpose()) * x;
  for (const int threads : {1, 2}) {
    set_num_threads(threads);
    Vector<double> out = Vector<double>::Zero(3000);
    detail::scatter_columns(g.adj, [&](Index i, StorageIndex e) { return g.adj.valuePtr()[e] * x[i]; }, out.data());
    CHECK((out - reference).cwiseAbs().maxCoeff() < 1e-12);
  }
}

TEST_CASE("parallel: the checks inside parallel loops name the first bad item for any thread count",
          "[core][parallel][errors]") {
  ThreadsGuard guard;
  Batch<float> g = testing::random_graph<float>(12000, 30000, 4, 9);
  // Two bad weights in different row chunks: the message names the first.
  const Index late = g.adj.outerIndexPtr()[11000], early = g.adj.outerIndexPtr()[300];
  const Index early_row = 300;
  for (const Index i : {Index(300), Index(500), Index(7000), Index(11000)})
    REQUIRE(g.adj.outerIndexPtr()[i + 1] > g.adj.outerIndexPtr()[i]);  // rows with entries
  for (const int threads : {1, 2, 3}) {
    set_num_threads(threads);
    INFO(threads << " threads");
    Batch<float> bad = g;
    bad.adj.valuePtr()[late] = std::numeric_limits<float>::infinity();
    bad.adj.valuePtr()[early] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(check_batch(bad, "Test"),
                      Catch::Contains("edge (" + std::to_string(early_row) + ", ") && Catch::Contains("non-finite"));
    // GCN's normalisation: two nodes with a negative degree, the first one named.
    Batch<float> negative = g;
    for (const Index i : {Index(7000), Index(500)})
      for (StorageIndex e = negative.adj.outerIndexPtr()[i]; e < negative.adj.outerIndexPtr()[i + 1]; ++e)
        negative.adj.valuePtr()[e] = -5.0f;
    ParameterSet<float> params;
    GCNConv<float> conv(params, "conv", 4, 2);
    params.initialize(1);
    Matrix<float> out;
    typename GCNConv<float>::Cache cache;
    CHECK_THROWS_WITH(conv.forward(params, BatchRef<float>(negative), out, cache),
                      Catch::Contains("node 500 has weighted in-degree"));
  }
}

TEST_CASE("parallel: the partitions are fixed and cover every item once", "[core][parallel]") {
  ThreadsGuard guard;
  for (const int threads : {1, 3}) {
    set_num_threads(threads);
    // Rows: chunks of row_grain, the last one shorter.
    const Index n = 3 * detail::row_grain + 5;
    std::vector<int> seen(static_cast<std::size_t>(n), 0);
    detail::parallel_rows(n, [&](Index lo, Index hi) {
      for (Index i = lo; i < hi; ++i) ++seen[static_cast<std::size_t>(i)];
    });
    for (const int s : seen) CHECK(s == 1);
    // Graphs: a run closes once it holds graph_grain (256) nodes; a graph is never split.
    IndexVector offsets{0};
    for (int b = 0; b < 50; ++b) offsets.push_back(offsets.back() + 100);  // 50 graphs of 100 nodes
    std::vector<std::atomic<int>> graph_seen(50);
    std::atomic<int> runs = 0;
    detail::parallel_graphs(offsets, [&](Index b_lo, Index b_hi) {
      ++runs;
      CHECK((b_hi - b_lo == 3 || b_hi == 50));  // 3 graphs = 300 nodes >= 256
      for (Index b = b_lo; b < b_hi; ++b) ++graph_seen[static_cast<std::size_t>(b)];
    });
    CHECK(runs == 17);  // 16 runs of 3 graphs, then the last 2
    for (const auto& s : graph_seen) CHECK(s == 1);
    // Parts: `parts` runs of whole segments, together covering every segment once.
    std::vector<int> sizes_seen(50, 0);
    for (const Index parts : {1, 2, 3, 7}) {
      std::vector<int> part_seen(static_cast<std::size_t>(parts), 0);
      std::fill(sizes_seen.begin(), sizes_seen.end(), 0);
      detail::parallel_parts(offsets.data(), 50, parts, [&](Index part, Index b_lo, Index b_hi) {
        ++part_seen[static_cast<std::size_t>(part)];
        for (Index b = b_lo; b < b_hi; ++b) ++sizes_seen[static_cast<std::size_t>(b)];
      });
      for (const int s : part_seen) CHECK(s == 1);
      for (const int s : sizes_seen) CHECK(s == 1);
    }
  }
}

TEST_CASE("parallel: parallel_sort gives std::sort's order; TopK's ranking of one large graph is the same at 1, 2 "
          "and 3 threads", "[core][parallel]") {
  ThreadsGuard guard;
  // Unique keys, so the sorted order is unique: 8 chunks (the last one shorter), and 3 chunks
  // (a merge round with an odd chunk that is copied, not merged).
  for (const auto& [n, grain] : {std::pair<Index, Index>{30001, 1000}, std::pair<Index, Index>{20000, 7000}}) {
    std::vector<std::uint64_t> keys(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = (i * 2654435761u) % 1000003u;  // distinct
    std::vector<std::uint64_t> expected = keys;
    std::sort(expected.begin(), expected.end());
    for (const int threads : {1, 2, 3}) {
      set_num_threads(threads);
      std::vector<std::uint64_t> sorted = keys;
      detail::parallel_sort(sorted.data(), n, std::less<>{}, grain);
      CHECK(sorted == expected);
    }
  }
  // TopK's ranking: one graph of 20 000 nodes whose scores take 50 values (many ties, broken by
  // the lower node index), 14 000 kept: the sort of the kept keys runs as parallel chunks.
  const Index n = 20000;
  Vector<float> score(n);
  for (Index i = 0; i < n; ++i) score[i] = static_cast<float>((i * 37) % 50) / 50.0f - 0.5f;
  const IndexVector offsets{0, n};
  std::vector<Index> by_rank(static_cast<std::size_t>(n));
  std::iota(by_rank.begin(), by_rank.end(), Index(0));
  std::stable_sort(by_rank.begin(), by_rank.end(), [&](Index a, Index b) { return score[a] > score[b]; });
  by_rank.resize(14000);
  std::vector<Index> by_node = by_rank;
  std::sort(by_node.begin(), by_node.end());
  for (const NodeOrder order : {NodeOrder::pyg, NodeOrder::node_index}) {
    for (const int threads : {1, 2, 3}) {
      set_num_threads(threads);
      INFO(threads << " threads");
      HardSelection<float> sel;
      detail::rank_and_select(score, offsets, TopKOptions{.ratio = 0.7, .order = order}, sel);
      CHECK(sel.representative == (order == NodeOrder::pyg ? by_rank : by_node));
      CHECK(sel.offsets == IndexVector{0, 14000});
      Index kept = 0;
      for (Index i = 0; i < n; ++i) {
        const Index a = sel.assignment[static_cast<std::size_t>(i)];
        if (a == HardSelection<float>::dropped) continue;
        ++kept;
        CHECK(sel.representative[static_cast<std::size_t>(a)] == i);
      }
      CHECK(kept == 14000);
    }
  }
}

TEST_CASE("parallel: copy_sparse copies every index and value, in chunks, into a reused matrix", "[core][parallel]") {
  ThreadsGuard guard;
  const Batch<float> big = testing::random_graph<float>(30000, 200000, 1, 31, {.weighted = true});
  REQUIRE(big.adj.nonZeros() > 2 * (Index(1) << 16));  // several chunks
  SparseMatrix<float> dst = testing::random_graph<float>(40000, 300000, 1, 32).adj;  // larger: storage reused
  for (const int threads : {1, 3}) {
    set_num_threads(threads);
    detail::copy_sparse(big.adj, dst);
    REQUIRE(dst.rows() == big.adj.rows());
    REQUIRE(dst.nonZeros() == big.adj.nonZeros());
    CHECK(std::equal(big.adj.outerIndexPtr(), big.adj.outerIndexPtr() + big.adj.rows() + 1, dst.outerIndexPtr()));
    CHECK(std::equal(big.adj.innerIndexPtr(), big.adj.innerIndexPtr() + big.adj.nonZeros(), dst.innerIndexPtr()));
    CHECK(std::memcmp(big.adj.valuePtr(), dst.valuePtr(), sizeof(float) * static_cast<std::size_t>(big.adj.nonZeros())) == 0);
  }
  SparseMatrix<float> loose = big.adj;
  loose.uncompress();  // an uncompressed source is copied as Eigen copies it
  detail::copy_sparse(loose, dst);
  CHECK(dst.isApprox(big.adj));
}

TEST_CASE("parallel: set_num_threads rejects a count below one", "[core][parallel][errors]") {
  ThreadsGuard guard;
  CHECK_THROWS_WITH(set_num_threads(0), Catch::Contains("set_num_threads") && Catch::Contains("got 0"));
  CHECK_THROWS_AS(set_num_threads(-3), gnnpool::invalid_argument);
  set_num_threads(2);
  CHECK(num_threads() == (openmp_enabled ? 2 : 1));
}

TEST_CASE("parallel: an exception inside a parallel loop reaches the caller", "[core][parallel]") {
  ThreadsGuard guard;
  set_num_threads(3);
  CHECK_THROWS_WITH(detail::parallel_for(8,
                                         [](Index c) {
                                           if (c == 5) throw std::runtime_error("chunk 5 failed");
                                         }),
                    "chunk 5 failed");
}

TEST_CASE("parallel: chunked products equal Eigen's within rounding, and exactly with one chunk", "[core][parallel]") {
  ThreadsGuard guard;
  set_num_threads(2);
  const Matrix<double> a = testing::random_features<double>(5000, 7, 1);
  const Matrix<double> b = testing::random_features<double>(5000, 3, 2);
  Matrix<double> atb;
  detail::assign_product_transpose(atb, a, b);
  const Matrix<double> reference = a.transpose() * b;
  CHECK((atb - reference).cwiseAbs().maxCoeff() < 1e-11);
  Matrix<double> small_atb;
  detail::assign_product_transpose(small_atb, a.topRows(100), b.topRows(100));
  const Matrix<double> small_reference = a.topRows(100).transpose() * b.topRows(100);
  CHECK(small_atb == small_reference);
  Matrix<double> ab;
  const Matrix<double> w = testing::random_features<double>(7, 4, 3);
  detail::assign_product(ab, a, w);
  CHECK((ab - a * w).cwiseAbs().maxCoeff() < 1e-12);
  detail::product_rows(a, w, ab, /*add=*/true);
  CHECK((ab - 2.0 * (a * w)).cwiseAbs().maxCoeff() < 1e-12);
}

}  // namespace gnnpool_test_core_parallel
