// Benchmarks of the score-based poolers: TopKPool (tanh, ratio 0.5), SAGPool with the GraphConv
// scorer (PyG's default) and with the GCN scorer, forward and forward+backward, on the sizes of
// ../shared/reference/pyg-timings.md:
//   S10k  = one random graph, N = 10^4, E = 10^5 stored entries (5 * 10^4 undirected edges), F = 64
//   S100k = N = 10^5, E = 10^6, F = 64
// TopK also runs in PyG's min_score mode (min_score = 1/N, x scaled to unit variance).
// The loss of the backward pass is <x', G> (G random), as in the PyG timings; the backward is
// warmed before it is timed (bench_support.hpp's time_pool); backward computes
// dL/dX, dL/dA on every stored entry (SAG reads the edge weights) and the parameter gradients.
// Each case reports bytes/s for its minimal memory traffic (see `traffic`) and the bytes its
// outputs and cache hold ("state_bytes", and per node + edge: the O(N + E) memory claim);
// BM_StreamCopy measures the machine's copy bandwidth in the same run: the ratio is the
// "fraction of machine limit" of docs/performance.md.

#include <gnnpool/pool/sag_pool.hpp>
#include <gnnpool/pool/topk_pool.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "bench_support.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <type_traits>

namespace {

using gnnpool::Batch;
using gnnpool::Index;

constexpr Index features = 64;

template <typename Scalar>
const Batch<Scalar>& graph(Index n) {
  return gnnpool::bench::cached_graph<Scalar>(n, features);
}

/// Minimal memory traffic of a score-pooling pass. Forward: x read once, the CSR structure and
/// values read once, x' and the pooled CSR written once. Backward: dx' read, x read again (for
/// X^T dy), dx and dA written.
template <typename Scalar>
std::int64_t traffic(const Batch<Scalar>& g, const Batch<Scalar>& out, bool backward) {
  constexpr auto s = static_cast<std::int64_t>(sizeof(Scalar));
  const auto csr = [](const Batch<Scalar>& b) { return 4 * (b.num_nodes() + 1 + b.num_edges()) + s * b.num_edges(); };
  std::int64_t bytes = csr(g) + csr(out) + s * features * (g.num_nodes() + out.num_nodes());
  if (backward) bytes += s * features * (out.num_nodes() + 2 * g.num_nodes()) + s * g.num_edges();
  return bytes;
}

/// Bytes held by the output and everything the cache keeps for backward (capacity of every
/// dense and sparse buffer reachable from them).
template <typename Scalar, typename Output, typename Cache>
double state_bytes(const Output& out, const Cache& cache) {
  double b = 0;
  const auto dense = [&b](const auto& m) { b += static_cast<double>(m.size()) * sizeof(typename std::decay_t<decltype(m)>::Scalar); };
  const auto sparse = [&b](const gnnpool::SparseMatrix<Scalar>& a) {
    b += static_cast<double>(a.nonZeros()) * (sizeof(Scalar) + 4) + static_cast<double>(a.outerSize() + 1) * 4;
  };
  const auto indices = [&b](const auto& v) { b += static_cast<double>(v.size()) * sizeof(v[0]); };
  dense(out.batch.x);
  sparse(out.batch.adj);
  indices(out.batch.offsets);
  indices(out.selection.assignment);
  indices(out.selection.representative);
  dense(out.selection.weight);
  indices(cache.connect.source);
  if constexpr (requires { cache.select.head; }) dense(cache.select.head.y);
  if constexpr (requires { cache.select.g; }) {
    dense(cache.select.g);
    dense(cache.select.graph_conv.h);
    dense(cache.select.gcn.h);
    dense(cache.select.gcn.values);
    dense(cache.select.gcn.diag);
    dense(cache.select.gcn.added);
    dense(cache.select.gcn.dinv);
    sparse(cache.select.unit_adj);
  }
  return b;
}

template <typename Scalar, bool Backward, typename PoolT>
void run(benchmark::State& state, const PoolT& pool, gnnpool::ParameterSet<Scalar>& params, const Batch<Scalar>& g) {
  params.initialize(3);
  const auto [out, cache] = gnnpool::bench::time_pool(state, pool, params, g, Backward);
  const double state_b = state_bytes<Scalar>(out, cache);
  state.counters["kept"] = static_cast<double>(out.batch.num_nodes());
  state.counters["pooled_edges"] = static_cast<double>(out.batch.num_edges());
  state.counters["state_bytes"] = state_b;
  state.counters["state_bytes_per_N+E"] = state_b / static_cast<double>(g.num_nodes() + g.num_edges());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * traffic(g, out.batch, Backward));
}

template <typename Scalar, bool Backward>
void BM_TopKPool(benchmark::State& state) {
  gnnpool::ParameterSet<Scalar> params;
  const auto pool = gnnpool::TopKPool(params, "pool", features, gnnpool::TopKOptions{});
  run<Scalar, Backward>(state, pool, params, graph<Scalar>(state.range(0)));
}

/// The same graph with x scaled to unit variance (uniform on [-sqrt 3, sqrt 3]), so that PyG's
/// min_score = 1/N keeps about as many nodes as in pyg-timings.md's harness.
template <typename Scalar>
const Batch<Scalar>& unit_variance_graph(Index n) {
  static std::map<Index, Batch<Scalar>> cache;
  auto [it, inserted] = cache.try_emplace(n);
  if (inserted) {
    it->second = graph<Scalar>(n);
    it->second.x *= static_cast<Scalar>(std::sqrt(3.0));
  }
  return it->second;
}

/// TopK in PyG's min_score mode (per-graph softmax of the score, nodes above min(1/N, max - 1e-7)).
template <typename Scalar, bool Backward>
void BM_TopKPoolMinScore(benchmark::State& state) {
  gnnpool::ParameterSet<Scalar> params;
  gnnpool::TopKOptions o;
  o.min_score = 1.0 / static_cast<double>(state.range(0));
  const auto pool = gnnpool::TopKPool(params, "pool", features, o);
  run<Scalar, Backward>(state, pool, params, unit_variance_graph<Scalar>(state.range(0)));
}

template <typename Scalar, bool Backward, gnnpool::SAGScorer Scorer>
void BM_SAGPool(benchmark::State& state) {
  gnnpool::ParameterSet<Scalar> params;
  gnnpool::SAGOptions o;
  o.scorer = Scorer;
  const auto pool = gnnpool::SAGPool(params, "pool", features, o);
  run<Scalar, Backward>(state, pool, params, graph<Scalar>(state.range(0)));
}

using gnnpool::SAGScorer;

}  // namespace

BENCHMARK(gnnpool::bench::stream_copy)->Name("BM_StreamCopy")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TopKPool<float, false>)->Name("BM_TopKPool_fwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TopKPool<float, true>)->Name("BM_TopKPool_fwdbwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TopKPoolMinScore<float, false>)->Name("BM_TopKPoolMinScore_fwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TopKPoolMinScore<float, true>)->Name("BM_TopKPoolMinScore_fwdbwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SAGPool<float, false, SAGScorer::graph_conv>)->Name("BM_SAGPool_GraphConv_fwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SAGPool<float, true, SAGScorer::graph_conv>)->Name("BM_SAGPool_GraphConv_fwdbwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SAGPool<float, false, SAGScorer::gcn>)->Name("BM_SAGPool_GCN_fwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SAGPool<float, true, SAGScorer::gcn>)->Name("BM_SAGPool_GCN_fwdbwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TopKPool<double, false>)->Name("BM_TopKPool_fwd<double>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TopKPool<double, true>)->Name("BM_TopKPool_fwdbwd<double>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SAGPool<double, true, SAGScorer::graph_conv>)->Name("BM_SAGPool_GraphConv_fwdbwd<double>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SAGPool<double, true, SAGScorer::gcn>)->Name("BM_SAGPool_GCN_fwdbwd<double>")->Arg(100000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
