// Benchmarks of the one-over-K poolers: Graclus (cluster only, and + max pooling), k-MIS
// (k = 1, linear scorer, PyG #6488 defaults) and precomputed pyramids, forward and
// forward+backward, on the sizes of ../shared/reference/pyg-timings.md:
//   S10k  = one random graph, N = 10^4, E = 10^5 stored entries, F = 64
//   S100k = N = 10^5, E = 10^6, F = 64
//   S1M   = N = 10^6, E = 10^7 (Graclus cluster only)
// Each case reports bytes/s for its minimal memory traffic (see `traffic`), and BM_StreamCopy
// measures the machine's copy bandwidth in the same run: the ratio of the two is the
// "fraction of machine limit" of docs/performance.md.

#include <gnnpool/pool/graclus_pool.hpp>
#include <gnnpool/pool/kmis_pool.hpp>
#include <gnnpool/pool/pyramid.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "bench_support.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>

namespace {

using gnnpool::Batch;
using gnnpool::Index;
using gnnpool::bench::cached_graph;

constexpr Index features = 64;

/// The S1M graph is for clustering only: one feature column.
template <typename Scalar>
const Batch<Scalar>& graph(Index n) {
  return cached_graph<Scalar>(n, n >= 1000000 ? 1 : features);
}

/// Minimal memory traffic of a pooler pass: the CSR structure (4 bytes per row pointer and per
/// column index) once, x read once, x' written once; backward reads dx' and x, writes dx.
template <typename Scalar>
std::int64_t traffic(const Batch<Scalar>& g, Index pooled_rows, Index f, bool backward) {
  const std::int64_t graph_bytes = 4 * (g.num_nodes() + 1 + g.num_edges());
  std::int64_t rows = g.num_nodes() + pooled_rows;
  if (backward) rows += 2 * g.num_nodes() + pooled_rows;
  return graph_bytes + static_cast<std::int64_t>(sizeof(Scalar)) * f * rows;
}

template <typename Scalar>
void BM_GraclusClusterOnly(benchmark::State& state) {
  const auto& g = graph<Scalar>(state.range(0));
  const gnnpool::GraclusSelect<Scalar> select;
  gnnpool::HardSelection<Scalar> sel;
  typename gnnpool::GraclusSelect<Scalar>::Cache cache;
  for (auto _ : state) {
    select.forward({}, g, sel, cache);
    benchmark::DoNotOptimize(sel.assignment.data());
  }
  state.counters["clusters"] = static_cast<double>(sel.num_supernodes());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * (4 * (g.num_nodes() + 1 + g.num_edges()) + 8 * g.num_nodes()));
}

/// Forward (and backward to x and the parameters, for an upstream gradient of the pooled x).
template <bool Backward, typename PoolT>
void run_pool(benchmark::State& state, const PoolT& pool, const gnnpool::ParameterSet<typename PoolT::Scalar>& params,
              const Batch<typename PoolT::Scalar>& g) {
  const auto run = gnnpool::bench::time_pool(state, pool, params, g, Backward);
  state.counters["clusters"] = static_cast<double>(run.out.batch.num_nodes());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * traffic(g, run.out.batch.num_nodes(), features, Backward));
}

template <typename Scalar, bool Backward>
void BM_GraclusMaxPool(benchmark::State& state) {
  gnnpool::ParameterSet<Scalar> params;
  const auto& g = graph<Scalar>(state.range(0));
  run_pool<Backward>(state, gnnpool::GraclusPool<Scalar>(params, "", g.num_features()), params, g);
}

template <typename Scalar, bool Backward>
void BM_KMISPool(benchmark::State& state) {
  gnnpool::ParameterSet<Scalar> params;
  const gnnpool::KMISPool<Scalar> pool(params, "kmis", features);  // k = 1, linear, greedy, x[mis], before
  params.initialize(3);
  run_pool<Backward>(state, pool, params, graph<Scalar>(state.range(0)));
}

/// Max pooling with a precomputed one-level Graclus pyramid: what an epoch costs once the
/// selection and the coarse adjacency are stored.
template <typename Scalar, bool Backward>
void BM_PyramidMaxPool(benchmark::State& state) {
  const auto& g = graph<Scalar>(state.range(0));
  const auto pyramid = gnnpool::build_pyramid(g, 1, gnnpool::make_coarsener(gnnpool::GraclusSelect<Scalar>()));
  const gnnpool::PyramidPool<Scalar> pool;
  Batch<Scalar> out;
  typename gnnpool::PyramidPool<Scalar>::Cache cache;
  gnnpool::Matrix<Scalar> dx;
  const gnnpool::Matrix<Scalar> dy = gnnpool::testing::random_features<Scalar>(pyramid.level_size(1), features, 7);
  pool.forward(pyramid, 0, g, out, cache);
  if constexpr (Backward) pool.backward(pyramid, 0, g, cache, dy, dx);  // untimed: steady state
  for (auto _ : state) {
    pool.forward(pyramid, 0, g, out, cache);
    if constexpr (Backward) pool.backward(pyramid, 0, g, cache, dy, dx);
    benchmark::DoNotOptimize(out.x.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * traffic(g, pyramid.level_size(1), features, Backward));
}

/// The machine limit: memcpy bandwidth in the same run.
void BM_StreamCopy(benchmark::State& state) { gnnpool::bench::stream_copy(state); }

}  // namespace

BENCHMARK(BM_StreamCopy)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GraclusClusterOnly<float>)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GraclusMaxPool<float, false>)->Name("BM_GraclusMaxPool_fwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GraclusMaxPool<float, true>)->Name("BM_GraclusMaxPool_fwdbwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GraclusMaxPool<double, false>)->Name("BM_GraclusMaxPool_fwd<double>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GraclusMaxPool<double, true>)->Name("BM_GraclusMaxPool_fwdbwd<double>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KMISPool<float, false>)->Name("BM_KMISPool_fwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KMISPool<float, true>)->Name("BM_KMISPool_fwdbwd<float>")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KMISPool<double, false>)->Name("BM_KMISPool_fwd<double>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KMISPool<double, true>)->Name("BM_KMISPool_fwdbwd<double>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PyramidMaxPool<float, false>)->Name("BM_PyramidMaxPool_fwd<float>")->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PyramidMaxPool<float, true>)->Name("BM_PyramidMaxPool_fwdbwd<float>")->Arg(100000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
